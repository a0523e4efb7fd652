import { checkCsvDrops } from '../../../lib/connectors/drops';
import { ConfigError } from '../../../lib/errors';

const events = [{ bucket: 'medstream-drops', prefix: 'incoming/', suffix: '.csv' }];
const connector = (inputPath: string, bucket = 'medstream-drops') => ({ name: 'csv-x', bucket, inputPath });

describe('csv drops', () => {
  it('accepts connectors reading under a prefix an event delivers, in its bucket', () => {
    expect(() => checkCsvDrops([connector('incoming/'), connector('incoming/labs/')], events)).not.toThrow();
    expect(() => checkCsvDrops([connector('anything/')], [{ bucket: 'medstream-drops' }])).not.toThrow();
  });

  it('refuses one no event delivers, naming it and what the events cover', () => {
    const check = () => checkCsvDrops([connector('incoming/'), connector('drops/')], events);
    expect(check).toThrow(ConfigError);
    expect(check).toThrow(
      'connector csv-x reads s3://medstream-drops/drops/, where no S3 event of csvSource delivers drops (s3://medstream-drops/incoming/)',
    );
    expect(() => checkCsvDrops([connector('incoming/', 'other-bucket')], events)).toThrow(/other-bucket/);
    expect(() => checkCsvDrops([connector('incoming/')], [])).toThrow(/\(none\)$/);
  });
});
