import { parseConfig } from '../../lib/config';

describe('parseConfig', () => {
  it('defaults to the native local stack', () => {
    const config = parseConfig({});
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.SCHEMA_REGISTRY_URL).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(config.SIMULATOR_WARDS).toEqual(['default']);
  });

  it('splits a broker list and trims it', () => {
    expect(parseConfig({ KAFKA_BROKERS: 'a:9092, b:9092' }).KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
  });

  it('refuses a broker without a port and a database URL of another scheme, naming the form wanted', () => {
    expect(parseConfig({ KAFKA_BROKERS: '[::1]:9092,kafka-1.internal:9096' }).KAFKA_BROKERS).toEqual([
      '[::1]:9092',
      'kafka-1.internal:9096',
    ]);
    expect(() => parseConfig({ KAFKA_BROKERS: 'a:9092,kafka' })).toThrow(
      /KAFKA_BROKERS: must be host:port, comma-separated/,
    );
    expect(() => parseConfig({ KAFKA_BROKERS: 'http://a:9092' })).toThrow(/KAFKA_BROKERS/);
    expect(parseConfig({ DATABASE_URL: 'postgresql://u@db/sink' }).DATABASE_URL).toBe(
      'postgresql://u@db/sink',
    );
    expect(() => parseConfig({ DATABASE_URL: 'mysql://u@db/sink' })).toThrow(
      /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/,
    );
    expect(() => parseConfig({ CLINICAL_DATABASE_URL: 'db:5432/clinical' })).toThrow(/CLINICAL_DATABASE_URL/);
  });

  it('reads the simulated wards as a list of topic suffixes', () => {
    expect(parseConfig({ SIMULATOR_WARDS: 'icu, er,' }).SIMULATOR_WARDS).toEqual(['icu', 'er']);
    expect(() => parseConfig({ SIMULATOR_WARDS: 'icu,er-2' })).toThrow(
      /SIMULATOR_WARDS.*wards are topic suffixes: letters, digits, _/,
    );
    expect(() => parseConfig({ SIMULATOR_WARDS: ' , ' })).toThrow(
      /SIMULATOR_WARDS: at least one ward is required/,
    );
  });

  it('names every invalid variable', () => {
    expect(() => parseConfig({ SCHEMA_REGISTRY_URL: 'not a url', SIMULATOR_PATIENTS: '0' })).toThrow(
      /SCHEMA_REGISTRY_URL.*SIMULATOR_PATIENTS|SIMULATOR_PATIENTS.*SCHEMA_REGISTRY_URL/,
    );
  });
});
