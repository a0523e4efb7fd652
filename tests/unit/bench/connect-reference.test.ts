import { apicurioApiOf, connectorConfigOf, jdbcOf } from '../../../bench/connect-reference';

describe('the sink bench reference connector config', () => {
  it('turns a postgres:// URL into a JDBC URL and credentials, decoding escaped characters', () => {
    expect(jdbcOf('postgres://medstream:p%40ss%3Aword@db.example:6543/medstream_sink')).toEqual({
      'connection.url': 'jdbc:postgresql://db.example:6543/medstream_sink',
      'connection.username': 'medstream',
      'connection.password': 'p@ss:word',
    });
  });

  it("points Apicurio's converter at the registry's own API beside the Confluent-compatible one", () => {
    expect(apicurioApiOf('http://127.0.0.1:8081/apis/ccompat/v7')).toBe(
      'http://127.0.0.1:8081/apis/registry/v2',
    );
    expect(apicurioApiOf('http://registry:8080/apis/ccompat/v7/')).toBe(
      'http://registry:8080/apis/registry/v2',
    );
  });

  const options = {
    topic: 'biometrics_ward_a',
    table: 'readings',
    databaseUrl: 'postgres://u:pw@127.0.0.1:5432/sink',
    schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
  };

  it('completes the reference file for a topic and table, in insert mode without a primary key', () => {
    const config = connectorConfigOf({ ...options, mode: 'insert' });
    expect(config).toMatchObject({
      'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
      topics: 'biometrics_ward_a',
      'table.name.format': 'readings',
      'insert.mode': 'insert',
      'primary.key.mode': 'none',
      'batch.size': '10000',
      'tasks.max': '2',
      'connection.url': 'jdbc:postgresql://127.0.0.1:5432/sink',
      'key.converter.apicurio.registry.url': 'http://127.0.0.1:8081/apis/registry/v2',
      'value.converter.apicurio.registry.url': 'http://127.0.0.1:8081/apis/registry/v2',
    });
    // The file's comment is not a connector setting.
    expect(Object.keys(config)).not.toContain('//');
    expect(Object.values(config).every((value) => typeof value === 'string')).toBe(true);
  });

  it('upserts by the record key in upsert mode', () => {
    expect(connectorConfigOf({ ...options, mode: 'upsert' })).toMatchObject({
      'insert.mode': 'upsert',
      'primary.key.mode': 'record_key',
    });
  });
});
