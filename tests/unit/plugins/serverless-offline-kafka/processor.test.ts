import type { KafkaEvent, KafkaEventRecord } from '../../../../lib/kafka/event';
import {
  backoffDelayMs,
  classifyResponse,
  type FailedRecords,
  type ProcessorSettings,
  processPartitionBatch,
} from '../../../../plugins/serverless-offline-kafka/src/processor';

const NOW = 1_700_000_000_000;

const recordsAt = (offsets: number[], timestamp = NOW): KafkaEventRecord[] =>
  offsets.map((offset) => ({
    topic: 't',
    partition: 0,
    offset,
    timestamp,
    timestampType: 'CREATE_TIME',
    value: Buffer.from(String(offset)).toString('base64'),
    headers: [],
  }));

const settings = (overrides: Partial<ProcessorSettings> = {}): ProcessorSettings => ({
  kind: 'kafka',
  bootstrapServers: 'b:9092',
  maximumRetryAttempts: -1,
  maximumRecordAgeMs: null,
  bisectBatchOnFunctionError: false,
  reportBatchItemFailures: false,
  retryBackoffBaseMs: 100,
  retryBackoffMaxMs: 1000,
  ...overrides,
});

const offsetsIn = (event: KafkaEvent): number[] =>
  Object.values(event.records)
    .flat()
    .map((record) => record.offset);

/** Runs the processor with fakes: `respond` decides each invocation's outcome. */
const run = async (
  records: KafkaEventRecord[],
  config: ProcessorSettings,
  respond: (offsets: number[], call: number) => unknown,
) => {
  const calls: number[][] = [];
  const commits: number[] = [];
  const failed: FailedRecords[] = [];
  const sleeps: number[] = [];
  const result = await processPartitionBatch(records, config, {
    invoke: async (event) => {
      const offsets = offsetsIn(event);
      calls.push(offsets);
      return respond(offsets, calls.length);
    },
    now: () => NOW,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    sendToDestination: async (entry) => {
      failed.push(entry);
    },
    commit: async (offset) => {
      commits.push(offset);
    },
    isRunning: () => calls.length < 100,
  });
  return { result, calls, commits, failed, sleeps };
};

