import {
  failOnProblems,
  isBoolean,
  isNonEmpty,
  isNonNegativeInt,
  isPositiveInt,
  type KeyTable,
  listOf,
  readConnectorKeys,
  SQL_NAME,
} from '../connect/connector-keys';

/**
 * medstream's own connector class: no Kafka Connect plugin reads drops from S3 with these
 * semantics, so the file names the class honestly. The other keys reuse the vocabulary of the
 * SpoolDir CSV source (`input.path`, `finished.path`, `error.path`, `input.file.pattern`,
 * `csv.first.row.as.header`, `csv.separator.char`, `csv.quote.char`, `csv.skip.lines`,
 * `batch.size`, `topic`), with the same meaning, applied to key prefixes of one bucket.
 */
export const CSV_SOURCE_CLASS = 'io.medstream.connect.s3.CsvSourceConnector';

/** How a CSV column's text becomes a row value (an empty field is always null). */
export const CSV_COLUMN_TYPES = ['string', 'integer', 'number', 'boolean', 'timestamp'] as const;
export type CsvColumnType = (typeof CSV_COLUMN_TYPES)[number];
export type CsvColumn = { name: string; type: CsvColumnType };

/** A CSV source configuration, parsed and validated. */
export type CsvSourceConfig = {
  name: string;
  /** `medstream.s3.bucket`. */
  bucket: string;
  /** `input.path`: the key prefix objects are dropped under (`incoming/`). */
  inputPath: string;
  /** `finished.path` and `error.path`: where a processed object and its report are moved. */
  finishedPath: string;
  errorPath: string;
  /** `input.file.pattern`: a regular expression the whole file name (after the prefix) must match. */
  filePattern: RegExp;
  /** `csv.first.row.as.header`: the first record names the columns. */
  header: boolean;
  /** `medstream.csv.columns`: `name[:type]` list; the column names when there is no header. */
  columns: readonly CsvColumn[];
  separator: string;
  quote: string;
  skipLines: number;
  /** `csv.file.charset` (UTF-8 or ISO-8859-1), as the Node encoding that reads it. */
  encoding: CsvEncoding;
  /** `batch.size`: resources per publish; bounds what one file holds in memory. */
  batchSize: number;
  /** `medstream.mapping`: rows are the mapping's source table, keyed by its primary key. */
  mapping: string;
  topic: string;
};

/** `csv.file.charset` values (Java charset names, any case) and the Node encodings that read them. */
const CHARSETS = { 'UTF-8': 'utf8', 'ISO-8859-1': 'latin1' } as const;
/** How a CSV file's bytes become text. */
export type CsvEncoding = (typeof CHARSETS)[keyof typeof CHARSETS];
const encodingOf = (charset: string): CsvEncoding | undefined =>
  CHARSETS[charset.toUpperCase() as keyof typeof CHARSETS];

const singleChar = (value: string, key: string) =>
  [...value].length === 1 ? undefined : `${key} must be a single character`;
const prefix = (value: string, key: string) =>
  value.endsWith('/') && !value.startsWith('/')
    ? undefined
    : `${key} must be a key prefix ending in "/" (got "${value}")`;

const KEYS: KeyTable = {
  name: { check: isNonEmpty },
  'connector.class': {
    check: (value, key) => (value === CSV_SOURCE_CLASS ? undefined : `${key} must be ${CSV_SOURCE_CLASS}`),
  },
  'tasks.max': { check: (value, key) => (value === '1' ? undefined : `${key} must be 1`) },
  topic: { check: isNonEmpty },
  'input.path': { check: prefix },
  'finished.path': { check: prefix },
  'error.path': { check: prefix },
  'input.file.pattern': { check: isNonEmpty },
  'csv.first.row.as.header': { check: isBoolean },
  'csv.separator.char': { check: singleChar },
  'csv.quote.char': { check: singleChar },
  'csv.skip.lines': { check: isNonNegativeInt },
  'csv.file.charset': {
    check: (value, key) =>
      encodingOf(value) === undefined
        ? `${key} must be one of ${Object.keys(CHARSETS).join(', ')}`
        : undefined,
  },
  'batch.size': { check: isPositiveInt },
  'medstream.s3.bucket': {
    check: (value, key) =>
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) ? undefined : `${key} must be a bucket name`,
  },
  'medstream.mapping': {
    check: (value, key) =>
      /^[a-z0-9][a-z0-9-]{0,63}$/.test(value) ? undefined : `${key} must be a mapping id`,
  },
  'medstream.csv.columns': {},
};

const parseColumns = (value: string | undefined, problems: string[]): CsvColumn[] =>
  listOf(value).map((item) => {
    const [name = '', type = 'string', ...rest] = item.split(':').map((part) => part.trim());
    if (!SQL_NAME.test(name) || rest.length > 0)
      problems.push(`medstream.csv.columns: "${item}" is not name[:type]`);
    if (!CSV_COLUMN_TYPES.includes(type as CsvColumnType)) {
      problems.push(`medstream.csv.columns: type of ${name} must be one of ${CSV_COLUMN_TYPES.join(', ')}`);
    }
    return { name, type: type as CsvColumnType };
  });

/** Parses a CSV source file (`connectors/sources/*.json`) strictly, every problem at once. */
export const parseCsvSourceConfig = (input: unknown, source = 'connector config'): CsvSourceConfig => {
  const { values, problems } = readConnectorKeys(input, KEYS, source);
  for (const required of ['topic', 'medstream.s3.bucket', 'medstream.mapping', 'input.path']) {
    if (values[required] === undefined) problems.push(`${required} is required`);
  }
  const inputPath = values['input.path'] ?? '';
  const finishedPath = values['finished.path'] ?? 'finished/';
  const errorPath = values['error.path'] ?? 'error/';
  const paths = [inputPath, finishedPath, errorPath];
  // A moved object must never land where it would be picked up again.
  if (paths.some((path, index) => paths.some((other, at) => at !== index && other.startsWith(path)))) {
    problems.push('input.path, finished.path and error.path must not contain one another');
  }
  let filePattern = /^.*\.csv$/;
  if (values['input.file.pattern'] !== undefined) {
    try {
      filePattern = new RegExp(`^(?:${values['input.file.pattern']})$`);
    } catch {
      problems.push('input.file.pattern is not a valid regular expression');
    }
  }
  const header = (values['csv.first.row.as.header'] ?? 'true') === 'true';
  const columns = parseColumns(values['medstream.csv.columns'], problems);
  if (!header && columns.length === 0) {
    problems.push('medstream.csv.columns is required when csv.first.row.as.header is false');
  }
  if (new Set(columns.map((column) => column.name)).size !== columns.length) {
    problems.push('medstream.csv.columns names a column twice');
  }
  const separator = values['csv.separator.char'] ?? ',';
  const quote = values['csv.quote.char'] ?? '"';
  if (separator === quote) problems.push('csv.separator.char and csv.quote.char must differ');
  failOnProblems(problems, source);
  return {
    name: values.name as string,
    bucket: values['medstream.s3.bucket'] as string,
    inputPath,
    finishedPath,
    errorPath,
    filePattern,
    header,
    columns,
    separator,
    quote,
    skipLines: Number(values['csv.skip.lines'] ?? 0),
    encoding: encodingOf(values['csv.file.charset'] ?? 'UTF-8') ?? 'utf8',
    batchSize: Number(values['batch.size'] ?? 500),
    mapping: values['medstream.mapping'] as string,
    topic: values.topic as string,
  };
};
