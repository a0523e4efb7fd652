import type avro from 'avsc';
import { ParseError } from '../../errors';
import { type ConnectSchema, LOGICAL } from './connect-schema';
import type { CopyRows } from './copy-rows';
import { decimalToString, formatDate, formatTime, formatTimestamp, splitTimestamp } from './values';

/**
 * Avro binary → COPY text or COPY binary, without building the JavaScript value: the hot path of
 * the sink.
 *
 * Each column's cell is written exactly as `toCopyCell(columnSchema, avscDecodedValue)` would
 * write it (tests/unit/sinks/postgres/transcode.test.ts holds the two side by side); a schema with
 * a column this module cannot transcode (arrays, maps, structs) is not compiled, and the sink falls
 * back to decoding the record.
 */

/** avsc's union types (wrapped or not) list their branches. */
type UnionType = { types: avro.Type[] };

/** Where a datum is read from: the buffer, the read position (advanced), and the datum's end. */
type Cursor = { bytes: Buffer; position: number };

/** Reads one datum and writes its cell. */
type CellReader = (cursor: Cursor, out: CopyRows) => void;
/** Reads one datum and discards it. */
type Skipper = (cursor: Cursor) => void;

/**
 * A column to transcode: its number among the row's slots, its Connect schema and, for COPY's
 * binary format, its type in the table (as `format_type` spells it).
 */
export type WantedField = { slot: number; schema: ConnectSchema; columnType?: string };

/**
 * Transcodes one datum (a record, or a primitive key) starting at `offset`: each wanted field's
 * cell is written to `out`, and its byte range to `slots` (start at 2·slot, end at 2·slot + 1);
 * compiled `inline`, the cells are written tab-separated in the writer's order and slots unused.
 * Throws ParseError when the bytes do not match the schema (truncated, trailing data, bad index).
 */
export type Transcoder = (bytes: Buffer, offset: number, out: CopyRows, slots: Int32Array) => void;

const invalid = (what: string): ParseError => new ParseError(`Avro data does not match its schema: ${what}`);

const LONG_LIMIT = 9_007_199_254_740_990;

/** Avro's zig-zag varint as a JavaScript number; beyond 2^53 it refuses, as avsc's long does. */
const readLong = (cursor: Cursor): number => {
  const { bytes } = cursor;
  let position = cursor.position;
  let byte = bytes[position++];
  if (byte === undefined) throw invalid('truncated');
  let low = byte & 0x7f;
  let shift = 7;
  // 28 bits fit a 32-bit integer; longer varints continue in floating point (exact up to 2^53).
  while (byte & 0x80 && shift < 28) {
    byte = bytes[position++];
    if (byte === undefined) throw invalid('truncated');
    low |= (byte & 0x7f) << shift;
    shift += 7;
  }
  if (!(byte & 0x80)) {
    cursor.position = position;
    return (low >>> 1) ^ -(low & 1);
  }
  let value = low;
  let scale = 2 ** 28;
  do {
    byte = bytes[position++];
    if (byte === undefined) throw invalid('truncated');
    value += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte & 0x80);
  cursor.position = position;
  const decoded = value % 2 ? -(value + 1) / 2 : value / 2;
  // avsc's bound for a long it will decode (2^53 − 2): the same records fail either way.
  if (!(decoded >= -LONG_LIMIT && decoded <= LONG_LIMIT)) throw invalid('potential precision loss');
  return decoded;
};

/** Skips a length-prefixed datum (bytes, string); returns where it starts (it ends at `position`). */
const readRange = (cursor: Cursor): number => {
  const length = readLong(cursor);
  const start = cursor.position;
  const end = start + length;
  if (length < 0 || end > cursor.bytes.length) throw invalid('truncated');
  cursor.position = end;
  return start;
};

const advance = (cursor: Cursor, length: number): number => {
  const start = cursor.position;
  if (start + length > cursor.bytes.length) throw invalid('truncated');
  cursor.position = start + length;
  return start;
};

const NULL_CELL = '\\N';
const TAB = 0x09;

const ZERO = 0x30;

