import type { FhirResource } from '../../../lib/fhir';
import type { FhirStore } from '../../../lib/mongo/fhir-store';
import { createBindingFhirStore, type ReferenceBinder } from '../../../lib/references/mongo-binder';
import {
  identifierKeyOf,
  identifiersOf,
  type PendingReference,
  planBindingUpdate,
  resolveTargets,
} from '../../../lib/references/plan';

const MRN = 'mrn';
const meta = { lastUpdated: '2026-11-22T23:00:00.000Z', tag: [] };
const patient: FhirResource = {
  resourceType: 'Patient',
  id: 'p-42',
  meta,
  identifier: [{ system: MRN, value: '42' }],
};
const observation: FhirResource = {
  resourceType: 'Observation',
  id: 'obs-1',
  meta,
  subject: { type: 'Patient', identifier: { system: MRN, value: '42' } },
};

type Step = () => Promise<void>;

/**
 * An in-memory store and binder whose every call can be held at a gate, so a test can run two
 * loads step by step in any interleaving.
 */
const memoryWorld = () => {
  const collections = new Map<string, Map<string, FhirResource>>();
  const pending = new Map<string, PendingReference>();
  const collection = (type: string) => {
    let byId = collections.get(type);
    if (byId === undefined) {
      byId = new Map();
      collections.set(type, byId);
    }
    return byId;
  };
  const gates: Step[] = [];
  const gate = async (): Promise<void> => {
    const hook = gates.shift();
    if (hook !== undefined) await hook();
  };
  const store: FhirStore = {
    async upsertResources(type, resources) {
      await gate();
      for (const resource of resources) collection(type).set(resource.id, structuredClone(resource));
      return { inserted: resources.length, replaced: 0, failed: [] };
    },
  };
  const binder: ReferenceBinder = {
    async resolve(references) {
      await gate();
      const byType = new Map<string, Map<string, string>>();
      for (const type of new Set(references.map((reference) => reference.targetType))) {
        byType.set(
          type,
          resolveTargets(
            [...collection(type).values()].map((resource) => ({
              id: resource.id,
              identifier: resource.identifier,
            })),
            type,
          ),
        );
      }
      return (type, key) => byType.get(type)?.get(key);
    },
    async savePending(entries) {
      await gate();
      for (const entry of entries) pending.set(entry._id, entry);
    },
    async pendingFor(targetType, keys) {
      await gate();
      return [...pending.values()].filter(
        (entry) => entry.targetType === targetType && keys.includes(entry.key),
      );
    },
    async bind(bindings, settled) {
      await gate();
      for (const binding of bindings) {
        const document = collection(binding.sourceType).get(binding.sourceId) as
          | Record<string, unknown>
          | undefined;
        if (document === undefined) continue;
        const { filter, update } = planBindingUpdate(binding);
        const slot = binding.path
          .split('.')
          .reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], document) as
          | Record<string, unknown>
          | undefined;
        const identifier = slot?.identifier as { system?: string; value?: string } | undefined;
        if (
          slot === undefined ||
          identifier?.system !== filter[`${binding.path}.identifier.system`] ||
          identifier?.value !== filter[`${binding.path}.identifier.value`] ||
          slot.reference !== undefined
        )
          continue;
        slot.reference = update.$set[`${binding.path}.reference`];
      }
      for (const entry of settled) if (pending.get(entry._id)?.key === entry.key) pending.delete(entry._id);
    },
  };
  return { store: createBindingFhirStore(store, binder), collection, pending, gates };
};

const subjectOf = (world: ReturnType<typeof memoryWorld>) =>
  (world.collection('Observation').get('obs-1')?.subject as { reference?: string } | undefined)?.reference;

describe('the binding FHIR store', () => {
  it('binds at once when the target is already known', async () => {
    const world = memoryWorld();
    await world.store.upsertResources('Patient', [patient]);
    await world.store.upsertResources('Observation', [observation]);
    expect(subjectOf(world)).toBe('Patient/p-42');
    expect(world.pending.size).toBe(0);
  });

  it('binds a referencing resource loaded first when its target arrives', async () => {
    const world = memoryWorld();
    await world.store.upsertResources('Observation', [observation]);
    expect(subjectOf(world)).toBeUndefined();
    expect(world.pending.size).toBe(1);
    await world.store.upsertResources('Patient', [patient]);
    expect(subjectOf(world)).toBe('Patient/p-42');
    expect(world.pending.size).toBe(0);
  });

  /**
   * Runs `first` until its `pause`-th port call, holds it there while `second` runs to the end, then
   * lets it finish: every step of one load is tried against the whole of the other.
   */
  const interleave = async (
    world: ReturnType<typeof memoryWorld>,
    first: () => Promise<unknown>,
    second: () => Promise<unknown>,
    pause: number,
  ): Promise<void> => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (let index = 0; index < pause; index += 1) world.gates.push(async () => undefined);
    world.gates.push(() => held);
    const running = first();
    await new Promise((resolve) => setImmediate(resolve));
    // If `first` finished before reaching the pause, its unused gates must not hold `second`.
    world.gates.splice(0);
    await second();
    release();
    await running;
  };

  it.each([0, 1, 2, 3, 4])(
    'binds when the target load runs whole at step %i of the referencing load',
    async (pause) => {
      const world = memoryWorld();
      await interleave(
        world,
        () => world.store.upsertResources('Observation', [observation]),
        () => world.store.upsertResources('Patient', [patient]),
        pause,
      );
      expect(subjectOf(world)).toBe('Patient/p-42');
    },
  );

  it.each([0, 1, 2])(
    'binds when the referencing load runs whole at step %i of the target load',
    async (pause) => {
      const world = memoryWorld();
      await interleave(
        world,
        () => world.store.upsertResources('Patient', [patient]),
        () => world.store.upsertResources('Observation', [observation]),
        pause,
      );
      expect(subjectOf(world)).toBe('Patient/p-42');
    },
  );

  it('keeps a slot whose identifier changed from being bound to the old target', async () => {
    const world = memoryWorld();
    await world.store.upsertResources('Observation', [observation]);
    const changed = {
      ...observation,
      subject: { type: 'Patient', identifier: { system: MRN, value: '43' } },
    };
    await world.store.upsertResources('Observation', [changed]);
    await world.store.upsertResources('Patient', [patient]);
    expect(subjectOf(world)).toBeUndefined();
    expect([...world.pending.values()].map((entry) => entry.key)).toEqual([identifierKeyOf(MRN, '43')]);
    expect(identifiersOf(patient)).toHaveLength(1);
  });
});
