import type { AnyBulkWriteOperation, Db, Document } from 'mongodb';
import { UnavailableError } from '../errors';
import type { FhirStore } from '../mongo/fhir-store';
import { indexesOnce } from '../mongo/indexes';
import {
  applyReferences,
  type Binding,
  findUnboundReferences,
  type IdentifierReference,
  identifierKeyOf,
  identifierLookupFilter,
  identifiersOf,
  type PendingReference,
  pendingIdOf,
  planBindingUpdate,
  planPendingReferences,
  planTargetBindings,
  resolveTargets,
  type TargetCandidate,
} from './plan';

/** Where references wait for their target. */
export const PENDING_REFERENCES = 'medstream_pending_references';

/** The port the binding store needs: look targets up, remember what waits, bind. */
export type ReferenceBinder = {
  /** `Type/<id>` by `targetType` and `system|value`, for the references given. */
  resolve(
    references: readonly IdentifierReference[],
  ): Promise<(targetType: string, key: string) => string | undefined>;
  savePending(pending: readonly PendingReference[]): Promise<void>;
  /** Pending references of a target type waiting for any of these identifier keys. */
  pendingFor(targetType: string, keys: readonly string[]): Promise<PendingReference[]>;
  /** Applies the guarded updates, then forgets the pending entries they settle. */
  bind(bindings: readonly Binding[], settled: readonly PendingReference[]): Promise<void>;
};

const unavailable = (what: string, cause: unknown) =>
  new UnavailableError(`reference binding: cannot ${what}`, { cause });

const failWith = (what: string) => (cause: unknown) => {
  throw unavailable(what, cause);
};

/**
 * The index a target type gets when references look it up: identifier values alone. The lookup
 * filter bounds the store's `identifier` index (system, value) on the system only, its fields being
 * in one array and the filter having no `$elemMatch` (which SecantusDB runs as a collection scan):
 * on MongoDB that reads every target of the system per lookup. `$in` points on the values alone
 * read only the candidates. Created on the first lookup of a type in a container, so collections
 * nothing references (Observation) pay nothing on their writes.
 */
export const TARGET_VALUE_INDEX = { name: 'identifier-value', key: { 'identifier.value': 1 } } as const;

/** The binder on MongoDB: targets in their type's collection, pending entries in one collection. */
export const createMongoReferenceBinder = (db: Db): ReferenceBinder => {
  const pendingCollection = db.collection<PendingReference>(PENDING_REFERENCES);
  const ensureTargetIndex = indexesOnce(db, [TARGET_VALUE_INDEX], (targetType, cause) =>
    unavailable(`index ${targetType} by identifier value`, cause),
  );
  const ensurePendingIndex = indexesOnce(
    db,
    [{ name: 'target', key: { targetType: 1, key: 1 } }],
    (_, cause) => unavailable('create the pending index', cause),
  );
  const ensureIndex = () => ensurePendingIndex(PENDING_REFERENCES);
  return {
    async resolve(references) {
      const byType = new Map<string, IdentifierReference[]>();
      for (const reference of references) {
        byType.set(reference.targetType, [...(byType.get(reference.targetType) ?? []), reference]);
      }
      const resolved = new Map<string, Map<string, string>>();
      await Promise.all(
        [...byType].map(async ([targetType, wanted]) => {
          await ensureTargetIndex(targetType);
          const candidates = (await db
            .collection(targetType)
            .find(identifierLookupFilter(wanted), { projection: { _id: 1, identifier: 1 } })
            .toArray()
            .catch(failWith(`look ${targetType} up by identifier`))) as Document[];
          resolved.set(
            targetType,
            resolveTargets(
              candidates.map(
                (candidate): TargetCandidate => ({
                  id: String(candidate._id),
                  identifier: candidate.identifier,
                }),
              ),
              targetType,
            ),
          );
        }),
      );
      return (targetType, key) => resolved.get(targetType)?.get(key);
    },

    async savePending(pending) {
      if (pending.length === 0) return;
      await ensureIndex();
      await pendingCollection
        .bulkWrite(
          pending.map(({ _id, ...fields }) => ({
            updateOne: { filter: { _id }, update: { $set: fields }, upsert: true },
          })),
          { ordered: false },
        )
        .catch(failWith('save pending references'));
    },

    async pendingFor(targetType, keys) {
      if (keys.length === 0) return [];
      await ensureIndex();
      return pendingCollection
        .find({ targetType, key: { $in: [...keys] } })
        .toArray()
        .catch(failWith('read pending references'));
    },

    async bind(bindings, settled) {
      const bySource = new Map<string, AnyBulkWriteOperation<Document>[]>();
      for (const binding of bindings) {
        const { filter, update } = planBindingUpdate(binding);
        const operations = bySource.get(binding.sourceType) ?? [];
        operations.push({ updateOne: { filter, update } });
        bySource.set(binding.sourceType, operations);
      }
      await Promise.all(
        [...bySource].map(([sourceType, operations]) =>
          db
            .collection(sourceType)
            .bulkWrite(operations, { ordered: false })
            .catch(failWith(`bind references of ${sourceType}`)),
        ),
      );
      if (settled.length === 0) return;
      // Guarded by key: a newer version of the source may have re-registered the slot with another
      // identifier meanwhile, and that entry must stay.
      await pendingCollection
        .bulkWrite(
          settled.map((entry) => ({ deleteOne: { filter: { _id: entry._id, key: entry.key } } })),
          { ordered: false },
        )
        .catch(failWith('forget bound references'));
    },
  };
};

