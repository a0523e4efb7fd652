import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  connectUrlOf,
  DEFAULT_SETTINGS,
  readSettings,
  redactUrl,
  settingProblem,
  toConfig,
  writeSettings,
} from '../../../cli/settings';

const tempFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'medstream-settings-')), '.medstream.json');

describe('CLI settings', () => {
  it('uses the local-stack defaults when there is no file', () => {
    expect(readSettings(tempFile())).toEqual(DEFAULT_SETTINGS);
  });

  it('fails on a missing file the user named, saying how to write it', () => {
    const file = tempFile();
    expect(() => readSettings(file, { required: true })).toThrow(
      `${file}: no such settings file (\`medstream --config ${file} configure\` writes it)`,
    );
    writeFileSync(file, '{}');
    expect(readSettings(file, { required: true })).toEqual(DEFAULT_SETTINGS);
  });

  it('writes the file readable by its owner only and reads it back', () => {
    const file = tempFile();
    writeSettings(file, { ...DEFAULT_SETTINGS, patients: 50, wards: ['icu', 'cardio'] });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readSettings(file)).toMatchObject({ patients: 50, wards: ['icu', 'cardio'] });
  });

  it('rejects unknown keys and bad values, naming them', () => {
    const file = tempFile();
    writeFileSync(file, JSON.stringify({ patiens: 3, wards: ['no spaces'] }));
    expect(() => readSettings(file)).toThrow(/Unrecognized key\(s\) in object: 'patiens'/);
    writeFileSync(file, JSON.stringify({ wards: ['no spaces'] }));
    expect(() => readSettings(file)).toThrow(/wards\.0: wards are topic suffixes/);
  });

  it('names the file when it is not JSON', () => {
    const file = tempFile();
    writeFileSync(file, '{not json');
    expect(() => readSettings(file)).toThrow(`${file}: not valid JSON (`);
  });

  it('refuses to write invalid settings, naming the file and the field', () => {
    const file = tempFile();
    expect(() => writeSettings(file, { ...DEFAULT_SETTINGS, wards: [] })).toThrow(
      `${file}: wards: Array must contain at least 1 element(s)`,
    );
  });

  it('never prints a password', () => {
    expect(redactUrl('postgres://medstream:s3cr3t@db:5432/sink')).toBe(
      'postgres://medstream:****@db:5432/sink',
    );
    expect(redactUrl('postgres://db:5432/sink')).toBe('postgres://db:5432/sink');
  });

  it('takes the Kafka Connect URL from KAFKA_CONNECT_URL, else the settings, without a trailing slash', () => {
    const settings = { ...DEFAULT_SETTINGS, connectUrl: 'http://connect.example:8083/' };
    expect(connectUrlOf({}, settings)).toBe('http://connect.example:8083');
    expect(connectUrlOf({ KAFKA_CONNECT_URL: 'http://other:18083' }, settings)).toBe('http://other:18083');
    expect(connectUrlOf({})).toBe('http://127.0.0.1:8083');
  });

  it('says why a value cannot be a setting, as the prompts check each answer', () => {
    expect(settingProblem('kafkaBrokers', '127.0.0.1:9092, b:9093')).toBeUndefined();
    expect(settingProblem('kafkaBrokers', 'localhost')).toMatch(/must be host:port/);
    expect(settingProblem('schemaRegistryUrl', 'abc')).toMatch(/Invalid url/);
    expect(settingProblem('databaseUrl', 'postgres://u:p@db:5432/sink')).toBeUndefined();
    expect(settingProblem('databaseUrl', 'mysql://u:p@db/sink')).toMatch(/postgres:\/\//);
    expect(() => writeSettings(tempFile(), { ...DEFAULT_SETTINGS, kafkaBrokers: 'kafka' })).toThrow(
      /kafkaBrokers: must be host:port/,
    );
  });

  it('lets environment variables win over the file', () => {
    const config = toConfig(
      { ...DEFAULT_SETTINGS, kafkaBrokers: 'file:9092', wards: ['a', 'b'] },
      { KAFKA_BROKERS: 'env:9092' },
    );
    expect(config.KAFKA_BROKERS).toEqual(['env:9092']);
    expect(config.SIMULATOR_WARDS).toEqual(['a', 'b']);
    expect(
      JSON.parse(readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')).bin.medstream,
    ).toBe('bin/medstream.js');
  });
});
