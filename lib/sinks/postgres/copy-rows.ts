const BACKSLASH = 0x5c;
const TAB = 0x09;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const NUL = 0x00;

/** The COPY text escape of a special byte (NUL is dropped, as the JDBC sink's PostgreSQL dialect does). */
const ESCAPES: Record<number, string> = {
  [BACKSLASH]: '\\\\',
  [TAB]: '\\t',
  [NEWLINE]: '\\n',
  [RETURN]: '\\r',
  [NUL]: '',
};

/** Copies bytes into `target`'s buffer: short runs (cells) by hand, long ones natively. */
const copyBytes = (source: Buffer, start: number, end: number, target: CopyRows): void => {
  target.reserve(end - start);
  const buffer = target.bufferForWriting();
  let size = target.position;
  if (end - start > 64) {
    source.copy(buffer, size, start, end);
    size += end - start;
  } else {
    for (let index = start; index < end; index += 1) buffer[size++] = source[index] as number;
  }
  target.advanceTo(size);
};

/**
 * The rows of one COPY ... FROM STDIN (text format), written straight into one growing buffer: no
 * string per row or per cell. Rows are numbered in the order they are begun; a row can be
 * replaced (the last record per key wins in upserts) and the data is then emitted without it.
 */
export class CopyRows {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  /** Bytes written so far. */
  private size = 0;
  private starts: number[] = [];
  private ends: number[] = [];
  private rowStart = -1;
  private replacing = -1;

  /** How many rows there are. */
  get length(): number {
    return this.starts.length;
  }

  /** Starts a new row (or, with `replace`, the new content of an existing one). */
  begin(replace = -1): void {
    this.rowStart = this.size;
    this.replacing = replace;
  }

  /** Ends the row begun last; returns its number. */
  end(): number {
    this.reserve(1);
    this.buffer[this.size] = NEWLINE;
    let index = this.replacing;
    if (index >= 0) {
      this.starts[index] = this.rowStart;
      this.ends[index] = this.size;
    } else {
      index = this.starts.length;
      this.starts.push(this.rowStart);
      this.ends.push(this.size);
    }
    // The newline stays in the buffer after the row's end, so consecutive rows are one slice.
    this.size += 1;
    this.rowStart = -1;
    return index;
  }

  /** Forgets what the row begun last has written (its record failed half way). */
  abort(): void {
    if (this.rowStart >= 0) this.size = this.rowStart;
    this.rowStart = -1;
  }

  /** Room for `bytes` more bytes. */
  reserve(bytes: number): void {
    const needed = this.size + bytes;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buffer.copy(grown, 0, 0, this.size);
    this.buffer = grown;
  }

