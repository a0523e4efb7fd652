import { describeError } from '../../../lib/errors';
import type { KafkaBatchResponse, KafkaEventRecord } from '../../../lib/kafka/event';
import { partitionKeyOf } from '../../../lib/kafka/event';
import type { EventSourceConfig } from './config';
import { buildEvent } from './event';

/** Why records left the mapping without a successful invocation (the `condition` of the failure record). */
export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded' | 'SchemaValidationFailed';

export type FailedRecords = {
  records: KafkaEventRecord[];
  condition: FailureCondition;
  /** Invocations made with these records (0 when they were never sent, e.g. too old). */
  attempts: number;
  error?: { type: string; message: string };
};

export type InvokeOutcome =
  | { kind: 'success' }
  | { kind: 'partial'; failedOffsets: number[] }
  | { kind: 'error'; error: unknown };

/** The ports the batch processor needs; the engine gives it Kafka, a test gives it fakes. */
export type ProcessorDeps = {
  invoke: (event: ReturnType<typeof buildEvent>) => Promise<unknown>;
  now: () => number;
  /** Waits between retries; implementations keep the consumer's session alive meanwhile. */
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** Publishes to the on-failure destination (or discards, when none is configured). */
  sendToDestination: (failed: FailedRecords) => Promise<void>;
  /** Every record up to and including `lastOffset` is done (delivered, filtered or sent to the destination). */
  commit: (lastOffset: number) => Promise<void>;
  isRunning: () => boolean;
  onInvocation?: (records: number, outcome: InvokeOutcome) => void;
};

export type ProcessorSettings = Pick<
  EventSourceConfig,
  | 'kind'
  | 'bootstrapServers'
  | 'eventSourceArn'
  | 'maximumRetryAttempts'
  | 'maximumRecordAgeMs'
  | 'bisectBatchOnFunctionError'
  | 'reportBatchItemFailures'
> & { retryBackoffBaseMs: number; retryBackoffMaxMs: number };

export class InvalidBatchResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidBatchResponseError';
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads a handler's response. Lambda ignores the response unless ReportBatchItemFailures is set; an
 * empty or missing `batchItemFailures` is a full success; an identifier that names no record of the
 * batch makes the whole batch a failure.
 */
export const classifyResponse = (
  response: unknown,
  records: KafkaEventRecord[],
  reportBatchItemFailures: boolean,
): InvokeOutcome => {
  if (!reportBatchItemFailures || !isObject(response)) return { kind: 'success' };
  const failures = (response as Partial<KafkaBatchResponse>).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) {
    return { kind: 'error', error: new InvalidBatchResponseError('batchItemFailures is not a list') };
  }
  if (failures.length === 0) return { kind: 'success' };
  const known = new Set(
    records.map((record) => `${partitionKeyOf(record.topic, record.partition)}@${record.offset}`),
  );
  const failedOffsets: number[] = [];
  for (const failure of failures as unknown[]) {
    const id = isObject(failure) ? failure.itemIdentifier : undefined;
    const offset = isObject(id) ? Number(id.offset) : Number.NaN;
    if (!isObject(id) || typeof id.partition !== 'string' || !known.has(`${id.partition}@${offset}`)) {
      return {
        kind: 'error',
        error: new InvalidBatchResponseError(
          `batchItemFailures names no record of the batch: ${JSON.stringify(id)}`,
        ),
      };
    }
    failedOffsets.push(offset);
  }
  return { kind: 'partial', failedOffsets: failedOffsets.sort((a, b) => a - b) };
};

/** Exponential backoff with jitter between base and max. */
export const backoffDelayMs = (attempt: number, baseMs: number, maxMs: number, random: number): number => {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
};

type Job = { records: KafkaEventRecord[]; attempts: number };

const lastOffsetOf = (records: KafkaEventRecord[]): number => records[records.length - 1]?.offset ?? -1;

/**
 * Delivers the records of ONE partition (offsets ascending) with Lambda's error handling: a failed
 * invocation retries the batch with backoff (or bisects it), a partial-batch response retries from
 * the first failed offset, and records that exhaust their retries or exceed the maximum age go to the
 * on-failure destination. Offsets are committed only behind records that are done, in order.
 * Returns 'stopped' when the consumer stops meanwhile (nothing further committed).
 */
export const processPartitionBatch = async (
  records: KafkaEventRecord[],
  settings: ProcessorSettings,
  deps: ProcessorDeps,
): Promise<'completed' | 'stopped'> => {
  const queue: Job[] = records.length > 0 ? [{ records, attempts: 0 }] : [];
  while (queue.length > 0) {
    if (!deps.isRunning()) return 'stopped';
    const job = queue[0] as Job;

    if (settings.maximumRecordAgeMs !== null) {
      const now = deps.now();
      const maxAge = settings.maximumRecordAgeMs;
      const expired = job.records.filter((record) => now - record.timestamp > maxAge);
      if (expired.length > 0) {
        await deps.sendToDestination({
          records: expired,
          condition: 'RecordAgeExceeded',
          attempts: job.attempts,
        });
        const lastOffset = lastOffsetOf(job.records);
        job.records = job.records.filter((record) => now - record.timestamp <= maxAge);
        if (job.records.length === 0) {
          queue.shift();
          await deps.commit(lastOffset);
          continue;
        }
      }
    }

    let outcome: InvokeOutcome;
    try {
      const response = await deps.invoke(buildEvent(settings, job.records));
      outcome = classifyResponse(response, job.records, settings.reportBatchItemFailures);
    } catch (error) {
      outcome = { kind: 'error', error };
    }
    deps.onInvocation?.(job.records.length, outcome);

    if (outcome.kind === 'success') {
      queue.shift();
      await deps.commit(lastOffsetOf(job.records));
      continue;
    }

    if (outcome.kind === 'error' && settings.bisectBatchOnFunctionError && job.records.length > 1) {
      // Splitting isolates a poison record; the split itself is not counted as a retry, so a bad
      // record ends up alone and then gets the configured retries.
      const middle = Math.ceil(job.records.length / 2);
      queue.splice(
        0,
        1,
        { records: job.records.slice(0, middle), attempts: job.attempts },
        { records: job.records.slice(middle), attempts: job.attempts },
      );
      continue;
    }

    if (outcome.kind === 'partial') {
      const firstFailed = outcome.failedOffsets[0] as number;
      const succeeded = job.records.filter((record) => record.offset < firstFailed);
      if (succeeded.length > 0) await deps.commit(lastOffsetOf(succeeded));
      job.records = job.records.filter((record) => record.offset >= firstFailed);
    }

    job.attempts += 1;
    const exhausted = settings.maximumRetryAttempts !== -1 && job.attempts > settings.maximumRetryAttempts;
    if (exhausted) {
      const failedSet = outcome.kind === 'partial' ? new Set(outcome.failedOffsets) : undefined;
      // After a partial response only the records the function reported failed are failures; the
      // others of the last attempt were processed.
      const failed = failedSet ? job.records.filter((record) => failedSet.has(record.offset)) : job.records;
      await deps.sendToDestination({
        records: failed,
        condition: 'RetryAttemptsExhausted',
        attempts: job.attempts,
        error: describeError(
          outcome.kind === 'error' ? outcome.error : new Error('the function reported batch item failures'),
        ),
      });
      queue.shift();
      await deps.commit(lastOffsetOf(job.records));
      continue;
    }
    await deps.sleep(
      backoffDelayMs(job.attempts, settings.retryBackoffBaseMs, settings.retryBackoffMaxMs, deps.random()),
    );
  }
  return 'completed';
};