describe('batch processing', () => {
  it('commits the batch once the function succeeds', async () => {
    const outcome = await run(recordsAt([0, 1, 2]), settings(), () => undefined);
    expect(outcome.calls).toEqual([[0, 1, 2]]);
    expect(outcome.commits).toEqual([2]);
    expect(outcome.result).toBe('completed');
  });

  it('retries the whole batch with backoff until it succeeds', async () => {
    const outcome = await run(recordsAt([0, 1]), settings(), (_offsets, call) => {
      if (call < 3) throw new Error('down');
    });
    expect(outcome.calls).toEqual([
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    expect(outcome.sleeps).toEqual([75, 150]);
    expect(outcome.commits).toEqual([1]);
  });

  it('sends the batch to the destination after MaximumRetryAttempts retries and commits past it', async () => {
    const outcome = await run(recordsAt([0, 1]), settings({ maximumRetryAttempts: 2 }), () => {
      throw new TypeError('bad');
    });
    expect(outcome.calls).toHaveLength(3);
    expect(outcome.failed).toEqual([
      {
        records: recordsAt([0, 1]),
        condition: 'RetryAttemptsExhausted',
        attempts: 3,
        error: { type: 'TypeError', message: 'bad' },
      },
    ]);
    expect(outcome.commits).toEqual([1]);
  });

  it('bisects a failing batch down to the poison record, which then gets its retries', async () => {
    const outcome = await run(
      recordsAt([0, 1, 2, 3]),
      settings({ bisectBatchOnFunctionError: true, maximumRetryAttempts: 1 }),
      (offsets) => {
        if (offsets.includes(2)) throw new Error('poison');
      },
    );
    expect(outcome.calls).toEqual([[0, 1, 2, 3], [0, 1], [2, 3], [2], [2], [3]]);
    expect(outcome.failed.map((entry) => entry.records.map((record) => record.offset))).toEqual([[2]]);
    expect(outcome.commits).toEqual([1, 2, 3]);
  });

  it('retries from the first failed offset of a partial batch response', async () => {
    const outcome = await run(
      recordsAt([0, 1, 2, 3]),
      settings({ reportBatchItemFailures: true }),
      (_offsets, call) =>
        call === 1
          ? {
              batchItemFailures: [
                { itemIdentifier: { partition: 't-0', offset: 3 } },
                { itemIdentifier: { partition: 't-0', offset: 1 } },
              ],
            }
          : {},
    );
    expect(outcome.calls).toEqual([
      [0, 1, 2, 3],
      [1, 2, 3],
    ]);
    expect(outcome.commits).toEqual([0, 3]);
  });

  it('sends only the reported records to the destination when partial retries run out', async () => {
    const outcome = await run(
      recordsAt([0, 1, 2]),
      settings({ reportBatchItemFailures: true, maximumRetryAttempts: 0 }),
      () => ({
        batchItemFailures: [{ itemIdentifier: { partition: 't-0', offset: 1 } }],
      }),
    );
    expect(outcome.calls).toEqual([[0, 1, 2]]);
    expect(outcome.failed.map((entry) => entry.records.map((record) => record.offset))).toEqual([[1]]);
    expect(outcome.commits).toEqual([0, 2]);
  });

  it('ignores a partial response unless ReportBatchItemFailures is enabled', async () => {
    const outcome = await run(recordsAt([0, 1]), settings(), () => ({
      batchItemFailures: [{ itemIdentifier: { partition: 't-0', offset: 0 } }],
    }));
    expect(outcome.calls).toHaveLength(1);
    expect(outcome.commits).toEqual([1]);
  });

  it('sends records older than the maximum age to the destination without invoking', async () => {
    const records = [...recordsAt([0, 1], NOW - 120_000), ...recordsAt([2], NOW - 1000)];
    const outcome = await run(records, settings({ maximumRecordAgeMs: 60_000 }), () => undefined);
    expect(outcome.failed).toEqual([
      { records: records.slice(0, 2), condition: 'RecordAgeExceeded', attempts: 0 },
    ]);
    expect(outcome.calls).toEqual([[2]]);
    expect(outcome.commits).toEqual([2]);
  });

  it('stops without committing when the consumer stops during retries', async () => {
    const commits: number[] = [];
    let running = true;
    const result = await processPartitionBatch(recordsAt([0]), settings(), {
      invoke: async () => {
        running = false;
        throw new Error('down');
      },
      now: () => NOW,
      sleep: async () => undefined,
      random: () => 0,
      sendToDestination: async () => undefined,
      commit: async (offset) => {
        commits.push(offset);
      },
      isRunning: () => running,
    });
    expect(result).toBe('stopped');
    expect(commits).toEqual([]);
  });
});

describe('handler responses', () => {
  const records = recordsAt([5, 6]);

  it('treats a missing or empty batchItemFailures as success', () => {
    expect(classifyResponse(undefined, records, true)).toEqual({ kind: 'success' });
    expect(classifyResponse({ batchItemFailures: [] }, records, true)).toEqual({ kind: 'success' });
    expect(classifyResponse({ batchItemFailures: null }, records, true)).toEqual({ kind: 'success' });
  });

  it('treats an identifier that names no record of the batch as a failed batch', () => {
    const outcome = classifyResponse(
      { batchItemFailures: [{ itemIdentifier: { partition: 't-0', offset: 9 } }] },
      records,
      true,
    );
    expect(outcome.kind).toBe('error');
    expect(classifyResponse({ batchItemFailures: [{}] }, records, true).kind).toBe('error');
    expect(classifyResponse({ batchItemFailures: 'x' }, records, true).kind).toBe('error');
  });

  it('returns the failed offsets sorted', () => {
    const outcome = classifyResponse(
      {
        batchItemFailures: [
          { itemIdentifier: { partition: 't-0', offset: 6 } },
          { itemIdentifier: { partition: 't-0', offset: '5' } },
        ],
      },
      records,
      true,
    );
    expect(outcome).toEqual({ kind: 'partial', failedOffsets: [5, 6] });
  });

  it('grows the backoff exponentially up to the maximum', () => {
    expect([1, 2, 3, 10].map((attempt) => backoffDelayMs(attempt, 100, 1000, 1))).toEqual([
      100, 200, 400, 1000,
    ]);
    expect(backoffDelayMs(1, 100, 1000, 0)).toBe(50);
  });
});
