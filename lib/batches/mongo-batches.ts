import { type Collection, type Db, MongoBulkWriteError } from 'mongodb';
import { UnavailableError } from '../errors';
import {
  BATCH_STATES,
  type BatchDocument,
  type BatchOrigin,
  type BatchState,
  type BatchView,
  countResources,
  isBatchDue,
  isInterrupted,
  type LedgerCount,
  type LedgerEntry,
  type LedgerStage,
  mayBeDue,
  planCancel,
  planEndedIncrements,
  type RecordOutcome,
  viewBatch,
} from './model';

/** The collections of batch tracking, in the FHIR store's database. */
export const BATCH_COLLECTIONS = {
  batches: 'medstream_batches',
  ledger: 'medstream_batch_records',
} as const;

/** What a source needs: open its batch, count what the broker acknowledged, seal it when done. */
export type BatchRegistry = {
  /** Creates the batch if it does not exist (idempotent). */
  open(batchId: string, origin: BatchOrigin, now: Date): Promise<void>;
  /** Adds acknowledged raw records of a mapping; creates the batch on the first publish. */
  addExtracted(
    batchId: string,
    origin: BatchOrigin,
    mapping: string,
    count: number,
    now: Date,
  ): Promise<void>;
  /**
   * The source published everything it will; completes the batch if everything already ended.
   * `failure` (describeSourceFailure): it stopped on an error, so the batch is marked interrupted.
   */
  seal(batchId: string, now: Date, failure?: string): Promise<void>;
};

/** What the transform and the load need: which batches are cancelled, and counting outcomes. */
export type BatchLedger = {
  cancelledAmong(batchIds: readonly string[]): Promise<Set<string>>;
  /** Inserts the entries (one that exists is not counted again), then completes batches now due. */
  record(entries: readonly LedgerEntry[], now: Date): Promise<{ counted: number }>;
};

/** What `/batches` serves. */
export type BatchReader = {
  list(filter: { state?: BatchState; limit: number }, now: Date): Promise<BatchView[]>;
  get(batchId: string, now: Date): Promise<BatchView | undefined>;
  cancel(
    batchId: string,
    now: Date,
  ): Promise<{ outcome: 'cancelled' | 'already-cancelled' | 'conflict'; view: BatchView } | undefined>;
};

export type BatchStore = BatchRegistry & BatchLedger & BatchReader;

const DUPLICATE_KEY = 11000;

const unavailableError = (what: string, cause: unknown): UnavailableError =>
  new UnavailableError(`batch tracking: cannot ${what}`, { cause });
const unavailable =
  (what: string) =>
  (cause: unknown): never => {
    throw unavailableError(what, cause);
  };

/**
 * Batch tracking on MongoDB. Exactness without transactions: the ledger (`_id` = batch | stage |
 * raw record) is the only per-record write and the counts are derived from it (an aggregation per
 * read), so a record is counted once however often it is delivered, and there is no second write
 * (an `$inc` after the insert) that a crash could leave undone. Extracted counts are `$inc`ed by the
 * source once per acknowledged send: a source never re-sends within one batch id (a retried run
 * gets a new id). Completion is persisted by whichever writer (seal, record, read) first sees the
 * batch due, with a `state: running` guard, so it is set once. A consumer's invocation costs one
 * read (cancelled batches), one ledger insertMany, one `$inc` of the `ended` hint per batch and one
 * read; the exact aggregation runs only when the hint says the batch may be due.
 */