/** A timestamp-millis cell (`YYYY-MM-DD HH:MM:SS.mmm`, UTC) without building its text. */
const writeTimestamp = (millis: number, out: CopyRows): void => {
  const split = splitTimestamp(millis);
  if (split === undefined) {
    out.ascii(formatTimestamp(millis));
    return;
  }
  const { dayText, ofDay } = split;
  out.ascii(dayText);
  const seconds = Math.floor(ofDay / 1000);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor(seconds / 60) % 60;
  const second = seconds % 60;
  const milli = ofDay % 1000;
  out.reserve(12);
  const buffer = out.bufferForWriting();
  let at = out.position;
  buffer[at++] = ZERO + Math.floor(hours / 10);
  buffer[at++] = ZERO + (hours % 10);
  buffer[at++] = 0x3a;
  buffer[at++] = ZERO + Math.floor(minutes / 10);
  buffer[at++] = ZERO + (minutes % 10);
  buffer[at++] = 0x3a;
  buffer[at++] = ZERO + Math.floor(second / 10);
  buffer[at++] = ZERO + (second % 10);
  buffer[at++] = 0x2e;
  buffer[at++] = ZERO + Math.floor(milli / 100);
  buffer[at++] = ZERO + (Math.floor(milli / 10) % 10);
  buffer[at++] = ZERO + (milli % 10);
  out.advanceTo(at);
};

/** A skipper for any Avro type (fields a row does not use). */
const skipperOf = (type: avro.Type): Skipper => {
  const { typeName } = type;
  switch (typeName) {
    case 'null':
      return () => undefined;
    case 'boolean':
      return (cursor) => void advance(cursor, 1);
    case 'int':
    case 'long':
    case 'enum':
      return (cursor) => void readLong(cursor);
    case 'float':
      return (cursor) => void advance(cursor, 4);
    case 'double':
      return (cursor) => void advance(cursor, 8);
    case 'bytes':
    case 'string':
      return (cursor) => void readRange(cursor);
    case 'fixed': {
      const size = (type as avro.types.FixedType).size;
      return (cursor) => void advance(cursor, size);
    }
    case 'array':
    case 'map': {
      const items =
        typeName === 'array'
          ? skipperOf((type as avro.types.ArrayType).itemsType)
          : (
              (skipValue: Skipper): Skipper =>
              (cursor) => {
                readRange(cursor);
                skipValue(cursor);
              }
            )(skipperOf((type as avro.types.MapType).valuesType));
      return (cursor) => {
        for (;;) {
          let count = readLong(cursor);
          if (count === 0) return;
          if (count < 0) {
            // A negative count is followed by the block's size in bytes.
            count = -count;
            readLong(cursor);
          }
          if (count > cursor.bytes.length) throw invalid('block count beyond the data');
          for (let index = 0; index < count; index += 1) items(cursor);
        }
      };
    }
    case 'record':
    case 'error': {
      // Built lazily: a recursive record type refers to itself.
      let fields: Skipper[] | undefined;
      return (cursor) => {
        fields ??= (type as avro.types.RecordType).fields.map((field) => skipperOf(field.type));
        for (const skip of fields) skip(cursor);
      };
    }
    default: {
      if (typeName.startsWith('union')) {
        const branches = (type as unknown as UnionType).types.map(skipperOf);
        return (cursor) => {
          const branch = branches[readLong(cursor)];
          if (branch === undefined) throw invalid('union branch out of range');
          branch(cursor);
        };
      }
      throw new ParseError(`no Avro skipper for ${typeName}`);
    }
  }
};

/** Reads an enum's index and writes its symbol's cell. */
const enumReaderOf = (type: avro.Type, write: (out: CopyRows, symbol: string) => void): CellReader => {
  const symbols = (type as avro.types.EnumType).symbols;
  return (cursor, out) => {
    const symbol = symbols[readLong(cursor)];
    if (symbol === undefined) throw invalid('enum index out of range');
    write(out, symbol);
  };
};

