import {
  planVerdicts,
  recordVerdicts,
  setAsideCancelled,
  trackExtracted,
} from '../../../lib/batches/tracking';
import { ParseError, UnavailableError } from '../../../lib/errors';
import { decodeKafkaEvent, jsonDecoder } from '../../../lib/kafka/records';
import { PIPELINE_HEADERS } from '../../../lib/transform/messages';
import { kafkaEventOf, recordingProducer } from '../transform/kafka-events';

const BATCH = '6f1d7c1e-0000-4000-8000-000000000001';
const CANCELLED = '6f1d7c1e-0000-4000-8000-000000000002';
const NOW = new Date('2026-11-22T23:00:00.000Z');
const headers = (batchId: string) => ({
  [PIPELINE_HEADERS.batchId]: batchId,
  [PIPELINE_HEADERS.mapping]: 'mimic-patient',
});

const decode = async () =>
  decodeKafkaEvent(
    kafkaEventOf([
      { topic: 'raw.mimic-patient', offset: 0, value: { a: 1 }, headers: headers(BATCH) },
      { topic: 'raw.mimic-patient', offset: 1, value: { a: 2 }, headers: headers(CANCELLED) },
      { topic: 'raw.mimic-patient', offset: 2, value: { a: 3 }, headers: headers(BATCH) },
    ]),
    { value: jsonDecoder },
  );

describe('trackExtracted', () => {
  it('counts a send per batch and mapping once the broker acknowledged it', async () => {
    const { producer, sent } = recordingProducer();
    const calls: unknown[] = [];
    const tracked = trackExtracted(
      producer,
      { addExtracted: async (...args) => void calls.push(args) },
      'csv-source',
      () => NOW,
    );
    await tracked.send('raw.mimic-patient', [
      { key: '1', value: '{}', headers: headers(BATCH) },
      { key: '2', value: '{}', headers: headers(BATCH) },
    ]);
    expect(sent).toHaveLength(1);
    expect(calls).toEqual([[BATCH, 'csv-source', 'mimic-patient', 2, NOW]]);
  });

  it('counts nothing when the send fails', async () => {
    const { producer } = recordingProducer(new UnavailableError('broker down'));
    const calls: unknown[] = [];
    const tracked = trackExtracted(
      producer,
      { addExtracted: async (...args) => void calls.push(args) },
      'extract',
      () => NOW,
    );
    await expect(
      tracked.send('raw.mimic-patient', [{ key: '1', value: '{}', headers: headers(BATCH) }]),
    ).rejects.toThrow(UnavailableError);
    expect(calls).toEqual([]);
  });
});

describe('setAsideCancelled', () => {
  it('sets aside the records of cancelled batches', async () => {
    const { records } = await decode();
    const { live, dropped } = await setAsideCancelled(records, {
      cancelledAmong: async (ids) => new Set(ids.filter((id) => id === CANCELLED)),
    });
    expect(live.map((record) => record.offset)).toEqual([0, 2]);
    expect(dropped.map((record) => record.offset)).toEqual([1]);
  });

  it('keeps every record live when batches are not tracked', async () => {
    const { records } = await decode();
    expect((await setAsideCancelled(records, undefined)).live).toHaveLength(3);
  });
});

describe('planVerdicts', () => {
  it('counts dropped records, dead-lettered failures and successes, never a record left for retry', async () => {
    const { records } = await decode();
    const [first, second, third] = records;
    if (first === undefined || second === undefined || third === undefined) throw new Error('records');
    const verdicts = planVerdicts({
      dropped: [second],
      failures: [
        { record: first.source, error: new ParseError('poison') },
        { record: third.source, error: new UnavailableError('down') },
      ],
      succeeded: [],
      success: 'loaded',
    });
    expect(
      verdicts.map((verdict) => [
        verdict.record.offset,
        verdict.stage,
        'outcome' in verdict ? verdict.outcome : null,
      ]),
    ).toEqual([
      [1, 'done', 'dropped'],
      [0, 'done', 'failed'],
    ]);
  });

  it('records a stage in one ledger write', async () => {
    const { records } = await decode();
    const writes: unknown[][] = [];
    const counted = await recordVerdicts(
      {
        record: async (entries) => {
          writes.push([...entries]);
          return { counted: entries.length };
        },
      },
      planVerdicts({ dropped: [], failures: [], succeeded: records, success: 'transformed' }),
      NOW,
    );
    expect(writes).toHaveLength(1);
    expect(counted).toBe(3);
  });
});
