import { ConfigError } from '../../../../lib/errors';
import {
  parseSinkConnectorConfig,
  subscribesTo,
  TOPIC_PLACEHOLDER,
  tableNameOf,
} from '../../../../lib/sinks/postgres/config';

const base = {
  name: 'sink',
  'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
  'topics.regex': 'biometrics_(.*)',
};

const problemsOf = (input: unknown): string => {
  try {
    parseSinkConnectorConfig(input, 'test.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the config to be rejected');
};

describe('parseSinkConnectorConfig', () => {
  it('applies the JDBC sink defaults', () => {
    expect(parseSinkConnectorConfig(base)).toMatchObject({
      name: 'sink',
      tableNameFormat: TOPIC_PLACEHOLDER,
      insertMode: 'insert',
      pkMode: 'none',
      pkFields: [],
      fieldsWhitelist: [],
      deleteEnabled: false,
      autoCreate: false,
      autoEvolve: false,
      batchSize: 3000,
      quoteIdentifiers: true,
      deadLetterTopic: undefined,
    });
  });

  it('reads the REST form {name, config} and the Medrical flat form alike', () => {
    const { name, ...config } = base;
    expect(parseSinkConnectorConfig({ name, config })).toEqual(parseSinkConnectorConfig(base));
  });

  it('reads Connect string values and JSON values', () => {
    const parsed = parseSinkConnectorConfig({
      ...base,
      'auto.create': true,
      'batch.size': 500,
      'pk.mode': 'kafka',
      'pk.fields': 't, p ,o',
    });
    expect(parsed).toMatchObject({ autoCreate: true, batchSize: 500, pkFields: ['t', 'p', 'o'] });
  });

  it('rejects an unknown key and suggests the closest known one', () => {
    expect(problemsOf({ ...base, 'auto.evolv': 'true' })).toContain(
      'unknown key "auto.evolv" (did you mean "auto.evolve"?)',
    );
  });

  it('reports every problem at once, naming each key', () => {
    const message = problemsOf({
      ...base,
      'insert.mode': 'merge',
      'auto.create': 'yes',
      'batch.size': '0',
      transforms: 'x',
    });
    expect(message).toContain('insert.mode must be one of insert, upsert, update (got "merge")');
    expect(message).toContain('auto.create must be true or false (got "yes")');
    expect(message).toContain('batch.size must be a positive integer (got "0")');
    expect(message).toContain('unknown key "transforms"');
  });

  it('requires exactly one of topics and topics.regex', () => {
    const { 'topics.regex': _, ...withoutTopics } = base;
    expect(problemsOf(withoutTopics)).toContain('exactly one of topics or topics.regex must be set');
    expect(problemsOf({ ...base, topics: 'a' })).toContain(
      'exactly one of topics or topics.regex must be set',
    );
  });

  it('allows deletes only with pk.mode record_key, with the connector message', () => {
    expect(problemsOf({ ...base, 'delete.enabled': 'true', 'pk.mode': 'kafka' })).toContain(
      'Deletes are only supported for pk.mode record_key',
    );
    expect(
      parseSinkConnectorConfig({ ...base, 'delete.enabled': 'true', 'pk.mode': 'record_key' }).deleteEnabled,
    ).toBe(true);
  });

  it('needs a primary key for upsert and update', () => {
    expect(problemsOf({ ...base, 'insert.mode': 'upsert' })).toContain(
      'insert.mode upsert needs a primary key',
    );
    expect(problemsOf({ ...base, 'insert.mode': 'update' })).toContain(
      'insert.mode update needs a primary key',
    );
  });

  it('takes no pk.fields or exactly three under pk.mode kafka', () => {
    expect(problemsOf({ ...base, 'pk.mode': 'kafka', 'pk.fields': 'a,b' })).toContain(
      'pk.mode kafka takes no pk.fields',
    );
  });

  it('refuses other converters, dialects, connector classes and a non-UTC timezone', () => {
    const message = problemsOf({
      ...base,
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'dialect.name': 'MySqlDatabaseDialect',
      'connector.class': 'com.example.Other',
      'db.timezone': 'Europe/Athens',
    });
    expect(message).toContain('value.converter must be one of io.confluent.connect.avro.AvroConverter');
    expect(message).toContain('dialect.name must be one of');
    expect(message).toContain('connector.class must be one of');
    expect(message).toContain('db.timezone must be UTC');
  });

  it('refuses a non-object, and unknown keys beside name and config', () => {
    expect(problemsOf([])).toContain('a connector config must be a JSON object');
    expect(problemsOf({ name: 'x', config: {}, tasks: 1 })).toContain(
      'unknown key(s) beside "name" and "config": tasks',
    );
  });
});

describe('topic routing', () => {
  it('matches topics.regex against the whole topic name, as Java does', () => {
    const config = parseSinkConnectorConfig(base);
    expect(subscribesTo(config, 'biometrics_icu')).toBe(true);
    expect(subscribesTo(config, 'x_biometrics_icu')).toBe(false);
    expect(subscribesTo(parseSinkConnectorConfig({ ...base, 'topics.regex': 'bio' }), 'biometrics')).toBe(
      false,
    );
  });

  it('matches a topics list exactly', () => {
    const { 'topics.regex': _, ...rest } = base;
    const config = parseSinkConnectorConfig({ ...rest, topics: 'a, b' });
    expect([subscribesTo(config, 'a'), subscribesTo(config, 'b'), subscribesTo(config, 'c')]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('names the table with table.name.format', () => {
    expect(tableNameOf(parseSinkConnectorConfig(base), 'biometrics_icu')).toBe('biometrics_icu');
    expect(
      tableNameOf(
        parseSinkConnectorConfig({ ...base, 'table.name.format': `kafka_${TOPIC_PLACEHOLDER}` }),
        't',
      ),
    ).toBe('kafka_t');
  });
});