/** The cell reader of a non-null Avro type for a column of Connect schema `schema`, if supported. */
const valueReaderOf = (type: avro.Type, schema: ConnectSchema): CellReader | undefined => {
  const { typeName } = type;
  switch (schema.name) {
    case LOGICAL.timestamp:
      return typeName === 'long' ? (cursor, out) => writeTimestamp(readLong(cursor), out) : undefined;
    case LOGICAL.date:
      return typeName === 'int' ? (cursor, out) => out.ascii(formatDate(readLong(cursor))) : undefined;
    case LOGICAL.time:
      return typeName === 'int' ? (cursor, out) => out.ascii(formatTime(readLong(cursor))) : undefined;
    case LOGICAL.decimal: {
      const scale = schema.parameters?.scale ?? 0;
      if (typeName === 'bytes')
        return (cursor, out) => {
          const start = readRange(cursor);
          const end = cursor.position;
          out.ascii(decimalToString(cursor.bytes.subarray(start, end), scale));
        };
      if (typeName === 'fixed') {
        const size = (type as avro.types.FixedType).size;
        return (cursor, out) => {
          const start = advance(cursor, size);
          out.ascii(decimalToString(cursor.bytes.subarray(start, start + size), scale));
        };
      }
      return undefined;
    }
  }
  switch (typeName) {
    case 'int':
    case 'long':
      return (cursor, out) => out.integer(readLong(cursor));
    case 'float':
      // String() spells NaN and ±Infinity as PostgreSQL reads them, as toCopyCell does.
      return (cursor, out) => out.ascii(String(cursor.bytes.readFloatLE(advance(cursor, 4))));
    case 'double':
      return (cursor, out) => out.ascii(String(cursor.bytes.readDoubleLE(advance(cursor, 8))));
    case 'boolean':
      return (cursor, out) => out.byte(cursor.bytes[advance(cursor, 1)] ? 0x74 : 0x66);
    case 'string':
      return (cursor, out) => {
        const start = readRange(cursor);
        const end = cursor.position;
        out.utf8Bytes(cursor.bytes, start, end);
      };
    case 'enum':
      return enumReaderOf(type, (out, symbol) => out.text(symbol));
    case 'bytes':
      return (cursor, out) => {
        const start = readRange(cursor);
        const end = cursor.position;
        // `\x…` hex, its backslash escaped for COPY.
        out.ascii(`\\\\x${cursor.bytes.toString('hex', start, end)}`);
      };
    case 'fixed': {
      const size = (type as avro.types.FixedType).size;
      return (cursor, out) => {
        const start = advance(cursor, size);
        out.ascii(`\\\\x${cursor.bytes.toString('hex', start, start + size)}`);
      };
    }
    default:
      return undefined;
  }
};

const VARCHAR = /^character varying(\(\d+\))?$/;
/** Any precision: PostgreSQL rounds a binary timestamp to the column's as it rounds text. */
const TIMESTAMP = /^timestamp(\(\d\))? without time zone$/;
/** A column whose binary cell is UTF-8 text. */
const isTextColumn = (columnType: string | undefined): boolean =>
  columnType === 'text' || VARCHAR.test(columnType ?? '');

/**
 * The binary cell reader of a non-null Avro type for a column of type `columnType`, when the
 * binary cell is exactly what the text format would store: the types the sink's auto.create makes
 * (and a few widenings), never a logical type other than timestamps. Undefined: use text.
 */
const binaryReaderOf = (
  type: avro.Type,
  schema: ConnectSchema,
  columnType: string | undefined,
): CellReader | undefined => {
  const { typeName } = type;
  if (schema.name === LOGICAL.timestamp)
    return typeName === 'long' && TIMESTAMP.test(columnType ?? '')
      ? (cursor, out) => out.timestampCell(readLong(cursor))
      : undefined;
  if (schema.name !== undefined) return undefined;
  switch (typeName) {
    case 'int':
      if (columnType === 'integer') return (cursor, out) => out.int4Cell(readLong(cursor));
      return columnType === 'bigint' ? (cursor, out) => out.int8Cell(readLong(cursor)) : undefined;
    case 'long':
      return columnType === 'bigint' ? (cursor, out) => out.int8Cell(readLong(cursor)) : undefined;
    case 'float':
      if (columnType === 'real') return (cursor, out) => out.floatCell(cursor.bytes, advance(cursor, 4), 4);
      return columnType === 'double precision'
        ? (cursor, out) => out.doubleCell(cursor.bytes.readFloatLE(advance(cursor, 4)))
        : undefined;
    case 'double':
      return columnType === 'double precision'
        ? (cursor, out) => out.floatCell(cursor.bytes, advance(cursor, 8), 8)
        : undefined;
    case 'boolean':
      return columnType === 'boolean'
        ? (cursor, out) => out.booleanCell(cursor.bytes[advance(cursor, 1)] !== 0)
        : undefined;
    case 'string':
      return isTextColumn(columnType)
        ? (cursor, out) => {
            const start = readRange(cursor);
            out.utf8Cell(cursor.bytes, start, cursor.position);
          }
        : undefined;
    case 'enum':
      return isTextColumn(columnType) ? enumReaderOf(type, (out, symbol) => out.textCell(symbol)) : undefined;
    case 'bytes':
      return columnType === 'bytea'
        ? (cursor, out) => {
            const start = readRange(cursor);
            out.bytesCell(cursor.bytes, start, cursor.position);
          }
        : undefined;
    case 'fixed': {
      if (columnType !== 'bytea') return undefined;
      const size = (type as avro.types.FixedType).size;
      return (cursor, out) => {
        const start = advance(cursor, size);
        out.bytesCell(cursor.bytes, start, start + size);
      };
    }
    default:
      return undefined;
  }
};

