/**
 * Batch tracking, the pure part. A batch is what one source run published (an extract, one
 * incremental poll that published anything, one CSV file); each of its raw records ends in exactly
 * one terminal outcome (loaded, failed or dropped), found by the ledger's unique `_id`.
 *
 * Units: every figure counts raw records (one raw record = one resource key of one mapping).
 * `extracted` = raw records the source had acknowledged by the broker; `transformed` = raw records
 * the transform published as a resource; `loaded` = raw records whose resource the load wrote (two
 * raw records of one id in one delivery are written once and both count: both reached the store);
 * `failed` = raw records dead-lettered by the transform or the load; `dropped` = raw records of a
 * cancelled batch that the transform or the load skipped.
 */
import { MedstreamError } from '../errors';

/** Lifecycle of a batch, as the API shows it. */
export const BATCH_STATES = {
  running: 'running',
  completed: 'completed',
  cancelled: 'cancelled',
} as const;
export type BatchState = (typeof BATCH_STATES)[keyof typeof BATCH_STATES];

/** Terminal outcomes of one raw record. */
export const RECORD_OUTCOMES = { loaded: 'loaded', failed: 'failed', dropped: 'dropped' } as const;
export type RecordOutcome = (typeof RECORD_OUTCOMES)[keyof typeof RECORD_OUTCOMES];

/** What a ledger entry records: the transform published the record, or the record reached an end. */
export const LEDGER_STAGES = { transformed: 'transformed', done: 'done' } as const;
export type LedgerStage = (typeof LEDGER_STAGES)[keyof typeof LEDGER_STAGES];

/** Which kind of source opened a batch. */
export type BatchOrigin = 'extract' | 'incremental-source' | 'csv-source';

/** The stored batch (`medstream_batches`): extracted counts live here, the rest is in the ledger. */
export type BatchDocument = {
  _id: string;
  origin: BatchOrigin;
  state: BatchState;
  /** True once the source has published everything it will: only then can the batch complete. */
  sealed: boolean;
  /** Raw records acknowledged by the broker, per mapping. */
  extracted: Record<string, number>;
  /** When the source last opened, counted or sealed the batch (absent on batches stored before it). */
  sourcedAt?: Date;
  /**
   * Sealed because its source stopped before sealing it (killed, timed out): the counts are what it
   * had published, and the batch completes once those records ended.
   */
  interrupted?: boolean;
  /** Why the source stopped early, when it failed (see describeSourceFailure): never an error's text. */
  failure?: string;
  /**
   * A hint, per mapping, of the records that ended (`$inc`ed after each ledger insert by what was
   * new): it only tells the consumers when the exact count is worth computing. It can lag (a crash
   * between the insert and the `$inc`), never lead; reads always count the ledger exactly.
   */
  ended?: Record<string, number>;
  createdAt: Date;
  updatedAt: Date;
  sealedAt?: Date;
  completedAt?: Date;
  cancelledAt?: Date;
  /**
   * The ledger's counts of the batch when it completed. Final: every record had ended, and a
   * redelivered one is never counted again, so reads take them instead of counting the ledger.
   */
  finalCounts?: LedgerCount[];
};

/**
 * One ledger entry (`medstream_batch_records`): `_id` is `batch|stage|raw record`, so inserting it
 * twice fails on the primary key and a redelivered record is never counted twice.
 */
export type LedgerEntry = {
  _id: string;
  batchId: string;
  mapping: string;
  stage: LedgerStage;
  /** Only for stage `done`. */
  outcome?: RecordOutcome;
};

/** Ledger entries counted by batch, mapping, stage and outcome. */
export type LedgerCount = {
  batchId: string;
  mapping: string;
  stage: LedgerStage;
  outcome?: RecordOutcome;
  count: number;
};

/** The per-resource (per-mapping) figures of a batch. */
export type ResourceCounts = {
  resource: string;
  extracted: number;
  transformed: number;
  loaded: number;
  failed: number;
  dropped: number;
};

/** What `GET /batches/{id}` answers. */
export type BatchView = {
  id: string;
  origin: BatchOrigin;
  state: BatchState;
  sealed: boolean;
  resources: ResourceCounts[];
  totals: Omit<ResourceCounts, 'resource'>;
  createdAt: string;
  updatedAt: string;
  /** The source stopped before it published everything (see BatchDocument.interrupted). */
  interrupted?: true;
  /** Why, when the source failed. */
  failure?: string;
  sealedAt?: string;
  completedAt?: string;
  cancelledAt?: string;
};

const BATCH_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Batch ids are UUIDs (randomUUID at every source). */
export const isBatchId = (value: string): boolean => BATCH_ID.test(value);

/** The ledger `_id` of a record at a stage: one per batch, stage and raw record. */
export const ledgerIdOf = (batchId: string, stage: LedgerStage, rawRecord: string): string =>
  `${batchId}|${stage}|${rawRecord}`;

const emptyCounts = (resource: string): ResourceCounts => ({
  resource,
  extracted: 0,
  transformed: 0,
  loaded: 0,
  failed: 0,
  dropped: 0,
});

