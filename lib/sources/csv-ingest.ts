import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { ConfigError, UnavailableError } from '../errors';
import type { CompiledMapping, MappingRegistry } from '../fhir/compile';
import { prefixRow, type RowGroup, type SourceRow } from '../fhir/rows';
import type { KeyValue } from '../fhir/sql';
import type { CsvColumn, CsvColumnType, CsvEncoding, CsvSourceConfig } from './csv-config';
import type { RawPublisher } from './raw-messages';

/** A CSV connector checked against its mapping. */
export type CsvSource = { config: CsvSourceConfig; compiled: CompiledMapping };

/** A rejected record: where it is and why, never what it held. */
export type RejectedLine = { line: number; reason: string };

/** What ingesting one file did; written beside the moved object, so it holds no values. */
export type CsvIngestResult = {
  outcome: 'finished' | 'error';
  rowsRead: number;
  rowsPublished: number;
  rowsRejected: number;
  /** The first MAX_LISTED rejections; the rest are counted in rowsRejected. */
  rejected: RejectedLine[];
  /** Why the whole file failed (a bad header), when it did. */
  fileError?: string;
};

const MAX_LISTED = 1000;
// A field left open by a missing quote would otherwise buffer the rest of the file.
const MAX_RECORD_BYTES = 1024 * 1024;

/** Checks a CSV file against the mapping it names: the key column must be one of its columns. */
export const resolveCsvSource = (config: CsvSourceConfig, registry: MappingRegistry): CsvSource => {
  const compiled = registry.get(config.mapping);
  if (compiled === undefined)
    throw new ConfigError(`connector ${config.name}: unknown mapping ${config.mapping}`);
  const key = compiled.mapping.source.primaryKey;
  if (config.columns.length > 0 && !config.columns.some((column) => column.name === key)) {
    throw new ConfigError(
      `connector ${config.name}: medstream.csv.columns must include the key column ${key}`,
    );
  }
  return { config, compiled };
};

// csv-parse messages quote the offending characters; only our own wording leaves this module.
const PARSE_REASONS: Record<string, string> = {
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is followed by a character other than the separator',
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE:
    'a closing quote is followed by a character other than the separator',
  CSV_MAX_RECORD_SIZE: `a record is longer than ${MAX_RECORD_BYTES} bytes`,
  CSV_INVALID_ARGUMENT: 'the file cannot be parsed with the configured separator and quote',
};
const describeParseError = (error: CsvError): string =>
  PARSE_REASONS[error.code] ?? `malformed CSV (${error.code})`;

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/;

// What the decoder puts for bytes that are not UTF-8: a field holding it would pass on corrupted
// text (a name, a code) as if it were the file's.
const REPLACEMENT_CHARACTER = '\uFFFD';
const NOT_UTF8 = 'not valid UTF-8 (set csv.file.charset to the encoding the file is written in)';

/** Converts one field; returns a reason (no value) when it does not fit the column's type. */
const convertField = (
  text: string,
  type: CsvColumnType,
  encoding: CsvEncoding,
): { value: unknown } | { reason: string } => {
  if (text === '') return { value: null };
  if (encoding === 'utf8' && text.includes(REPLACEMENT_CHARACTER)) return { reason: NOT_UTF8 };
  switch (type) {
    case 'integer':
      return /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text))
        ? { value: Number(text) }
        : { reason: 'not an integer' };
    case 'number': {
      const value = Number(text);
      return text.trim() !== '' && Number.isFinite(value) ? { value } : { reason: 'not a number' };
    }
    case 'boolean':
      return text === 'true' || text === 'false'
        ? { value: text === 'true' }
        : { reason: 'not true or false' };
    case 'timestamp':
      return TIMESTAMP.test(text) ? { value: text } : { reason: 'not a timestamp (YYYY-MM-DD[ HH:MM[:SS]])' };
    default:
      return { value: text };
  }
};

type Layout = { columns: readonly CsvColumn[]; width: number };

/** Column positions from the header: declared columns must all be present (extra ones are read as text). */
const layoutFromHeader = (
  config: CsvSourceConfig,
  names: readonly string[],
  key: string,
): Layout | string => {
  const trimmed = names.map((name) => name.trim());
  if (trimmed.some((name) => !/^[a-z_][a-z0-9_]{0,62}$/.test(name)))
    return 'a header name is not a lower-case column name';
  if (new Set(trimmed).size !== trimmed.length) return 'the header names a column twice';
  const declared = new Map(config.columns.map((column) => [column.name, column.type]));
  const missing = [...declared.keys()].filter((name) => !trimmed.includes(name));
  if (missing.length > 0) return `the header lacks column(s) ${missing.join(', ')}`;
  if (!trimmed.includes(key)) return `the header lacks the key column ${key}`;
  const columns = trimmed.map((name) => ({ name, type: declared.get(name) ?? 'string' }));
  return { columns, width: trimmed.length };
};