/** A column's cell format: COPY text, or COPY binary for a column of the given type. */
type CellFormat = { binary: false } | { binary: true; columnType: string | undefined };

/** The cell reader of a column's Avro type, nullable unions included, if supported. */
const cellReaderOf = (type: avro.Type, schema: ConnectSchema, format: CellFormat): CellReader | undefined => {
  const readerOf = (valueType: avro.Type) =>
    format.binary ? binaryReaderOf(valueType, schema, format.columnType) : valueReaderOf(valueType, schema);
  if (!type.typeName.startsWith('union')) return readerOf(type);
  const branches = (type as unknown as UnionType).types;
  if (branches.length !== 2) return undefined;
  const writeNull: CellReader = format.binary
    ? (_cursor, out) => out.nullCell()
    : (_cursor, out) => out.ascii(NULL_CELL);
  const readers = branches.map((branch) => (branch.typeName === 'null' ? writeNull : readerOf(branch)));
  const [first, second] = readers;
  if (first === undefined || second === undefined) return undefined;
  return (cursor, out) => {
    const index = readLong(cursor);
    if (index === 0) first(cursor, out);
    else if (index === 1) second(cursor, out);
    else throw invalid('union branch out of range');
  };
};

/** Wraps a reader so the cell's byte range lands in its slot. */
const intoSlot =
  (read: CellReader, slot: number): CellReader =>
  (cursor, out) => {
    const slots = currentSlots;
    slots[2 * slot] = out.position;
    read(cursor, out);
    slots[2 * slot + 1] = out.position;
  };

// The slots of the datum being transcoded (set per call: readers stay allocation-free).
let currentSlots: Int32Array = new Int32Array(0);

const finish = (cursor: Cursor): void => {
  if (cursor.position !== cursor.bytes.length) throw invalid('trailing data');
};

/**
 * Compiles a transcoder for a writer schema: a record whose wanted fields are named in `wanted`,
 * or (with `whole`) a primitive datum that is itself the one wanted column. Undefined when a wanted
 * field's type cannot be transcoded. With `binary` (inline or whole), the cells are in COPY's
 * binary format for each field's `columnType`, one after the other; undefined when a column's type
 * has no binary cell here.
 */
export const compileTranscoder = (
  type: avro.Type,
  wanted:
    | { fields: ReadonlyMap<string, WantedField>; inline?: boolean; binary?: boolean }
    | { whole: WantedField; inline?: undefined; binary?: boolean },
): Transcoder | undefined => {
  const binary = wanted.binary === true;
  const formatOf = (field: WantedField): CellFormat =>
    binary ? { binary, columnType: field.columnType } : { binary };
  let steps: CellReader[];
  if ('whole' in wanted) {
    const read = cellReaderOf(type, wanted.whole.schema, formatOf(wanted.whole));
    if (read === undefined) return undefined;
    steps = [intoSlot(read, wanted.whole.slot)];
  } else {
    if (type.typeName !== 'record') return undefined;
    steps = [];
    let cells = 0;
    for (const field of (type as avro.types.RecordType).fields) {
      const column = wanted.fields.get(field.name);
      if (column === undefined) {
        const skip = skipperOf(field.type);
        steps.push((cursor) => skip(cursor));
        continue;
      }
      const read = cellReaderOf(field.type, column.schema, formatOf(column));
      if (read === undefined) return undefined;
      // Inline: the cells go straight into the row, in the writer's field order (text: tab-separated).
      if (!wanted.inline) steps.push(intoSlot(read, column.slot));
      else if (cells === 0 || binary) steps.push(read);
      else
        steps.push((cursor, out) => {
          out.byte(TAB);
          read(cursor, out);
        });
      cells += 1;
    }
  }
  const cursor: Cursor = { bytes: Buffer.alloc(0), position: 0 };
  return (bytes, offset, out, slots) => {
    cursor.bytes = bytes;
    cursor.position = offset;
    currentSlots = slots;
    for (const step of steps) step(cursor, out);
    finish(cursor);
  };
};
