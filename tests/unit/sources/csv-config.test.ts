import { parseCsvSourceConfig } from '../../../lib/sources/csv-config';

const base = {
  name: 'csv-patients',
  config: {
    'connector.class': 'io.medstream.connect.s3.CsvSourceConnector',
    'medstream.s3.bucket': 'medstream-drops',
    'input.path': 'incoming/',
    topic: 'raw.mimic-patient',
    'medstream.mapping': 'mimic-patient',
  },
};
const withConfig = (config: Record<string, unknown>) => ({ ...base, config: { ...base.config, ...config } });

describe('parseCsvSourceConfig', () => {
  it('fills SpoolDir-like defaults: header row, comma, double quote, finished/ and error/', () => {
    expect(parseCsvSourceConfig(base)).toMatchObject({
      bucket: 'medstream-drops',
      inputPath: 'incoming/',
      finishedPath: 'finished/',
      errorPath: 'error/',
      header: true,
      columns: [],
      separator: ',',
      quote: '"',
      skipLines: 0,
      encoding: 'utf8',
      batchSize: 500,
    });
    expect(parseCsvSourceConfig(base).filePattern.test('a.csv')).toBe(true);
  });

  it('reads typed columns', () => {
    const parsed = parseCsvSourceConfig(
      withConfig({ 'medstream.csv.columns': 'subject_id:integer, gender' }),
    );
    expect(parsed.columns).toEqual([
      { name: 'subject_id', type: 'integer' },
      { name: 'gender', type: 'string' },
    ]);
  });

  it('matches input.file.pattern against the whole file name', () => {
    const parsed = parseCsvSourceConfig(withConfig({ 'input.file.pattern': 'patients.*\\.csv' }));
    expect(parsed.filePattern.test('patients-1.csv')).toBe(true);
    expect(parsed.filePattern.test('old/patients-1.csv.bak')).toBe(false);
  });

  it.each([
    [{ 'csv.separator.char': ';;' }, /single character/],
    [{ 'csv.file.charset': 'EBCDIC' }, /csv.file.charset must be one of UTF-8, ISO-8859-1/],
    [{ 'medstream.csv.columns': 'a:date' }, /type of a must be one of/],
    [{ 'csv.first.row.as.header': 'false' }, /medstream.csv.columns is required/],
    [{ 'finished.path': 'incoming/done/' }, /must not contain one another/],
    [{ 'input.path': '/incoming' }, /key prefix ending in/],
    [{ 'kafka.topic': 'x' }, /unknown key "kafka.topic"/],
    [
      { 'connector.class': 'com.github.jcustenborder.kafka.connect.spooldir.SpoolDirCsvSourceConnector' },
      /must be io.medstream/,
    ],
  ])('rejects %j', (config, message) => {
    expect(() => parseCsvSourceConfig(withConfig(config))).toThrow(message);
  });
});
