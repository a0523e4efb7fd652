import {
  failOnProblems,
  isBoolean,
  isNonEmpty,
  isNonNegativeInt,
  isPositiveInt,
  JDBC_CONNECTION_KEYS,
  type KeyTable,
  listOf,
  oneOf,
  readConnectorKeys,
  SQL_NAME,
} from '../connect/connector-keys';

/** The Kafka Connect JDBC source modes medstream implements (`bulk` and `timestamp` are not). */
export const JDBC_SOURCE_MODE = {
  incrementing: 'incrementing',
  timestampIncrementing: 'timestamp+incrementing',
} as const;
export type JdbcSourceMode = (typeof JDBC_SOURCE_MODE)[keyof typeof JDBC_SOURCE_MODE];

/** The connector classes whose files medstream reads as an incremental source. */
export const JDBC_SOURCE_CLASSES = [
  'io.confluent.connect.jdbc.JdbcSourceConnector',
  'io.aiven.connect.jdbc.JdbcSourceConnector',
] as const;

/** A Kafka Connect JDBC source configuration, parsed and validated. */
export type JdbcSourceConfig = {
  name: string;
  mode: JdbcSourceMode;
  /** The one table of `table.whitelist` (or `table.include.list`): the mapping's source table. */
  table: string;
  /** `incrementing.column.name`: must be the mapping's primary key (it orders and tells rows apart). */
  incrementingColumn: string;
  /** `timestamp.column.name`, in `timestamp+incrementing` mode. */
  timestampColumn: string | undefined;
  /** `timestamp.delay.interval.ms`: rows younger than this (by the database clock) wait a poll. */
  timestampDelayMs: number;
  /** `poll.interval.ms`: informative here; the schedule event's rate is the poll interval. */
  pollIntervalMs: number;
  /** `batch.max.rows`: resources (primary keys) read per query. */
  batchMaxRows: number;
  /** `medstream.mapping`: the resource mapping whose SQL reads the table and whose raw topic gets the rows. */
  mapping: string;
  /** `topic.prefix` + mapping id: the raw topic, the one `POST /extract/{resource}` publishes to. */
  topic: string;
};

const isSqlName = (value: string, key: string) =>
  SQL_NAME.test(value) ? undefined : `${key} must be a lower-case SQL name (got "${value}")`;

/**
 * Keys of Confluent's JdbcSourceConnector. Keys for features medstream does not implement
 * (`query`, `table.blacklist`, transforms, other modes) are absent or refused by their check, so a
 * file never means something different here than on a Connect cluster. Keys under `medstream.`
 * are ours; a Connect cluster logs them as unused and ignores them.
 */
const KEYS: KeyTable = {
  name: { check: isNonEmpty },
  'connector.class': { check: oneOf(...JDBC_SOURCE_CLASSES) },
  'tasks.max': { check: oneOf('1') },
  ...JDBC_CONNECTION_KEYS,
  'dialect.name': { check: oneOf('', 'PostgreSqlDatabaseDialect') },
  'table.whitelist': {},
  'table.include.list': {},
  'table.types': { check: oneOf('TABLE', 'VIEW', 'TABLE,VIEW') },
  mode: {
    check: (value, key) =>
      Object.values(JDBC_SOURCE_MODE).includes(value as JdbcSourceMode)
        ? undefined
        : `${key} must be incrementing or timestamp+incrementing (bulk and timestamp are not implemented; got "${value}")`,
  },
  'incrementing.column.name': { check: isSqlName },
  'timestamp.column.name': { check: isSqlName },
  'timestamp.delay.interval.ms': { check: isNonNegativeInt },
  'validate.non.null': { check: isBoolean },
  'poll.interval.ms': { check: isPositiveInt },
  'batch.max.rows': { check: isPositiveInt },
  'topic.prefix': { check: isNonEmpty },
  'db.timezone': {
    check: (value, key) => (value === 'UTC' ? undefined : `${key} must be UTC: clinical timestamps are UTC`),
  },
  'quote.sql.identifiers': { check: oneOf('always') },
  'numeric.mapping': { accepted: true },
  'key.converter': { check: oneOf('org.apache.kafka.connect.storage.StringConverter') },
  'value.converter': { check: oneOf('org.apache.kafka.connect.json.JsonConverter') },
  'value.converter.schemas.enable': { check: oneOf('false') },
  'medstream.mapping': {
    check: (value, key) =>
      /^[a-z0-9][a-z0-9-]{0,63}$/.test(value) ? undefined : `${key} must be a mapping id`,
  },
};

/**
 * Parses a Kafka Connect JDBC source file (`connectors/sources/*.json`) strictly: every problem at
 * once, naming the key. Whether the mapping exists and matches the table is checked against the
 * mapping registry by `resolveIncrementalSource`.
 */
export const parseJdbcSourceConfig = (input: unknown, source = 'connector config'): JdbcSourceConfig => {
  const { values, problems } = readConnectorKeys(input, KEYS, source);
  const tables = [...listOf(values['table.whitelist']), ...listOf(values['table.include.list'])];
  if (tables.length !== 1)
    problems.push('table.whitelist must name exactly one table (one mapping per connector)');
  const table = tables[0] ?? '';
  if (table && !SQL_NAME.test(table))
    problems.push(`table.whitelist must be a lower-case SQL name (got "${table}")`);
  const mode = (values.mode ?? '') as JdbcSourceMode;
  if (values.mode === undefined) problems.push('mode is required');
  const incrementingColumn = values['incrementing.column.name'];
  if (incrementingColumn === undefined) problems.push('incrementing.column.name is required');
  const timestampColumn = values['timestamp.column.name'];
  if (mode === JDBC_SOURCE_MODE.timestampIncrementing && timestampColumn === undefined) {
    problems.push('timestamp.column.name is required in timestamp+incrementing mode');
  }
  if (mode === JDBC_SOURCE_MODE.incrementing && timestampColumn !== undefined) {
    problems.push('timestamp.column.name is only read in timestamp+incrementing mode');
  }
  if (values['validate.non.null'] === 'false') {
    problems.push('validate.non.null must stay true: a NULL offset column would make rows unreachable');
  }
  const topicPrefix = values['topic.prefix'];
  if (topicPrefix === undefined) problems.push('topic.prefix is required');
  const mapping = values['medstream.mapping'];
  if (mapping === undefined) problems.push('medstream.mapping is required');
  failOnProblems(problems, source);
  return {
    name: values.name as string,
    mode,
    table,
    incrementingColumn: incrementingColumn as string,
    timestampColumn,
    timestampDelayMs: Number(values['timestamp.delay.interval.ms'] ?? 0),
    pollIntervalMs: Number(values['poll.interval.ms'] ?? 5000),
    batchMaxRows: Number(values['batch.max.rows'] ?? 100),
    mapping: mapping as string,
    topic: `${topicPrefix}${mapping}`,
  };
};
