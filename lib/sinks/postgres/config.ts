import {
  failOnProblems,
  isBoolean,
  isNonNegativeInt,
  isPositiveInt,
  JDBC_CONNECTION_KEYS,
  type KeyTable,
  listOf,
  oneOf,
  readConnectorKeys,
} from '../../connect/connector-keys';

/** How rows are written (JdbcSinkConfig `insert.mode`). */
export const INSERT_MODE = { insert: 'insert', upsert: 'upsert', update: 'update' } as const;
/** One insert.mode value. */
export type InsertMode = (typeof INSERT_MODE)[keyof typeof INSERT_MODE];

/** Where the primary key comes from (JdbcSinkConfig `pk.mode`). */
export const PK_MODE = {
  none: 'none',
  kafka: 'kafka',
  recordKey: 'record_key',
  recordValue: 'record_value',
} as const;
/** One pk.mode value. */
export type PkMode = (typeof PK_MODE)[keyof typeof PK_MODE];

/** The Kafka coordinates the JDBC sink uses as key columns under pk.mode kafka. */
export const DEFAULT_KAFKA_PK_NAMES = ['__connect_topic', '__connect_partition', '__connect_offset'] as const;

/** The placeholder `table.name.format` replaces with the topic (a Connect literal, not a JS template). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Kafka Connect's own placeholder syntax.
export const TOPIC_PLACEHOLDER = '${topic}';

/** A Kafka Connect JDBC sink configuration, parsed and validated. */
export type SinkConnectorConfig = {
  name: string;
  connectorClass: string;
  topics: readonly string[] | undefined;
  topicsRegex: RegExp | undefined;
  tableNameFormat: string;
  insertMode: InsertMode;
  pkMode: PkMode;
  pkFields: readonly string[];
  fieldsWhitelist: readonly string[];
  deleteEnabled: boolean;
  autoCreate: boolean;
  autoEvolve: boolean;
  batchSize: number;
  quoteIdentifiers: boolean;
  /** `errors.deadletterqueue.topic.name`, when set: where records that can never be written go. */
  deadLetterTopic: string | undefined;
};

const JDBC_SINK_CLASSES = [
  'io.confluent.connect.jdbc.JdbcSinkConnector',
  'io.aiven.connect.jdbc.JdbcSinkConnector',
] as const;
const AVRO_CONVERTERS = ['io.confluent.connect.avro.AvroConverter'] as const;

/**
 * Every key the file may hold. Unknown keys are rejected (a typo would otherwise silently change
 * the sink's behaviour); keys of features medstream does not implement (transforms, other
 * dialects) are rejected with a message saying so rather than ignored.
 */
const KEYS: KeyTable = {
  name: {},
  'connector.class': { check: oneOf(...JDBC_SINK_CLASSES) },
  'tasks.max': { check: isPositiveInt },
  topics: {},
  'topics.regex': {},
  'table.name.format': {},
  'insert.mode': { check: oneOf(...Object.values(INSERT_MODE)) },
  'pk.mode': { check: oneOf(...Object.values(PK_MODE)) },
  'pk.fields': {},
  'fields.whitelist': {},
  'delete.enabled': { check: isBoolean },
  'auto.create': { check: isBoolean },
  'auto.evolve': { check: isBoolean },
  'batch.size': { check: isPositiveInt },
  'quote.sql.identifiers': { check: oneOf('always', 'never') },
  'db.timezone': {
    check: (value, key) =>
      value === 'UTC' ? undefined : `${key} must be UTC: medstream writes timestamps in UTC`,
  },
  'dialect.name': { check: oneOf('', 'PostgreSqlDatabaseDialect') },
  'key.converter': { check: oneOf(...AVRO_CONVERTERS) },
  'value.converter': { check: oneOf(...AVRO_CONVERTERS) },
  'key.converter.schema.registry.url': { accepted: true },
  'value.converter.schema.registry.url': { accepted: true },
  'key.converter.basic.auth.credentials.source': { accepted: true },
  'key.converter.basic.auth.user.info': { accepted: true },
  'value.converter.basic.auth.credentials.source': { accepted: true },
  'value.converter.basic.auth.user.info': { accepted: true },
  'schema.registry.url': { accepted: true },
  ...JDBC_CONNECTION_KEYS,
  'max.retries': { check: isNonNegativeInt },
  'retry.backoff.ms': { check: isNonNegativeInt },
  'errors.tolerance': { check: oneOf('none', 'all') },
  'errors.deadletterqueue.topic.name': {},
  'errors.deadletterqueue.context.headers.enable': { check: isBoolean },
  'errors.deadletterqueue.topic.replication.factor': { check: isPositiveInt },
  'errors.log.enable': { check: isBoolean },
  'errors.log.include.messages': { check: isBoolean },
};

