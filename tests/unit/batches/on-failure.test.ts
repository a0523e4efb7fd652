import { makeHandler } from '../../../functions/count-failures';
import type { LedgerEntry } from '../../../lib/batches/model';
import {
  parseFailureRecord,
  planFailureEntries,
  stageOf,
  summarizeFailures,
} from '../../../lib/batches/on-failure';
import { ParseError, UnavailableError } from '../../../lib/errors';
import type { KafkaEvent } from '../../../lib/kafka/event';
import { recordsOf } from '../../../lib/kafka/event';
import { PIPELINE_HEADERS } from '../../../lib/transform/messages';
import { collectingDeadLetters, kafkaEventOf, type RecordSpec } from '../transform/kafka-events';

const BATCH = '6f1d7c1e-0000-4000-8000-000000000001';
const NOW = new Date('2026-11-22T23:00:00.000Z');

const rawRecord: RecordSpec = {
  topic: 'raw.mimic-patient',
  partition: 2,
  offset: 17,
  key: '10006',
  value: { mapping: 'mimic-patient', key: 10006, rows: [{ subject_id: 10006 }] },
  headers: { [PIPELINE_HEADERS.batchId]: BATCH, [PIPELINE_HEADERS.mapping]: 'mimic-patient' },
};
const fhirRecord: RecordSpec = {
  topic: 'fhir.Patient',
  partition: 0,
  offset: 3,
  key: 'p-1',
  value: { resourceType: 'Patient', id: 'p-1' },
  headers: {
    [PIPELINE_HEADERS.batchId]: BATCH,
    [PIPELINE_HEADERS.mapping]: 'mimic-patient',
    [PIPELINE_HEADERS.rawRecord]: 'raw.mimic-patient/1/9',
  },
};

/** An on-failure record's value as the local plugin (failure.ts) and Lambda write it. */
const failureDocument = (spec: RecordSpec, condition = 'RetryAttemptsExhausted') => ({
  requestContext: {
    requestId: 'r-1',
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:medstream-local-transform',
    condition,
    approximateInvokeCount: 11,
  },
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  version: '1.0',
  timestamp: NOW.toISOString(),
  KafkaBatchInfo: {
    batchSize: 1,
    startOffset: spec.offset,
    endOffset: spec.offset,
    approximateArrivalOfFirstRecord: NOW.toISOString(),
    approximateArrivalOfLastRecord: NOW.toISOString(),
    topic: spec.topic,
    partition: spec.partition ?? 0,
  },
  payload: kafkaEventOf([spec]),
});

describe('parseFailureRecord', () => {
  it('finds the failed raw record, its condition and the transform stage', () => {
    const [failed, ...rest] = parseFailureRecord(failureDocument(rawRecord));
    expect(rest).toEqual([]);
    expect(failed).toMatchObject({ condition: 'RetryAttemptsExhausted', stage: 'transform' });
    expect(failed?.record).toMatchObject({ topic: 'raw.mimic-patient', partition: 2, offset: 17 });
  });

  it('names the load stage for a fhir record stamped with its raw record', () => {
    const [failed] = parseFailureRecord(failureDocument(fhirRecord, 'RecordAgeExceeded'));
    expect(failed).toMatchObject({ condition: 'RecordAgeExceeded', stage: 'load' });
  });

  it.each([
    ['a non-object', 'nope'],
    ['a document without payload', { requestContext: {} }],
    ['an empty payload', { payload: { records: {} } }],
    ['a group that is not an array', { payload: { records: { 'raw.x-0': {} } } }],
    [
      'a record without offset',
      { payload: { records: { 'raw.x-0': [{ topic: 'raw.x', partition: 0, headers: [] }] } } },
    ],
    [
      'a record with bad headers',
      {
        payload: {
          records: { 'raw.x-0': [{ topic: 'raw.x', partition: 0, offset: 1, headers: [{ a: 'b' }] }] },
        },
      },
    ],
  ])('rejects %s as a poison record', (_, value) => {
    expect(() => parseFailureRecord(value)).toThrow(ParseError);
  });
});

describe('planFailureEntries', () => {
  it('counts a given-up raw record as failed under the ledger id the stages use', () => {
    const entries = planFailureEntries([
      ...parseFailureRecord(failureDocument(rawRecord)),
      ...parseFailureRecord(failureDocument(fhirRecord)),
    ]);
    expect(entries).toEqual<LedgerEntry[]>([
      {
        _id: `${BATCH}|done|raw.mimic-patient/2/17`,
        batchId: BATCH,
        mapping: 'mimic-patient',
        stage: 'done',
        outcome: 'failed',
      },
      {
        _id: `${BATCH}|done|raw.mimic-patient/1/9`,
        batchId: BATCH,
        mapping: 'mimic-patient',
        stage: 'done',
        outcome: 'failed',
      },
    ]);
  });

  it('counts a redelivered failure record once and skips records of no batch', () => {
    const untracked = { ...rawRecord, offset: 18, headers: {} };
    const entries = planFailureEntries([
      ...parseFailureRecord(failureDocument(rawRecord)),
      ...parseFailureRecord(failureDocument(rawRecord)),
      ...parseFailureRecord(failureDocument(untracked)),
    ]);
    expect(entries.map((entry) => entry._id)).toEqual([`${BATCH}|done|raw.mimic-patient/2/17`]);
  });

  it('summarizes by stage and condition', () => {
    const failed = [
      ...parseFailureRecord(failureDocument(rawRecord)),
      ...parseFailureRecord(failureDocument(fhirRecord, 'RecordAgeExceeded')),
    ];
    expect(summarizeFailures(failed)).toEqual({
      'transform:RetryAttemptsExhausted': 1,
      'load:RecordAgeExceeded': 1,
    });
    expect(stageOf(failed[1]?.record ?? fail('record'))).toBe('load');
  });
});

describe('count-failures handler', () => {
  const failureEvent = (values: unknown[]): KafkaEvent =>
    kafkaEventOf(
      values.map((value, offset) => ({ topic: 'medstream.failed.transform', offset, value, headers: {} })),
    );

  it('records failed entries and dead-letters what it cannot parse', async () => {
    const recorded: LedgerEntry[][] = [];
    const { letters, sink } = collectingDeadLetters();
    const handler = makeHandler({
      ledger: {
        record: async (entries) => {
          recorded.push([...entries]);
          return { counted: entries.length };
        },
      },
      deadLetters: sink,
      functionName: 'count-failures-test',
      clock: () => NOW,
    });
    const event = failureEvent([failureDocument(rawRecord), { not: 'a failure record' }]);
    const response = await handler(event);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(recorded).toEqual([[expect.objectContaining({ outcome: 'failed', batchId: BATCH })]]);
    expect(letters).toHaveLength(1);
    expect(letters[0]?.record).toBe(recordsOf(event)[1]);
    expect(letters[0]?.reason.type).toBe('ParseError');
  });

  it('fails the delivery when the ledger is down, so it is retried', async () => {
    const { sink } = collectingDeadLetters();
    const handler = makeHandler({
      ledger: {
        record: async () => {
          throw new UnavailableError('batch tracking: cannot record outcomes');
        },
      },
      deadLetters: sink,
      functionName: 'count-failures-test',
      clock: () => NOW,
    });
    await expect(handler(failureEvent([failureDocument(rawRecord)]))).rejects.toThrow(UnavailableError);
  });
});
