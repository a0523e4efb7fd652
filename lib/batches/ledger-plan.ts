import type { OutgoingMessage } from '../kafka/client';
import { headersOf, type KafkaEventRecord } from '../kafka/event';
import { PIPELINE_HEADERS } from '../transform/messages';
import { LEDGER_STAGES, type LedgerEntry, ledgerIdOf, type RecordOutcome } from './model';

/** What a stage decided about one delivered record, for counting. */
export type RecordVerdict =
  | { record: KafkaEventRecord; stage: typeof LEDGER_STAGES.transformed }
  | { record: KafkaEventRecord; stage: typeof LEDGER_STAGES.done; outcome: RecordOutcome };

/**
 * The raw record a delivered record stands for: the transform stamps `medstream-raw-record` on what
 * it publishes (so the load and the DLQ letters count the raw record, not a copy); a raw record is
 * itself. Kafka coordinates are what the event source mapping redelivers, so they are the identity.
 */
export const rawRecordOf = (record: KafkaEventRecord, headers = headersOf(record)): string =>
  headers[PIPELINE_HEADERS.rawRecord] ?? `${record.topic}/${record.partition}/${record.offset}`;

/** The batch a delivered record belongs to, if its source named one. */
export const batchIdOf = (record: KafkaEventRecord): string | undefined =>
  headersOf(record)[PIPELINE_HEADERS.batchId];

/** Distinct batch ids of delivered records. */
export const batchIdsOf = (records: readonly KafkaEventRecord[]): string[] => [
  ...new Set(records.map(batchIdOf).filter((id): id is string => id !== undefined)),
];

/**
 * Ledger entries for a stage's verdicts: one per record of a batch (records without a batch header
 * are not tracked), deduplicated within the call by `_id` (the store dedupes across calls).
 */
export const planLedgerEntries = (verdicts: readonly RecordVerdict[]): LedgerEntry[] => {
  const entries = new Map<string, LedgerEntry>();
  for (const verdict of verdicts) {
    const headers = headersOf(verdict.record);
    const batchId = headers[PIPELINE_HEADERS.batchId];
    if (batchId === undefined) continue;
    const id = ledgerIdOf(batchId, verdict.stage, rawRecordOf(verdict.record, headers));
    if (entries.has(id)) continue;
    entries.set(id, {
      _id: id,
      batchId,
      mapping: headers[PIPELINE_HEADERS.mapping] ?? 'unknown',
      stage: verdict.stage,
      ...(verdict.stage === LEDGER_STAGES.done ? { outcome: verdict.outcome } : {}),
    });
  }
  return [...entries.values()];
};

/** Messages published in one send, counted per batch and mapping (from their headers). */
export const countPublished = (
  messages: readonly OutgoingMessage[],
): { batchId: string; mapping: string; count: number }[] => {
  const counts = new Map<string, { batchId: string; mapping: string; count: number }>();
  for (const message of messages) {
    const batchId = message.headers?.[PIPELINE_HEADERS.batchId];
    const mapping = message.headers?.[PIPELINE_HEADERS.mapping];
    if (typeof batchId !== 'string' || typeof mapping !== 'string') continue;
    const key = `${batchId}|${mapping}`;
    const entry = counts.get(key) ?? { batchId, mapping, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return [...counts.values()];
};