/** The per-mapping figures of a batch from its document and its ledger counts, sorted by mapping. */
export const countResources = (
  document: Pick<BatchDocument, '_id' | 'extracted'>,
  counts: readonly LedgerCount[],
): ResourceCounts[] => {
  const byMapping = new Map<string, ResourceCounts>();
  const of = (mapping: string): ResourceCounts => {
    let entry = byMapping.get(mapping);
    if (entry === undefined) {
      entry = emptyCounts(mapping);
      byMapping.set(mapping, entry);
    }
    return entry;
  };
  for (const [mapping, extracted] of Object.entries(document.extracted)) of(mapping).extracted = extracted;
  for (const count of counts) {
    if (count.batchId !== document._id) continue;
    const entry = of(count.mapping);
    if (count.stage === LEDGER_STAGES.transformed) entry.transformed += count.count;
    else if (count.outcome !== undefined) entry[count.outcome] += count.count;
  }
  return [...byMapping.values()].sort((left, right) => left.resource.localeCompare(right.resource));
};

/**
 * A running batch completes once its source sealed it and, for every resource, the records that
 * reached an end (loaded + failed, + dropped) are at least those extracted. `≥`, not `=`: a producer
 * retry can deliver a raw record twice at two offsets, and both end (at-least-once), so a batch
 * with such a duplicate still completes rather than waiting for a count it already passed.
 */
export const isBatchDue = (
  document: Pick<BatchDocument, 'state' | 'sealed'>,
  resources: readonly ResourceCounts[],
): boolean =>
  document.state === BATCH_STATES.running &&
  document.sealed &&
  resources.every((entry) => entry.loaded + entry.failed + entry.dropped >= entry.extracted);

/**
 * How long a source may go without counting or sealing its batch and still be running: Lambda's
 * longest timeout, so past it the function was killed or timed out (or the process running it
 * stopped) before it sealed the batch, and nothing will seal it.
 */
export const SOURCE_SILENCE_LIMIT_MS = 15 * 60_000;

/** A running batch that its source will never seal (see SOURCE_SILENCE_LIMIT_MS). */
export const isInterrupted = (
  document: Pick<BatchDocument, 'state' | 'sealed' | 'sourcedAt' | 'updatedAt'>,
  now: Date,
): boolean =>
  document.state === BATCH_STATES.running &&
  !document.sealed &&
  now.getTime() - (document.sourcedAt ?? document.updatedAt).getTime() > SOURCE_SILENCE_LIMIT_MS;

/** Cheap pre-check on the hint: only a batch that may be due is counted exactly by a consumer. */
export const mayBeDue = (
  document: Pick<BatchDocument, 'state' | 'sealed' | 'extracted' | 'ended'>,
): boolean =>
  document.state === BATCH_STATES.running &&
  document.sealed &&
  Object.entries(document.extracted).every(
    ([mapping, extracted]) => (document.ended?.[mapping] ?? 0) >= extracted,
  );

/** The hint increments for newly inserted ledger entries: ended records per batch and mapping. */
export const planEndedIncrements = (
  inserted: readonly LedgerEntry[],
): Map<string, Record<string, number>> => {
  const increments = new Map<string, Record<string, number>>();
  for (const entry of inserted) {
    if (entry.stage !== LEDGER_STAGES.done) continue;
    const byMapping = increments.get(entry.batchId) ?? {};
    byMapping[entry.mapping] = (byMapping[entry.mapping] ?? 0) + 1;
    increments.set(entry.batchId, byMapping);
  }
  return increments;
};

/** The API view of a batch; `now` stands for completedAt when the batch is due but not yet marked. */
export const viewBatch = (document: BatchDocument, counts: readonly LedgerCount[], now: Date): BatchView => {
  const resources = countResources(document, counts);
  const due = isBatchDue(document, resources);
  const totals = resources.reduce(
    (sum, entry) => ({
      extracted: sum.extracted + entry.extracted,
      transformed: sum.transformed + entry.transformed,
      loaded: sum.loaded + entry.loaded,
      failed: sum.failed + entry.failed,
      dropped: sum.dropped + entry.dropped,
    }),
    { extracted: 0, transformed: 0, loaded: 0, failed: 0, dropped: 0 },
  );
  const completedAt = document.completedAt ?? (due ? now : undefined);
  return {
    id: document._id,
    origin: document.origin,
    state: due ? BATCH_STATES.completed : document.state,
    sealed: document.sealed,
    resources,
    totals,
    createdAt: document.createdAt.toISOString(),
    updatedAt: document.updatedAt.toISOString(),
    ...(document.interrupted === true ? { interrupted: true as const } : {}),
    ...(document.failure === undefined ? {} : { failure: document.failure }),
    ...(document.sealedAt === undefined ? {} : { sealedAt: document.sealedAt.toISOString() }),
    ...(completedAt === undefined ? {} : { completedAt: completedAt.toISOString() }),
    ...(document.cancelledAt === undefined ? {} : { cancelledAt: document.cancelledAt.toISOString() }),
  };
};

/**
 * What a batch says of the error its source stopped on: the kind, never the error's own text
 * (`GET /batches` is served over HTTP, and driver messages may quote values); the log has the rest.
 */
export const describeSourceFailure = (error: unknown): string =>
  error instanceof MedstreamError && error.retryable
    ? 'a service the source needs was unavailable; the source stopped (its log says which)'
    : `the source stopped on an error (${error instanceof Error ? error.name : 'unknown'}; its log has the details)`;

/** What cancelling a batch in a given state does. */
export const planCancel = (state: BatchState): 'cancel' | 'already-cancelled' | 'conflict' =>
  state === BATCH_STATES.running
    ? 'cancel'
    : state === BATCH_STATES.cancelled
      ? 'already-cancelled'
      : 'conflict';