/**
 * Streams one CSV object into the raw topic: the body is parsed record by record (csv-parse),
 * checked and typed, turned into source rows of the mapping's table and published in batches of
 * `batch.size` resources, reading no further while a batch is being published, so memory stays
 * bounded whatever the file's size. Adjacent records with the same key form one resource, as the
 * generated SQL's rows do. Rejected records are listed by line with a reason; a file with any
 * rejection ends in `error`, its valid rows published (a corrected file replaces them: ids are
 * deterministic). A broken quote stops the file there: past it, record boundaries are unknowable. Kafka or S3 failures throw a retryable error, leaving the object in place.
 */
export const ingestCsv = async (
  body: Readable,
  source: CsvSource,
  ports: { publisher: RawPublisher },
  context: { batchId: string },
): Promise<CsvIngestResult> => {
  const { config, compiled } = source;
  const alias = compiled.mapping.source.table;
  const keyName = compiled.mapping.source.primaryKey;
  const result: CsvIngestResult = {
    outcome: 'finished',
    rowsRead: 0,
    rowsPublished: 0,
    rowsRejected: 0,
    rejected: [],
  };
  const reject = (line: number, reason: string): void => {
    result.rowsRejected += 1;
    if (result.rejected.length < MAX_LISTED) result.rejected.push({ line, reason });
  };

  let layout: Layout | undefined = config.header
    ? undefined
    : { columns: config.columns, width: config.columns.length };
  let ready: RowGroup[] = [];
  let readyRows = 0;
  let open: RowGroup | undefined;
  // One batch is published while the next one is parsed: memory holds at most two batches.
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async (): Promise<void> => {
    await inFlight;
    if (ready.length === 0) return;
    const groups = ready;
    const rows = readyRows;
    ready = [];
    readyRows = 0;
    inFlight = ports.publisher.publish(config.topic, config.mapping, groups, context.batchId).then(() => {
      result.rowsPublished += rows;
    });
    // Awaited by the next flush; until then a rejection must not count as unhandled.
    inFlight.catch(() => undefined);
  };
  const add = async (key: KeyValue, row: SourceRow): Promise<void> => {
    if (open !== undefined && open.key === key) {
      open.rows.push(row);
      return;
    }
    if (open !== undefined) {
      ready.push(open);
      readyRows += open.rows.length;
    }
    open = { key, rows: [row] };
    if (ready.length >= config.batchSize) await flush();
  };

  const parser = parse({
    delimiter: config.separator,
    quote: config.quote,
    from_line: config.skipLines + 1,
    // A byte order mark overrides the configured charset (a UTF-8 BOM means UTF-8).
    encoding: config.encoding,
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_column_count: true,
    // A broken record is reported through 'skip' rather than by destroying the stream, which would
    // drop the valid records parsed before it in the same chunk.
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  // Past a broken quote the parser cannot know where records end: nothing after it is read.
  let broken: { line: number; reason: string } | undefined;
  parser.on('skip', (error: CsvError & { lines?: number }) => {
    broken ??= { line: error.lines ?? 0, reason: describeParseError(error) };
  });
  let bodyError: unknown;
  body.once('error', (error) => {
    bodyError = error;
    parser.destroy(error);
  });

  try {
    for await (const { record, info } of body.pipe(parser) as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      const line = info.lines;
      if (broken !== undefined && line > broken.line) break;
      if (layout === undefined) {
        const header = layoutFromHeader(config, record, keyName);
        if (typeof header === 'string') {
          result.fileError = `line ${line}: ${header}`;
          break;
        }
        layout = header;
        continue;
      }
      result.rowsRead += 1;
      if (record.length !== layout.width) {
        reject(line, `expected ${layout.width} fields, found ${record.length}`);
        continue;
      }
      const values: Record<string, unknown> = {};
      let problem: string | undefined;
      layout.columns.forEach((column, index) => {
        if (problem !== undefined) return;
        const converted = convertField(record[index] ?? '', column.type, config.encoding);
        if ('reason' in converted) problem = `column ${column.name}: ${converted.reason}`;
        else values[column.name] = converted.value;
      });
      if (problem !== undefined) {
        reject(line, problem);
        continue;
      }
      const key = values[keyName];
      if (typeof key !== 'string' && typeof key !== 'number') {
        reject(line, `column ${keyName}: the key is empty`);
        continue;
      }
      await add(key, prefixRow(alias, values));
    }
  } catch (error) {
    if (bodyError !== undefined || !(error instanceof CsvError)) {
      throw new UnavailableError('cannot read the CSV object', { cause: bodyError ?? error });
    }
    broken ??= {
      line: (error as CsvError & { lines?: number }).lines ?? 0,
      reason: describeParseError(error),
    };
  } finally {
    body.unpipe(parser);
    if (!body.destroyed) body.destroy();
  }

  if (broken !== undefined) {
    result.rowsRead += 1;
    reject(broken.line, broken.reason);
    result.fileError = `line ${broken.line}: the file cannot be parsed past this line`;
  }
  if (result.fileError === undefined && layout === undefined)
    result.fileError = 'the file is empty: no header';
  if (open !== undefined) {
    ready.push(open);
    readyRows += (open as RowGroup).rows.length;
    open = undefined;
  }
  await flush();
  await inFlight;
  if (result.fileError !== undefined || result.rowsRejected > 0) result.outcome = 'error';
  return result;
};