/**
 * A FHIR store that binds references by identifier, race-free between concurrent loads:
 * - referencing side: references whose target is known are bound before the write; the others are
 *   written unbound, THEN registered as pending, THEN looked up again (and bound if found);
 * - target side: the target is written, THEN pending references to its identifiers are bound.
 * Whatever the interleaving, either the referencing side's second lookup runs after the target
 * was written (it binds), or the target side's scan runs after the pending entry was saved (it
 * binds). Every step is idempotent, so a redelivery repeats it harmlessly; a binding failure is
 * retryable and fails the type's records like a store outage.
 */
export const createBindingFhirStore = (store: FhirStore, binder: ReferenceBinder): FhirStore => ({
  async upsertResources(resourceType, resources) {
    const unbound = resources.map(findUnboundReferences);
    const wanted = unbound.flat();
    const known = wanted.length === 0 ? undefined : await binder.resolve(wanted);
    const prepared =
      known === undefined
        ? [...resources]
        : resources.map((resource, index) => applyReferences(resource, unbound[index] ?? [], known));
    const result = await store.upsertResources(resourceType, prepared);
    const refused = new Set(result.failed.map((failure) => failure.index));
    const written = prepared.filter((_, index) => !refused.has(index));

    // Referencing side: what is still unbound waits, then is looked up once more.
    const pending: PendingReference[] = [];
    const stillUnbound: IdentifierReference[] = [];
    for (const resource of written) {
      const references = findUnboundReferences(resource);
      pending.push(...planPendingReferences(resourceType, resource, references));
      stillUnbound.push(...references);
    }
    if (pending.length > 0) {
      await binder.savePending(pending);
      const late = await binder.resolve(stillUnbound);
      const bindings: Binding[] = [];
      const settled: PendingReference[] = [];
      for (const entry of pending) {
        const reference = late(entry.targetType, entry.key);
        if (reference === undefined) continue;
        bindings.push({ ...entry, reference });
        settled.push(entry);
      }
      if (bindings.length > 0) await binder.bind(bindings, settled);
    }

    // Target side: references waiting for what was just written.
    const targets: TargetCandidate[] = written.map((resource) => ({
      id: resource.id,
      identifier: resource.identifier,
    }));
    const keys = [
      ...new Set(
        targets.flatMap((target) => identifiersOf(target).map((id) => identifierKeyOf(id.system, id.value))),
      ),
    ];
    if (keys.length > 0) {
      const waiting = await binder.pendingFor(resourceType, keys);
      const bindings = planTargetBindings(waiting, resourceType, targets);
      const bound = new Set(
        bindings.map((binding) => pendingIdOf(binding.sourceType, binding.sourceId, binding.path)),
      );
      if (bindings.length > 0) {
        await binder.bind(
          bindings,
          waiting.filter((entry) => bound.has(entry._id)),
        );
      }
    }
    return result;
  },
});
