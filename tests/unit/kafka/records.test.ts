import { ParseError, UnavailableError } from '../../../lib/errors';
import type { KafkaEvent } from '../../../lib/kafka/event';
import { type DeadLetterSink, decodeKafkaEvent, jsonDecoder, settleBatch } from '../../../lib/kafka/records';
import { logger } from '../../../lib/logger';
import fixture from '../../fixtures/self-managed-kafka-event.json';

const event = fixture as KafkaEvent;

const collectingDlq = () => {
  const letters: Parameters<DeadLetterSink['deadLetter']>[0] = [];
  return {
    letters,
    sink: { deadLetter: async (batch) => void letters.push(...batch) } satisfies DeadLetterSink,
  };
};

describe('decodeKafkaEvent', () => {
  it('decodes base64 keys, values and byte-array headers in delivery order', async () => {
    const { records } = await decodeKafkaEvent(event, { value: jsonDecoder });
    expect(records[0]).toMatchObject({
      topic: 'raw.patients',
      partition: 0,
      offset: 15,
      correlationId: 'raw.patients-0-15',
      key: '10013',
      value: { subject_id: 10013 },
      headers: { 'medstream-batch-id': 'b1' },
    });
    expect(records.map((record) => record.correlationId)).toEqual(['raw.patients-0-15', 'raw.patients-1-3']);
  });

  it('returns a null value for a tombstone and a null key when the record has none', async () => {
    const { records } = await decodeKafkaEvent(event, { value: jsonDecoder });
    expect(records[1]).toMatchObject({ key: null, value: null });
  });

  it('reports a record it cannot parse as a non-retryable failure', async () => {
    const { failures } = await decodeKafkaEvent(event, { value: jsonDecoder });
    expect(failures).toHaveLength(1);
    expect(failures[0]?.record.offset).toBe(16);
    expect(failures[0]?.error).toMatchObject({ name: 'ParseError', retryable: false });
  });

  it('passes through a value the event source already decoded (EventRecordFormat JSON)', async () => {
    const decoded = structuredClone(event);
    const first = decoded.records['raw.patients-0']?.[0];
    if (first === undefined) throw new Error('fixture changed');
    (first as { value: unknown }).value = { subject_id: 1 };
    const { records } = await decodeKafkaEvent(decoded, { value: jsonDecoder });
    expect(records[0]?.value).toEqual({ subject_id: 1 });
  });
});

describe('settleBatch', () => {
  it('dead-letters poison records with the reason and reports retryable ones as item failures', async () => {
    const { failures } = await decodeKafkaEvent(event, { value: jsonDecoder });
    const retryable = {
      record: event.records['raw.patients-1']?.[0],
      error: new UnavailableError('db down'),
    };
    if (retryable.record === undefined) throw new Error('fixture changed');
    const dlq = collectingDlq();

    const response = await settleBatch([...failures, { record: retryable.record, error: retryable.error }], {
      deadLetters: dlq.sink,
      functionName: 'transform',
    });

    expect(dlq.letters).toHaveLength(1);
    expect(dlq.letters[0]).toMatchObject({
      functionName: 'transform',
      reason: { type: 'ParseError', message: 'value is not valid JSON' },
    });
    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: { partition: 'raw.patients-1', offset: 3 } }],
    });
  });

  it('logs failures once per cause, with their count, dead-lettered and retried apart', async () => {
    const record = event.records['raw.patients-0']?.[0];
    if (record === undefined) throw new Error('fixture changed');
    const at = (offset: number) => ({ ...record, offset });
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      await settleBatch(
        [
          ...[1, 2, 3].map((offset) => ({ record: at(offset), error: new UnavailableError('db down') })),
          { record: at(4), error: new UnavailableError('disk full') },
          { record: at(5), error: new ParseError('bad') },
          { record: at(6), error: new ParseError('bad') },
        ],
        { deadLetters: collectingDlq().sink, functionName: 'f' },
      );
      expect(warn.mock.calls).toEqual([
        [
          'records failed, to be retried',
          expect.objectContaining({
            records: 3,
            first: 'raw.patients-0-1',
            last: 'raw.patients-0-3',
            error: expect.objectContaining({ message: 'db down' }),
          }),
        ],
        [
          'records failed, to be retried',
          expect.objectContaining({
            records: 1,
            first: 'raw.patients-0-4',
            error: expect.objectContaining({ message: 'disk full' }),
          }),
        ],
        [
          'records dead-lettered',
          expect.objectContaining({
            records: 2,
            first: 'raw.patients-0-5',
            last: 'raw.patients-0-6',
            retryable: false,
            error: expect.objectContaining({ message: 'bad' }),
          }),
        ],
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('treats an unknown error as retryable so nothing is dropped', async () => {
    const record = event.records['raw.patients-0']?.[0];
    if (record === undefined) throw new Error('fixture changed');
    const dlq = collectingDlq();
    const response = await settleBatch([{ record, error: new Error('boom') }], {
      deadLetters: dlq.sink,
      functionName: 'f',
    });
    expect(dlq.letters).toHaveLength(0);
    expect(response.batchItemFailures).toHaveLength(1);
  });

  it('fails the batch when the dead-letter queue cannot be written', async () => {
    const record = event.records['raw.patients-0']?.[0];
    if (record === undefined) throw new Error('fixture changed');
    const broken: DeadLetterSink = {
      deadLetter: async () => {
        throw new UnavailableError('kafka down');
      },
    };
    await expect(
      settleBatch([{ record, error: new ParseError('bad') }], { deadLetters: broken, functionName: 'f' }),
    ).rejects.toThrow('kafka down');
  });
});
