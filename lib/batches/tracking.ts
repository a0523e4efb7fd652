import { isRetryable } from '../errors';
import type { MessageProducer } from '../kafka/client';
import type { DecodedRecord, RecordFailure } from '../kafka/records';
import { batchIdOf, batchIdsOf, countPublished, planLedgerEntries, type RecordVerdict } from './ledger-plan';
import { type BatchOrigin, LEDGER_STAGES, RECORD_OUTCOMES } from './model';
import type { BatchLedger, BatchRegistry } from './mongo-batches';

/**
 * A producer whose acknowledged sends count as extracted records of the batches named in their
 * headers, after the broker acknowledged them (a failed send counts nothing). The first count of a
 * batch creates it, so a poll that publishes nothing registers no batch.
 */
export const trackExtracted = (
  producer: Pick<MessageProducer, 'send'>,
  registry: Pick<BatchRegistry, 'addExtracted'>,
  origin: BatchOrigin,
  clock: () => Date,
): Pick<MessageProducer, 'send'> => ({
  async send(topic, messages) {
    await producer.send(topic, messages);
    // One update per batch and mapping of the send: off the per-record path.
    for (const { batchId, mapping, count } of countPublished(messages)) {
      await registry.addExtracted(batchId, origin, mapping, count, clock());
    }
  },
});

/**
 * Sets aside the records of cancelled batches (to be dropped and counted); one read per delivery.
 * Without a ledger (batches not tracked) every record is live.
 */
export const setAsideCancelled = async (
  records: readonly DecodedRecord[],
  ledger: Pick<BatchLedger, 'cancelledAmong'> | undefined,
): Promise<{ live: DecodedRecord[]; dropped: DecodedRecord[] }> => {
  if (ledger === undefined) return { live: [...records], dropped: [] };
  const cancelled = await ledger.cancelledAmong(batchIdsOf(records.map((record) => record.source)));
  if (cancelled.size === 0) return { live: [...records], dropped: [] };
  const live: DecodedRecord[] = [];
  const dropped: DecodedRecord[] = [];
  for (const record of records) {
    const batchId = batchIdOf(record.source);
    (batchId !== undefined && cancelled.has(batchId) ? dropped : live).push(record);
  }
  return { live, dropped };
};

/** Verdicts of a stage: dropped records, dead-lettered failures (retryable ones end later) and successes. */
export const planVerdicts = (options: {
  dropped: readonly DecodedRecord[];
  failures: readonly RecordFailure[];
  succeeded: readonly DecodedRecord[];
  success: typeof LEDGER_STAGES.transformed | typeof RECORD_OUTCOMES.loaded;
}): RecordVerdict[] => [
  ...options.dropped.map(
    (record): RecordVerdict => ({
      record: record.source,
      stage: LEDGER_STAGES.done,
      outcome: RECORD_OUTCOMES.dropped,
    }),
  ),
  ...options.failures
    .filter((failure) => !isRetryable(failure.error))
    .map(
      (failure): RecordVerdict => ({
        record: failure.record,
        stage: LEDGER_STAGES.done,
        outcome: RECORD_OUTCOMES.failed,
      }),
    ),
  ...options.succeeded.map(
    (record): RecordVerdict =>
      options.success === LEDGER_STAGES.transformed
        ? { record: record.source, stage: LEDGER_STAGES.transformed }
        : { record: record.source, stage: LEDGER_STAGES.done, outcome: RECORD_OUTCOMES.loaded },
  ),
];

/**
 * Records a stage's verdicts in one ledger write. Called after the DLQ was written (settleBatch), so
 * a failure is counted only once it is really dead-lettered; if this write fails, the delivery
 * fails (retryable) and is counted on the redelivery, the ledger keeping it from counting twice.
 */
export const recordVerdicts = async (
  ledger: Pick<BatchLedger, 'record'> | undefined,
  verdicts: readonly RecordVerdict[],
  now: Date,
): Promise<number> => {
  if (ledger === undefined) return 0;
  const entries = planLedgerEntries(verdicts);
  if (entries.length === 0) return 0;
  return (await ledger.record(entries, now)).counted;
};

/**
 * A registry created on first use. The CSV source streams files in a small heap: the MongoDB
 * driver (about 6 MB of heap) is loaded only when a drop actually publishes, not at cold start.
 */
export const createLazyBatchRegistry = (create: () => Promise<BatchRegistry>): BatchRegistry => {
  let registry: Promise<BatchRegistry> | undefined;
  const get = (): Promise<BatchRegistry> => {
    registry ??= create().catch((error: unknown) => {
      registry = undefined;
      throw error;
    });
    return registry;
  };
  return {
    open: async (...args) => (await get()).open(...args),
    addExtracted: async (...args) => (await get()).addExtracted(...args),
    seal: async (...args) => (await get()).seal(...args),
  };
};
