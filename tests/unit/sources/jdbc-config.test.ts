import { ConfigError } from '../../../lib/errors';
import { parseJdbcSourceConfig } from '../../../lib/sources/jdbc-config';

const base = {
  name: 'patients-changes',
  config: {
    'connector.class': 'io.confluent.connect.jdbc.JdbcSourceConnector',
    'connection.url': 'jdbc:postgresql://127.0.0.1:5432/clinical',
    'table.whitelist': 'patients',
    mode: 'timestamp+incrementing',
    'timestamp.column.name': 'updated_at',
    'incrementing.column.name': 'subject_id',
    'topic.prefix': 'raw.',
    'medstream.mapping': 'mimic-patient',
  },
};
const withConfig = (config: Record<string, unknown>) => ({ ...base, config: { ...base.config, ...config } });

describe('parseJdbcSourceConfig', () => {
  it('reads a Connect REST body with Connect defaults and the raw topic of the mapping', () => {
    expect(parseJdbcSourceConfig(base)).toEqual({
      name: 'patients-changes',
      mode: 'timestamp+incrementing',
      table: 'patients',
      incrementingColumn: 'subject_id',
      timestampColumn: 'updated_at',
      timestampDelayMs: 0,
      pollIntervalMs: 5000,
      batchMaxRows: 100,
      mapping: 'mimic-patient',
      topic: 'raw.mimic-patient',
    });
  });

  it('reads a flat properties object and numbers given as JSON numbers', () => {
    const parsed = parseJdbcSourceConfig({ name: 'flat', ...base.config, 'batch.max.rows': 7 });
    expect(parsed.batchMaxRows).toBe(7);
  });

  it('rejects an unknown key, naming it', () => {
    expect(() => parseJdbcSourceConfig(withConfig({ 'timestamp.colum.name': 'x' }))).toThrow(
      /unknown key "timestamp.colum.name"/,
    );
  });

  it('refuses the modes and keys it does not implement instead of ignoring them', () => {
    expect(() => parseJdbcSourceConfig(withConfig({ mode: 'bulk' }))).toThrow(
      /bulk and timestamp are not implemented/,
    );
    expect(() => parseJdbcSourceConfig(withConfig({ query: 'SELECT 1' }))).toThrow(/unknown key "query"/);
    expect(() => parseJdbcSourceConfig(withConfig({ 'table.whitelist': 'a,b' }))).toThrow(
      /exactly one table/,
    );
  });

  it('needs a timestamp column in timestamp+incrementing mode and none in incrementing mode', () => {
    const { 'timestamp.column.name': _, ...rest } = base.config;
    expect(() => parseJdbcSourceConfig({ name: 'x', config: rest })).toThrow(
      /timestamp.column.name is required/,
    );
    expect(() => parseJdbcSourceConfig(withConfig({ mode: 'incrementing' }))).toThrow(
      /only read in timestamp/,
    );
  });

  it('lists every problem in one ConfigError', () => {
    const error = (() => {
      try {
        parseJdbcSourceConfig(
          withConfig({ 'batch.max.rows': '0', 'tasks.max': '2', 'db.timezone': 'Europe/Paris' }),
        );
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/batch.max.rows.*tasks.max.*db.timezone/);
  });
});
