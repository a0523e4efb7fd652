import { ParseError } from '../../errors';
import { type ConnectSchema, LOGICAL } from './connect-schema';

const DAY_MS = 86_400_000;

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

const toMillis = (value: unknown): number => {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new ParseError(`expected a time value, got ${typeof value}`);
};

const PAD2 = Array.from({ length: 60 }, (_, index) => pad(index));
const PAD3 = Array.from({ length: 1000 }, (_, index) => pad(index, 3));
/** Years 1970 to 9999: the range where timestamps are formatted from a cached day's text. */
const FAST_TIMESTAMPS_END = 253_402_300_800_000;
// Readings of one batch share a day: its text is computed once.
let cachedDay = Number.NaN;
let cachedDayText = '';

/**
 * For an integral instant from 1970 to 9999: its day's `YYYY-MM-DD ` text (cached) and its
 * milliseconds into that day. Undefined elsewhere (then only toISOString is trusted).
 */
export const splitTimestamp = (millis: number): { dayText: string; ofDay: number } | undefined => {
  if (!(Number.isInteger(millis) && millis >= 0 && millis < FAST_TIMESTAMPS_END)) return undefined;
  const day = Math.floor(millis / DAY_MS);
  if (day !== cachedDay) {
    cachedDayText = `${new Date(day * DAY_MS).toISOString().slice(0, 10)} `;
    cachedDay = day;
  }
  return { dayText: cachedDayText, ofDay: millis - day * DAY_MS };
};

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC (the JDBC sink's db.timezone=UTC). */
export const formatTimestamp = (value: unknown): string => {
  const millis = toMillis(value);
  const split = splitTimestamp(millis);
  if (split === undefined) {
    const iso = new Date(millis).toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  }
  const { dayText, ofDay } = split;
  const seconds = Math.floor(ofDay / 1000);
  return `${dayText}${PAD2[Math.floor(seconds / 3600)]}:${PAD2[Math.floor(seconds / 60) % 60]}:${PAD2[seconds % 60]}.${PAD3[ofDay % 1000]}`;
};

/** Avro `date` is days since the epoch. */
export const formatDate = (value: unknown): string => {
  const millis = value instanceof Date ? value.getTime() : toMillis(value) * DAY_MS;
  return new Date(millis).toISOString().slice(0, 10);
};

/** Avro `time-millis` is milliseconds after midnight. */
export const formatTime = (value: unknown): string => {
  const millis = value instanceof Date ? value.getTime() % DAY_MS : toMillis(value);
  return `${pad(Math.floor(millis / 3_600_000))}:${pad(Math.floor(millis / 60_000) % 60)}:${pad(Math.floor(millis / 1000) % 60)}.${pad(millis % 1000, 3)}`;
};

/** An Avro decimal (big-endian two's complement unscaled integer) as exact decimal text. */
export const decimalToString = (bytes: Buffer, scale: number): string => {
  if (bytes.length === 0) return '0';
  let unscaled = BigInt(`0x${bytes.toString('hex')}`);
  if ((bytes[0] as number) & 0x80) unscaled -= 1n << BigInt(bytes.length * 8);
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text =
    scale > 0 ? `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}` : digits;
  return negative ? `-${text}` : text;
};

const arrayElement = (schema: ConnectSchema, value: unknown): string => {
  if (value === null || value === undefined) return 'NULL';
  const text = toSqlText(schema, value);
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
};

/**
 * A field value as PostgreSQL input text. Values arrive as avsc decodes them: timestamp-millis and
 * date as numbers (or Dates when logical types are on), decimals and bytes as Buffers.
 */
export const toSqlText = (schema: ConnectSchema, value: unknown): string => {
  switch (schema.name) {
    case LOGICAL.timestamp:
      return formatTimestamp(value);
    case LOGICAL.date:
      return formatDate(value);
    case LOGICAL.time:
      return formatTime(value);
    case LOGICAL.decimal:
      return Buffer.isBuffer(value) ? decimalToString(value, schema.parameters?.scale ?? 0) : String(value);
  }
  switch (schema.type) {
    case 'BOOLEAN':
      return value ? 't' : 'f';
    case 'STRING':
      // PostgreSQL text cannot hold NUL; the JDBC sink's PostgreSQL dialect strips it too.
      return String(value).replaceAll('\u0000', '');
    case 'BYTES':
      if (!Buffer.isBuffer(value)) throw new ParseError('expected bytes');
      return `\\x${value.toString('hex')}`;
    case 'ARRAY': {
      if (!Array.isArray(value) || schema.valueSchema === undefined)
        throw new ParseError('expected an array');
      const element = schema.valueSchema;
      return `{${value.map((item) => arrayElement(element, item)).join(',')}}`;
    }
    case 'FLOAT32':
    case 'FLOAT64':
      if (typeof value !== 'number') throw new ParseError(`expected a number, got ${typeof value}`);
      return Number.isNaN(value)
        ? 'NaN'
        : value === Infinity
          ? 'Infinity'
          : value === -Infinity
            ? '-Infinity'
            : String(value);
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'INT64':
      if (typeof value !== 'number' && typeof value !== 'bigint')
        throw new ParseError(`expected an integer, got ${typeof value}`);
      return String(value);
    default:
      throw new ParseError(`a ${schema.type} value cannot be written to a column`);
  }
};

/** NULL in PostgreSQL's COPY text format. */
export const COPY_NULL = '\\N';

const COPY_SPECIAL = /[\\\n\r\t]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this looks for.
const COPY_SPECIAL_OR_NUL = /[\\\n\r\t\u0000]/;

/** Escapes one cell for COPY ... FROM STDIN (text format). */
export const escapeCopyText = (text: string): string =>
  COPY_SPECIAL.test(text)
    ? text.replace(/[\\\n\r\t]/g, (char) =>
        char === '\\' ? '\\\\' : char === '\n' ? '\\n' : char === '\r' ? '\\r' : '\\t',
      )
    : text;

/** A string as one COPY cell: NULs stripped (text cannot hold them), specials escaped. */
const stringCell = (text: string): string =>
  COPY_SPECIAL_OR_NUL.test(text) ? escapeCopyText(text.replaceAll('\u0000', '')) : text;

/** A value as one COPY cell. */
export const toCopyCell = (schema: ConnectSchema, value: unknown): string =>
  value === null || value === undefined ? COPY_NULL : escapeCopyText(toSqlText(schema, value));

/**
 * A converter from a value to its COPY cell, specialised once per column: the hot path then does
 * no type dispatch, and only text that can hold tabs, newlines or backslashes is escaped.
 */
export const copyCellWriterFor = (schema: ConnectSchema): ((value: unknown) => string) => {
  const needsEscape = schema.type === 'STRING' || schema.type === 'ARRAY' || schema.type === 'BYTES';
  if (schema.name === undefined) {
    switch (schema.type) {
      case 'INT8':
      case 'INT16':
      case 'INT32':
      case 'INT64':
        return (value) => {
          if (value === null || value === undefined) return COPY_NULL;
          if (typeof value !== 'number' && typeof value !== 'bigint')
            throw new ParseError(`expected an integer, got ${typeof value}`);
          return String(value);
        };
      case 'BOOLEAN':
        return (value) => (value === null || value === undefined ? COPY_NULL : value ? 't' : 'f');
      case 'FLOAT32':
      case 'FLOAT64':
        // String() spells NaN and ±Infinity as PostgreSQL reads them.
        return (value) => {
          if (value === null || value === undefined) return COPY_NULL;
          if (typeof value !== 'number') throw new ParseError(`expected a number, got ${typeof value}`);
          return String(value);
        };
      case 'STRING':
        return (value) => (value === null || value === undefined ? COPY_NULL : stringCell(String(value)));
    }
  }
  return needsEscape
    ? (value) =>
        value === null || value === undefined ? COPY_NULL : escapeCopyText(toSqlText(schema, value))
    : (value) => (value === null || value === undefined ? COPY_NULL : toSqlText(schema, value));
};
