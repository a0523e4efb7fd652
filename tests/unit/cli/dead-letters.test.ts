import type { KafkaMessage } from 'kafkajs';
import {
  deadLetterJson,
  describeBytes,
  formatDeadLetter,
  replayCaution,
  toDeadLetter,
} from '../../../cli/dead-letters';
import { parseSinkConnectorConfig, TOPIC_PLACEHOLDER } from '../../../lib/sinks/postgres/config';

const message = (
  headers: KafkaMessage['headers'],
  value: Buffer | null = Buffer.from('{"a":1}'),
): KafkaMessage =>
  ({
    key: Buffer.from('P1'),
    value,
    timestamp: String(Date.parse('2026-11-24T10:00:00.000Z')),
    attributes: 0,
    offset: '41',
    size: 0,
    headers,
  }) as KafkaMessage;

/** The `medstream.dlq.*` headers the functions' DLQ publisher writes, from their short names. */
const dlqHeaders = (fields: Record<string, string>): Record<string, Buffer> =>
  Object.fromEntries(
    Object.entries(fields).map(([name, value]) => [`medstream.dlq.${name}`, Buffer.from(value)]),
  );

describe('toDeadLetter', () => {
  it('reads the reason and origin headers, and keeps the original headers apart', () => {
    const letter = toDeadLetter(
      1,
      message({
        'medstream-batch-id': Buffer.from('b-1'),
        ...dlqHeaders({
          function: 'medstream-local-transform',
          'reason.type': 'MappingError',
          'reason.message': 'gender: missing',
          'source.topic': 'raw.mimic-patient',
          'source.partition': '2',
          'source.offset': '17',
          'source.timestamp': '1795000000000',
        }),
      }),
    );
    expect(letter).toMatchObject({
      partition: 1,
      offset: '41',
      function: 'medstream-local-transform',
      reason: { type: 'MappingError', message: 'gender: missing' },
      source: { topic: 'raw.mimic-patient', partition: 2, offset: '17', timestamp: 1_795_000_000_000 },
    });
    expect(Object.keys(letter.headers)).toEqual(['medstream-batch-id']);
    expect(formatDeadLetter(letter)).toEqual([
      '2026-11-24T10:00:00.000Z 1@41 medstream-local-transform ← raw.mimic-patient[2]@17: MappingError: gender: missing',
      '    key "P1" value "{\\"a\\":1}" headers medstream-batch-id',
    ]);
    expect(deadLetterJson(letter)).toMatchObject({
      key: Buffer.from('P1').toString('base64'),
      headers: { 'medstream-batch-id': Buffer.from('b-1').toString('base64') },
    });
  });

  it('shows a record written without the headers (by hand) as of unknown origin', () => {
    const letter = toDeadLetter(0, message(undefined, null));
    expect(letter).toMatchObject({
      function: 'unknown',
      reason: { type: 'unknown', message: '' },
      source: undefined,
    });
    expect(formatDeadLetter(letter)[0]).toBe(
      '2026-11-24T10:00:00.000Z 0@41 unknown ← source unknown: unknown: ',
    );
    expect(formatDeadLetter(letter)[1]).toBe('    key "P1" value null');
  });
  it('says which dead letter a replayed record that failed again came from', () => {
    const letter = toDeadLetter(
      0,
      message(
        dlqHeaders({
          function: 'medstream-local-transform',
          'reason.type': 'TransformError',
          'reason.message': 'unit: rejected',
          'source.topic': 'raw.a',
          'source.partition': '0',
          'source.offset': '2',
          'replayed-from': 'medstream.dlq/0/3',
        }),
      ),
    );
    expect(formatDeadLetter(letter)[0]).toBe(
      '2026-11-24T10:00:00.000Z 0@41 medstream-local-transform ← raw.a[0]@2 (replayed from medstream.dlq/0/3): TransformError: unit: rejected',
    );
    expect(deadLetterJson(letter).replayedFrom).toBe('medstream.dlq/0/3');
  });
});

describe('describeBytes', () => {
  it('prints text as a JSON string, cut at the limit', () => {
    expect(describeBytes(Buffer.from('ok\ttab\nline'))).toBe('"ok\\ttab\\nline"');
    expect(describeBytes(Buffer.from('x'.repeat(10)), 4)).toBe('"xxxx…"');
  });

  it('prints binary (Avro in the Confluent wire format, invalid UTF-8) as its size and leading bytes', () => {
    expect(describeBytes(Buffer.from([0, 0, 0, 0, 1, 2]))).toBe('6 bytes (000000000102)');
    expect(describeBytes(Buffer.from([0xff, 0xfe]))).toBe('2 bytes (fffe)');
    expect(describeBytes(Buffer.alloc(20, 0xab))).toBe(`20 bytes (${'ab'.repeat(16)}…)`);
    expect(describeBytes(null)).toBe('null');
  });
});

describe('replayCaution', () => {
  const sink = (config: Record<string, string>) =>
    parseSinkConnectorConfig({
      name: 'vitals',
      'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
      'topics.regex': 'biometrics_(.*)',
      'table.name.format': `${TOPIC_PLACEHOLDER}_latest`,
      ...config,
    });

  it('warns that a replay replaces rows when the sink writes the topic by key', () => {
    const upsert = sink({ 'insert.mode': 'upsert', 'pk.mode': 'record_key' });
    expect(replayCaution(upsert, 'biometrics_icu')).toBe(
      "note: vitals writes biometrics_icu with insert.mode upsert: a replayed record replaces its key's row in biometrics_icu_latest, even where a newer record for that key was written since",
    );
    expect(
      replayCaution(sink({ 'insert.mode': 'update', 'pk.mode': 'record_key' }), 'biometrics_icu'),
    ).toMatch(/insert\.mode update/);
  });

  it('says nothing for appended rows or a topic the sink does not read', () => {
    expect(
      replayCaution(sink({ 'insert.mode': 'insert', 'pk.mode': 'kafka' }), 'biometrics_icu'),
    ).toBeUndefined();
    const upsert = sink({ 'insert.mode': 'upsert', 'pk.mode': 'record_key' });
    expect(replayCaution(upsert, 'raw.mimic-patient')).toBeUndefined();
  });
});
