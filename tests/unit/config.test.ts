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
