import type { Context } from 'aws-lambda';
import { buildHandler } from '../../../functions/load-fhir';
import { UnavailableError } from '../../../lib/errors';
import type { FhirResource } from '../../../lib/fhir';
import { type FhirStore, StoreRejectedError, type UpsertResult } from '../../../lib/mongo/fhir-store';
import { collectingDeadLetters, kafkaEventOf } from '../transform/kafka-events';

const context = { functionName: 'load-fhir', awsRequestId: 'req' } as Context;
const resource = (resourceType: string, id: string, extra: Record<string, unknown> = {}) => ({
  resourceType,
  id,
  meta: { lastUpdated: '2026-11-22T23:00:00.000Z', tag: [] },
  ...extra,
});

/** A store in memory, keyed by type and id, that can fail a type or refuse a document. */
const memoryStore = (options: { down?: string; refuse?: string } = {}) => {
  const collections = new Map<string, Map<string, FhirResource>>();
  const calls: { resourceType: string; ids: string[] }[] = [];
  const store: FhirStore = {
    async upsertResources(resourceType, resources): Promise<UpsertResult> {
      calls.push({ resourceType, ids: resources.map((entry) => entry.id) });
      if (options.down === resourceType) throw new UnavailableError('store down');
      const collection = collections.get(resourceType) ?? new Map<string, FhirResource>();
      collections.set(resourceType, collection);
      const result: UpsertResult = { inserted: 0, replaced: 0, failed: [] };
      resources.forEach((entry, index) => {
        if (entry.id === options.refuse) {
          result.failed.push({ index, error: new StoreRejectedError('refused (code 10334)') });
          return;
        }
        if (collection.has(entry.id)) result.replaced += 1;
        else result.inserted += 1;
        collection.set(entry.id, entry);
      });
      return result;
    },
  };
  return { store, collections, calls };
};

const handlerWith = (store: FhirStore) => {
  const { letters, sink } = collectingDeadLetters();
  const handler = buildHandler({ store, deadLetters: sink, functionName: 'load-fhir' });
  return { invoke: (event: ReturnType<typeof kafkaEventOf>) => handler(event, context), letters };
};

describe('load-fhir handler', () => {
  it('upserts each type in one call, one document per id (the last delivered wins)', async () => {
    const { store, collections, calls } = memoryStore();
    const { invoke } = handlerWith(store);
    const response = await invoke(
      kafkaEventOf([
        { topic: 'fhir.Patient', offset: 0, value: resource('Patient', 'p1', { gender: 'male' }) },
        { topic: 'fhir.Observation', offset: 0, value: resource('Observation', 'o1') },
        { topic: 'fhir.Patient', offset: 1, value: resource('Patient', 'p1', { gender: 'female' }) },
        { topic: 'fhir.Patient', offset: 2, value: resource('Patient', 'p2') },
      ]),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(calls).toEqual([
      { resourceType: 'Patient', ids: ['p1', 'p2'] },
      { resourceType: 'Observation', ids: ['o1'] },
    ]);
    expect(collections.get('Patient')?.get('p1')).toMatchObject({ gender: 'female' });
  });

  it('adds nothing when a batch is delivered again', async () => {
    const { store, collections } = memoryStore();
    const { invoke } = handlerWith(store);
    const event = kafkaEventOf([
      { topic: 'fhir.Patient', offset: 0, value: resource('Patient', 'p1') },
      { topic: 'fhir.Patient', offset: 1, value: resource('Patient', 'p2') },
    ]);
    await invoke(event);
    await invoke(event);
    expect(collections.get('Patient')?.size).toBe(2);
  });

  it('reports the records of a type whose store is down for retry, and writes the other types', async () => {
    const { store, collections } = memoryStore({ down: 'Observation' });
    const { invoke, letters } = handlerWith(store);
    const response = await invoke(
      kafkaEventOf([
        { topic: 'fhir.Observation', offset: 3, value: resource('Observation', 'o1') },
        { topic: 'fhir.Observation', offset: 4, value: resource('Observation', 'o2') },
        { topic: 'fhir.Patient', offset: 9, value: resource('Patient', 'p1') },
      ]),
    );
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: 'fhir.Observation-0', offset: 3 } },
      { itemIdentifier: { partition: 'fhir.Observation-0', offset: 4 } },
    ]);
    expect(letters).toEqual([]);
    expect(collections.get('Patient')?.size).toBe(1);
  });

  it('dead-letters what is not a resource and what the store refuses', async () => {
    const { store } = memoryStore({ refuse: 'p2' });
    const { invoke, letters } = handlerWith(store);
    const response = await invoke(
      kafkaEventOf([
        { topic: 'fhir.Patient', offset: 0, value: { id: 'x' } },
        { topic: 'fhir.Patient', offset: 1, value: resource('Patient', 'p2') },
        { topic: 'fhir.Patient', offset: 2, value: resource('Patient', 'p3') },
      ]),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(letters.map((letter) => [letter.record.offset, letter.reason.type])).toEqual([
      [0, 'ParseError'],
      [1, 'StoreRejectedError'],
    ]);
  });
});
