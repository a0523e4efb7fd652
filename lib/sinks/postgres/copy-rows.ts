import { SchemaError } from '../../errors';

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

/** What starts binary COPY data: the signature, no flags, no header extension. */
const BINARY_HEADER = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
/** What ends binary COPY data: a field count of −1. */
const BINARY_TRAILER = Buffer.from([0xff, 0xff]);
const NEWLINE_DATA = Buffer.from('\n');
const TWO_TO_32 = 2 ** 32;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * The rows of one COPY ... FROM STDIN, written straight into one growing buffer: no string per
 * row or per cell. Text format by default; `CopyRows.binary(columns)` makes PostgreSQL's binary
 * format, whose cells the database stores without parsing text (the sink uses it when every column
 * of a table has a type it can write that way). Rows are numbered in the order they are begun; a
 * row can be replaced (the last record per key wins in upserts) and the data is then emitted
 * without it.
 */
export class CopyRows {
  private buffer = Buffer.allocUnsafe(64 * 1024);
  /** Bytes written so far. */
  private size = 0;
  private starts: number[] = [];
  private ends: number[] = [];
  private rowStart = -1;
  private replacing = -1;

  /** @param columns the cells of each row in binary format; text format when undefined. */
  private constructor(private readonly columns?: number) {
    if (columns === undefined) return;
    BINARY_HEADER.copy(this.buffer, 0);
    this.size = BINARY_HEADER.length;
  }

  /** Rows in COPY's text format. */
  static text(): CopyRows {
    return new CopyRows();
  }

  /** Rows of `columns` cells in COPY's binary format (`WITH (FORMAT binary)`). */
  static binary(columns: number): CopyRows {
    return new CopyRows(columns);
  }

  /** Whether the rows are in COPY's binary format. */
  get binary(): boolean {
    return this.columns !== undefined;
  }

  /** What follows the last row (binary: the trailer), once every row has been sent. */
  get trailer(): Buffer | undefined {
    return this.columns === undefined ? undefined : BINARY_TRAILER;
  }

  /** How many rows there are. */
  get length(): number {
    return this.starts.length;
  }

  /** Starts a new row (or, with `replace`, the new content of an existing one). */
  begin(replace = -1): void {
    this.rowStart = this.size;
    this.replacing = replace;
    if (this.columns !== undefined) {
      // A binary row starts with its number of cells.
      this.reserve(2);
      this.buffer.writeInt16BE(this.columns, this.size);
      this.size += 2;
    }
  }