  /** One byte (a tab, a digit...). */
  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.size++] = value;
  }

  /** Text known to be ASCII and free of COPY specials (numbers, dates, \N). */
  ascii(text: string): void {
    const length = text.length;
    this.reserve(length);
    const buffer = this.buffer;
    let size = this.size;
    // Cells are short: a loop beats the native write's call overhead.
    for (let index = 0; index < length; index += 1) buffer[size++] = text.charCodeAt(index);
    this.size = size;
  }

  /** Text already escaped for COPY (a cell from toCopyCell), as UTF-8. */
  escaped(text: string): void {
    this.reserve(text.length * 3);
    this.size += this.buffer.write(text, this.size, 'utf8');
  }

  /** Bytes `start`..`end` as text (a cell written here, to compare keys). */
  textAt(start: number, end: number): string {
    return this.buffer.toString('utf8', start, end);
  }

  /** Any text as one cell: UTF-8, COPY specials escaped, NUL dropped. */
  text(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; escaping at most doubles that.
    this.reserve(text.length * 6);
    const start = this.size;
    this.size += this.buffer.write(text, start, 'utf8');
    this.escapeFrom(start);
  }

  /** A non-negative or negative safe integer, in decimal. */
  integer(value: number): void {
    if (value < 0) {
      this.byte(0x2d);
      value = -value;
    }
    if (value < 10) {
      this.byte(0x30 + value);
      return;
    }
    if (value > 0xffffffff) {
      this.ascii(String(value));
      return;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
    this.reserve(digits);
    let position = this.size + digits - 1;
    for (let rest = value; position >= this.size; rest = Math.floor(rest / 10))
      this.buffer[position--] = 0x30 + (rest % 10);
    this.size += digits;
  }

  /**
   * Bytes of a UTF-8 string (as an Avro string's body) as one cell. ASCII is copied as is, with
   * specials escaped; anything else is decoded first, so malformed sequences become U+FFFD exactly
   * as when the string is decoded to text.
   */
  utf8Bytes(source: Buffer, start: number, end: number): void {
    // One pass copies and looks for what needs the slow paths: non-ASCII, or a COPY special.
    this.reserve(end - start);
    const buffer = this.buffer;
    const from = this.size;
    let size = from;
    let special = false;
    for (let index = start; index < end; index += 1) {
      const byte = source[index] as number;
      if (byte >= 0x80) {
        this.text(source.toString('utf8', start, end));
        return;
      }
      if (byte === BACKSLASH || byte === TAB || byte === NEWLINE || byte === RETURN || byte === NUL)
        special = true;
      buffer[size++] = byte;
    }
    this.size = size;
    if (special) this.escapeFrom(from);
  }

  /** Escapes COPY specials among the bytes written since `from` (rare: scanned, then rewritten). */
  private escapeFrom(from: number): void {
    const buffer = this.buffer;
    let special = -1;
    for (let index = from; index < this.size; index += 1) {
      const byte = buffer[index] as number;
      if (byte === BACKSLASH || byte === TAB || byte === NEWLINE || byte === RETURN || byte === NUL) {
        special = index;
        break;
      }
    }
    if (special < 0) return;
    const tail = Buffer.from(buffer.subarray(special, this.size));
    this.size = special;
    for (const byte of tail) {
      const escaped = ESCAPES[byte];
      if (escaped === undefined) {
        this.byte(byte);
      } else {
        this.ascii(escaped);
      }
    }
  }

  /** Bytes written so far (where the next cell starts). */
  get position(): number {
    return this.size;
  }

  /** The buffer to write `reserve`d bytes into at `position` (then `advanceTo`). */
  bufferForWriting(): Buffer {
    return this.buffer;
  }

  /** Marks bytes up to `size` as written. */
  advanceTo(size: number): void {
    this.size = size;
  }

  /** Empties the buffer (scratch use: cells are written, then copied into rows). */
  clear(): void {
    this.size = 0;
    this.starts.length = 0;
    this.ends.length = 0;
    this.rowStart = -1;
  }

  /** Appends bytes `start`..`end` of another buffer's content (a cell written there). */
  appendFrom(other: CopyRows, start: number, end: number): void {
    copyBytes(other.buffer, start, end, this);
  }

  /** Bytes already in COPY text form (a cell prepared once for many rows). */
  prepared(cell: Buffer): void {
    copyBytes(cell, 0, cell.length, this);
  }

  /**
   * Bytes of the rows completed so far (a row begun and not ended is not counted). Rows that are
   * never replaced are laid out one after the other, so `range(0, completedSize)` is all of them.
   */
  get completedSize(): number {
    return this.rowStart >= 0 ? this.rowStart : this.size;
  }

  /** The written bytes `from`..`to` (rows already completed stay where they are as more are added). */
  range(from: number, to: number): Buffer {
    return this.buffer.subarray(from, to);
  }

  /** One row's line, without its newline (to write a row on its own, or to look at it). */
  lineAt(index: number): Buffer {
    return this.buffer.subarray(this.starts[index], this.ends[index]);
  }

  /** The COPY data: every row followed by a newline, as few slices as the rows' layout allows. */
  data(): Buffer[] {
    const parts: Buffer[] = [];
    let sliceStart = -1;
    let sliceEnd = -1;
    for (let index = 0; index < this.starts.length; index += 1) {
      const start = this.starts[index] as number;
      const end = (this.ends[index] as number) + 1;
      if (start === sliceEnd) {
        sliceEnd = end;
        continue;
      }
      if (sliceStart >= 0) parts.push(this.buffer.subarray(sliceStart, sliceEnd));
      sliceStart = start;
      sliceEnd = end;
    }
    if (sliceStart >= 0) parts.push(this.buffer.subarray(sliceStart, sliceEnd));
    return parts;
  }
}
