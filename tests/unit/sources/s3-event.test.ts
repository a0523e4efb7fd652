import type { S3Event } from 'aws-lambda';
import {
  buildObjectCreatedEvent,
  createdObjectsOf,
  decodeS3Key,
  encodeS3Key,
} from '../../../lib/sources/s3-event';

const NOW = new Date('2026-11-22T23:00:00.000Z');

describe('S3 event keys', () => {
  it('decodes keys as S3 encodes them in notifications: spaces as +, the rest percent-encoded', () => {
    expect(decodeS3Key('incoming/lab+results+%282026%29.csv')).toBe('incoming/lab results (2026).csv');
    expect(decodeS3Key('incoming/a%2Bb.csv')).toBe('incoming/a+b.csv');
    expect(decodeS3Key('incoming/caf%C3%A9.csv')).toBe('incoming/café.csv');
  });

  it('round-trips keys through encodeS3Key', () => {
    for (const key of ['incoming/a b+c.csv', 'incoming/x/y/é (1).csv', 'incoming/plain.csv']) {
      expect(decodeS3Key(encodeS3Key(key))).toBe(key);
    }
    expect(encodeS3Key('incoming/a b.csv')).toBe('incoming/a+b.csv');
  });

  it('refuses a key that is not URL-encoded, as a parse error', () => {
    expect(() => decodeS3Key('incoming/%E0%A4%A.csv')).toThrow(
      expect.objectContaining({ name: 'ParseError' }),
    );
  });
});

describe('createdObjectsOf', () => {
  it('reads the created objects of an event and skips other event types', () => {
    const event = buildObjectCreatedEvent(
      [
        { bucket: 'drops', key: 'incoming/a b.csv', size: 3, eTag: '"abc"' },
        { bucket: 'drops', key: 'incoming/c.csv', size: 4, eTag: 'def' },
      ],
      { region: 'eu-west-3', now: NOW },
    );
    const removed = structuredClone(event.Records[1]) as S3Event['Records'][number];
    removed.eventName = 'ObjectRemoved:Delete';
    expect(createdObjectsOf({ Records: [event.Records[0] as S3Event['Records'][number], removed] })).toEqual([
      { bucket: 'drops', key: 'incoming/a b.csv', size: 3, eventName: 'ObjectCreated:Put' },
    ]);
  });

  it('builds the notification shape Lambda receives', () => {
    const [record] = buildObjectCreatedEvent(
      [{ bucket: 'drops', key: 'incoming/a b.csv', size: 3, eTag: '"abc"' }],
      {
        region: 'eu-west-3',
        now: NOW,
      },
    ).Records;
    expect(record).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'eu-west-3',
      eventTime: '2026-11-22T23:00:00.000Z',
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: 'drops', arn: 'arn:aws:s3:::drops' },
        object: { key: 'incoming/a+b.csv', size: 3, eTag: 'abc' },
      },
    });
    expect(record?.s3.object.sequencer).toMatch(/^[0-9A-F]+$/);
  });

  it('refuses something that is not an S3 event', () => {
    expect(() => createdObjectsOf({} as S3Event)).toThrow(/not an S3 event/);
  });
});