/**
 * Parses a Kafka Connect JDBC sink configuration (the JSON a Connect cluster accepts) strictly:
 * every problem is reported at once, naming the key.
 */
export const parseSinkConnectorConfig = (
  input: unknown,
  source = 'connector config',
): SinkConnectorConfig => {
  const { values, problems } = readConnectorKeys(input, KEYS, source);
  const name = values.name;

  const topics = values.topics === undefined ? undefined : listOf(values.topics);
  let topicsRegex: RegExp | undefined;
  if (values['topics.regex'] !== undefined) {
    try {
      // Java's Pattern.matches: the whole topic name must match.
      topicsRegex = new RegExp(`^(?:${values['topics.regex']})$`);
    } catch {
      problems.push(`topics.regex is not a valid regular expression: ${values['topics.regex']}`);
    }
  }
  if ((topics === undefined) === (values['topics.regex'] === undefined)) {
    problems.push('exactly one of topics or topics.regex must be set');
  }

  const insertMode = (values['insert.mode'] ?? INSERT_MODE.insert) as InsertMode;
  const pkMode = (values['pk.mode'] ?? PK_MODE.none) as PkMode;
  const pkFields = listOf(values['pk.fields']);
  const deleteEnabled = values['delete.enabled'] === 'true';
  if (deleteEnabled && pkMode !== PK_MODE.recordKey)
    problems.push('Deletes are only supported for pk.mode record_key');
  if (insertMode !== INSERT_MODE.insert && pkMode === PK_MODE.none) {
    problems.push(
      `insert.mode ${insertMode} needs a primary key: set pk.mode to kafka, record_key or record_value`,
    );
  }
  if (pkMode === PK_MODE.kafka && pkFields.length !== 0 && pkFields.length !== 3) {
    problems.push(
      `pk.mode kafka takes no pk.fields (defaults ${DEFAULT_KAFKA_PK_NAMES.join(',')}) or exactly 3`,
    );
  }
  if (pkMode === PK_MODE.none && pkFields.length > 0) problems.push('pk.fields is set but pk.mode is none');

  const tableNameFormat = values['table.name.format'] ?? TOPIC_PLACEHOLDER;
  if (tableNameFormat.length === 0) problems.push('table.name.format must not be empty');

  failOnProblems(problems, source);
  return {
    name: name as string,
    connectorClass: values['connector.class'] as string,
    topics,
    topicsRegex,
    tableNameFormat,
    insertMode,
    pkMode,
    pkFields,
    fieldsWhitelist: listOf(values['fields.whitelist']),
    deleteEnabled,
    autoCreate: values['auto.create'] === 'true',
    autoEvolve: values['auto.evolve'] === 'true',
    batchSize: Number(values['batch.size'] ?? 3000),
    quoteIdentifiers: (values['quote.sql.identifiers'] ?? 'always') === 'always',
    deadLetterTopic: values['errors.deadletterqueue.topic.name'],
  };
};

/** Whether the connector consumes a topic (`topics` list or the whole name matching `topics.regex`). */
export const subscribesTo = (config: SinkConnectorConfig, topic: string): boolean =>
  config.topics !== undefined ? config.topics.includes(topic) : (config.topicsRegex?.test(topic) ?? false);

/** The destination table of a topic: `table.name.format` with `${topic}` replaced. */
export const tableNameOf = (config: SinkConnectorConfig, topic: string): string =>
  config.tableNameFormat.replaceAll(TOPIC_PLACEHOLDER, topic);