  /** Ends the row begun last; returns its number. */
  end(): number {
    const text = this.columns === undefined;
    if (text) {
      this.reserve(1);
      this.buffer[this.size] = NEWLINE;
    }
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
    if (text) this.size += 1;
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

  /** Bytes `start`..`end` as a string of one character per byte (binary cells, to compare keys). */
  bytesAt(start: number, end: number): string {
    return this.buffer.toString('latin1', start, end);
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
    this.size = this.columns === undefined ? 0 : BINARY_HEADER.length;
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

  /** One row on its own as COPY data (to find which row the database refuses). */
  rowData(index: number): Buffer[] {
    const row = this.lineAt(index);
    return this.columns === undefined ? [row, NEWLINE_DATA] : [BINARY_HEADER, row, BINARY_TRAILER];
  }

  /**
   * The COPY data: every row (in text, followed by a newline; in binary, between the header and
   * the trailer), as few slices as the rows' layout allows.
   */
  data(): Buffer[] {
    const text = this.columns === undefined;
    const parts: Buffer[] = text ? [] : [BINARY_HEADER];
    let sliceStart = -1;
    let sliceEnd = -1;
    for (let index = 0; index < this.starts.length; index += 1) {
      const start = this.starts[index] as number;
      const end = (this.ends[index] as number) + (text ? 1 : 0);
      if (start === sliceEnd) {
        sliceEnd = end;
        continue;
      }
      if (sliceStart >= 0) parts.push(this.buffer.subarray(sliceStart, sliceEnd));
      sliceStart = start;
      sliceEnd = end;
    }
    if (sliceStart >= 0) parts.push(this.buffer.subarray(sliceStart, sliceEnd));
    if (!text) parts.push(BINARY_TRAILER);
    return parts;
  }

  // Binary cells: a 32-bit length (−1 for NULL), then the value as the type's receive function
  // reads it (big-endian numbers, UTF-8 text, raw bytes).

  /** A 32-bit big-endian integer at the write position (a cell's length, or a value). */
  private int32(value: number): void {
    this.reserve(4);
    const buffer = this.buffer;
    let at = this.size;
    buffer[at++] = value >>> 24;
    buffer[at++] = (value >>> 16) & 0xff;
    buffer[at++] = (value >>> 8) & 0xff;
    buffer[at++] = value & 0xff;
    this.size = at;
  }

  /** NULL. */
  nullCell(): void {
    this.int32(-1);
  }

  /** An `integer` cell; a value beyond 32 bits is refused as PostgreSQL refuses its text. */
  int4Cell(value: number): void {
    // A record, not the batch: dead-lettered with the message PostgreSQL gives for the same text.
    if (!(value >= INT32_MIN && value <= INT32_MAX))
      throw new SchemaError(`value "${value}" is out of range for type integer`);
    this.int32(4);
    this.int32(value);
  }

  /** A `bigint` cell from a safe integer (exact: written as two 32-bit halves). */
  int8Cell(value: number): void {
    const high = Math.floor(value / TWO_TO_32);
    this.int32(8);
    this.int32(high);
    this.int32(value - high * TWO_TO_32);
  }

  /**
   * A `timestamp` cell from milliseconds since 1970 (UTC): microseconds since 2000, computed in
   * 32-bit halves so that it stays exact where milliseconds × 1000 would pass 2^53.
   */
  timestampCell(millis: number): void {
    const relative = millis - 946_684_800_000;
    const high = Math.floor(relative / TWO_TO_32);
    const lowMicros = (relative - high * TWO_TO_32) * 1000;
    const carry = Math.floor(lowMicros / TWO_TO_32);
    this.int32(8);
    this.int32(high * 1000 + carry);
    this.int32(lowMicros - carry * TWO_TO_32);
  }

  /** A `real` or `double precision` cell from `width` little-endian bytes (Avro's float, double). */
  floatCell(source: Buffer, at: number, width: 4 | 8): void {
    this.int32(width);
    this.reserve(width);
    const buffer = this.buffer;
    let size = this.size;
    for (let index = at + width - 1; index >= at; index -= 1) buffer[size++] = source[index] as number;
    this.size = size;
  }

  /** A `double precision` cell from a number (an Avro float widened). */
  doubleCell(value: number): void {
    this.int32(8);
    this.reserve(8);
    this.size = this.buffer.writeDoubleBE(value, this.size);
  }

  /** A `boolean` cell. */
  booleanCell(value: boolean): void {
    this.int32(1);
    this.byte(value ? 1 : 0);
  }

  /** A `bytea` cell: the bytes as they are. */
  bytesCell(source: Buffer, start: number, end: number): void {
    this.int32(end - start);
    copyBytes(source, start, end, this);
  }

  /**
   * A `text` cell from the bytes of a UTF-8 string (an Avro string's body), stored as the text
   * format stores it: ASCII as is, anything else decoded first (malformed sequences become
   * U+FFFD), NUL dropped.
   */
  utf8Cell(source: Buffer, start: number, end: number): void {
    this.int32(end - start);
    const lengthAt = this.size - 4;
    this.reserve(end - start);
    const buffer = this.buffer;
    let size = this.size;
    for (let index = start; index < end; index += 1) {
      const byte = source[index] as number;
      if (byte >= 0x80 || byte === NUL) {
        this.size = lengthAt;
        this.textCell(source.toString('utf8', start, end));
        return;
      }
      buffer[size++] = byte;
    }
    this.size = size;
  }

  /** A `text` cell from a string (NUL dropped: PostgreSQL's text cannot hold it). */
  textCell(text: string): void {
    const clean = text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
    this.reserve(4 + clean.length * 3);
    const written = this.buffer.write(clean, this.size + 4, 'utf8');
    this.int32(written);
    this.size += written;
  }
}