export const createMongoBatchStore = (db: Db): BatchStore => {
  const batches: Collection<BatchDocument> = db.collection<BatchDocument>(BATCH_COLLECTIONS.batches);
  const ledger: Collection<LedgerEntry> = db.collection<LedgerEntry>(BATCH_COLLECTIONS.ledger);
  let indexed: Promise<void> | undefined;
  const ensureIndexes = (): Promise<void> => {
    indexed ??= Promise.all([
      ledger.createIndex({ batchId: 1, mapping: 1, stage: 1, outcome: 1 }, { name: 'counts' }),
      batches.createIndex({ createdAt: -1 }, { name: 'created' }),
    ])
      .then(() => undefined)
      .catch((cause: unknown) => {
        indexed = undefined;
        throw new UnavailableError('batch tracking: cannot create indexes', { cause });
      });
    return indexed;
  };

  /** The counts a batch stored when it completed, if it did. */
  const finalCountsOf = (document: BatchDocument): LedgerCount[] | undefined =>
    document.state === BATCH_STATES.completed ? document.finalCounts : undefined;

  /** The counts of these batches: stored for completed ones, counted in the ledger for the rest. */
  const countsOf = async (documents: readonly BatchDocument[]): Promise<LedgerCount[]> => {
    const final = documents.flatMap((document) => finalCountsOf(document) ?? []);
    const uncounted = documents.filter((document) => finalCountsOf(document) === undefined);
    return [...final, ...(await countLedger(uncounted.map((document) => document._id)))];
  };

  const countLedger = async (batchIds: readonly string[]): Promise<LedgerCount[]> => {
    if (batchIds.length === 0) return [];
    const groups = await ledger
      .aggregate<{
        _id: { batchId: string; mapping: string; stage: LedgerStage; outcome?: RecordOutcome | null };
        count: number;
      }>([
        { $match: { batchId: { $in: [...batchIds] } } },
        {
          $group: {
            _id: { batchId: '$batchId', mapping: '$mapping', stage: '$stage', outcome: '$outcome' },
            count: { $sum: 1 },
          },
        },
      ])
      .toArray()
      .catch(unavailable('count records'));
    return groups.map(({ _id, count }) => ({
      batchId: _id.batchId,
      mapping: _id.mapping,
      stage: _id.stage,
      ...(_id.outcome === undefined || _id.outcome === null ? {} : { outcome: _id.outcome }),
      count,
    }));
  };

  /** Marks due batches completed; returns the documents as they now are. */
  const settle = async (
    documents: readonly BatchDocument[],
    counts: readonly LedgerCount[],
    now: Date,
  ): Promise<BatchDocument[]> =>
    Promise.all(
      documents.map(async (document) => {
        const own = () => counts.filter((count) => count.batchId === document._id);
        if (document.state === BATCH_STATES.completed && document.finalCounts === undefined) {
          // Completed before the counts were stored with the batch: stored once now.
          const finalCounts = own();
          await batches
            .updateOne({ _id: document._id, state: BATCH_STATES.completed }, { $set: { finalCounts } })
            .catch(unavailable('store the counts of a batch'));
          return { ...document, finalCounts };
        }
        if (!isBatchDue(document, countResources(document, counts))) return document;
        const updated = await batches
          .findOneAndUpdate(
            { _id: document._id, state: BATCH_STATES.running },
            {
              $set: {
                state: BATCH_STATES.completed,
                completedAt: now,
                updatedAt: now,
                finalCounts: own(),
              },
            },
            { returnDocument: 'after' },
          )
          .catch(unavailable('complete a batch'));
        return updated ?? document;
      }),
    );

  /** Seals the batches whose source stopped without sealing them; returns the documents as they now are. */
  const sealInterrupted = (documents: readonly BatchDocument[], now: Date): Promise<BatchDocument[]> =>
    Promise.all(
      documents.map(async (document) => {
        if (!isInterrupted(document, now)) return document;
        const updated = await batches
          .findOneAndUpdate(
            { _id: document._id, state: BATCH_STATES.running, sealed: false },
            { $set: { sealed: true, interrupted: true, sealedAt: now, updatedAt: now } },
            { returnDocument: 'after' },
          )
          .catch(unavailable('seal an interrupted batch'));
        return updated ?? document;
      }),
    );

  /** The views of these batches: interrupted ones sealed, due ones completed first. */
  const viewsOf = async (found: readonly BatchDocument[], now: Date): Promise<BatchView[]> => {
    const documents = await sealInterrupted(found, now);
    const counts = await countsOf(documents);
    const settled = await settle(documents, counts, now);
    return settled.map((document) => viewBatch(document, counts, now));
  };

  const refresh = async (batchIds: readonly string[], now: Date): Promise<BatchView[]> => {
    if (batchIds.length === 0) return [];
    const documents = await batches
      .find({ _id: { $in: [...batchIds] } })
      .toArray()
      .catch(unavailable('read batches'));
    return viewsOf(documents, now);
  };

  return {
    async open(batchId, origin, now) {
      await batches
        .updateOne(
          { _id: batchId },
          {
            $setOnInsert: {
              origin,
              state: BATCH_STATES.running,
              sealed: false,
              extracted: {},
              createdAt: now,
              updatedAt: now,
              sourcedAt: now,
            },
          },
          { upsert: true },
        )
        .catch(unavailable('open a batch'));
    },

    async addExtracted(batchId, origin, mapping, count, now) {
      await batches
        .updateOne(
          { _id: batchId },
          {
            $setOnInsert: { origin, state: BATCH_STATES.running, sealed: false, createdAt: now },
            // Mapping ids are kebab-case (mapping schema): a safe field name.
            $inc: { [`extracted.${mapping}`]: count },
            $set: { updatedAt: now, sourcedAt: now },
          },
          { upsert: true },
        )
        .catch(unavailable('count extracted records'));
    },

    async seal(batchId, now, failure) {
      const result = await batches
        .updateOne(
          { _id: batchId },
          {
            $set: {
              sealed: true,
              sealedAt: now,
              updatedAt: now,
              sourcedAt: now,
              ...(failure === undefined ? {} : { interrupted: true, failure }),
            },
          },
        )
        .catch(unavailable('seal a batch'));
      if (result.matchedCount > 0) await refresh([batchId], now);
    },

    async cancelledAmong(batchIds) {
      if (batchIds.length === 0) return new Set();
      const cancelled = await batches
        .find({ _id: { $in: [...batchIds] }, state: BATCH_STATES.cancelled }, { projection: { _id: 1 } })
        .toArray()
        .catch(unavailable('read batch states'));
      return new Set(cancelled.map((document) => document._id));
    },

    async record(entries, now) {
      if (entries.length === 0) return { counted: 0 };
      await ensureIndexes();
      let inserted: LedgerEntry[];
      try {
        await ledger.insertMany([...entries], { ordered: false });
        inserted = [...entries];
      } catch (error) {
        // Unordered: every entry is attempted; the ones that exist fail on _id and were counted before.
        if (!(error instanceof MongoBulkWriteError)) throw unavailableError('record outcomes', error);
        const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
        if (
          error.writeConcernError !== undefined ||
          writeErrors.some((writeError) => writeError.code !== DUPLICATE_KEY)
        ) {
          throw unavailableError('record outcomes', error);
        }
        const insertedIndexes = new Set(Object.keys(error.insertedIds ?? {}).map(Number));
        inserted = entries.filter((_, index) => insertedIndexes.has(index));
      }
      const increments = planEndedIncrements(inserted);
      if (increments.size > 0) {
        await batches
          .bulkWrite(
            [...increments].map(([batchId, byMapping]) => ({
              updateOne: {
                filter: { _id: batchId },
                update: {
                  $inc: Object.fromEntries(
                    Object.entries(byMapping).map(([mapping, count]) => [`ended.${mapping}`, count]),
                  ),
                  $set: { updatedAt: now },
                },
              },
            })),
            { ordered: false },
          )
          .catch(unavailable('hint ended records'));
        // The exact count (an aggregation over the batch's ledger) only for batches that may be due.
        const candidates = await batches
          .find({ _id: { $in: [...increments.keys()] }, state: BATCH_STATES.running, sealed: true })
          .toArray()
          .catch(unavailable('read batches'));
        await refresh(
          candidates.filter((document) => mayBeDue(document)).map((document) => document._id),
          now,
        );
      }
      return { counted: inserted.length };
    },

    async list(filter, now) {
      const documents = await batches
        .find(filter.state === undefined ? {} : { state: filter.state })
        .sort({ createdAt: -1, _id: 1 })
        .limit(filter.limit)
        .toArray()
        .catch(unavailable('list batches'));
      return viewsOf(documents, now);
    },

    async get(batchId, now) {
      const [view] = await refresh([batchId], now);
      return view;
    },

    async cancel(batchId, now) {
      const [view] = await refresh([batchId], now);
      if (view === undefined) return undefined;
      const plan = planCancel(view.state);
      if (plan !== 'cancel') return { outcome: plan, view };
      const updated = await batches
        .findOneAndUpdate(
          { _id: batchId, state: BATCH_STATES.running },
          { $set: { state: BATCH_STATES.cancelled, cancelledAt: now, updatedAt: now } },
          { returnDocument: 'after' },
        )
        .catch(unavailable('cancel a batch'));
      const [after] = await refresh([batchId], now);
      if (after === undefined) return undefined;
      // Lost the race to a completion: the batch ended before it could be cancelled.
      if (updated !== null) return { outcome: 'cancelled', view: after };
      return {
        outcome: after.state === BATCH_STATES.cancelled ? 'already-cancelled' : 'conflict',
        view: after,
      };
    },
  };
};
