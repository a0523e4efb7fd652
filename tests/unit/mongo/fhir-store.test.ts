import { type Db, MongoBulkWriteError, MongoServerSelectionError } from 'mongodb';
import { UnavailableError } from '../../../lib/errors';
import { createMongoFhirStore, FHIR_INDEXES, StoreRejectedError } from '../../../lib/mongo/fhir-store';

const patient = (id: string) => ({ resourceType: 'Patient', id, meta: { lastUpdated: 'x', tag: [] } });

/** A Db whose collections record calls and answer from `bulk`. */
const fakeDb = (
  bulk: (operations: unknown[]) => Promise<unknown>,
  indexes: () => Promise<unknown> = async () => [],
) => {
  const calls = {
    createIndexes: [] as string[],
    bulkWrite: [] as { name: string; operations: unknown[]; options: unknown }[],
  };
  const db = {
    collection: (name: string) => ({
      createIndexes: async (specs: unknown) => {
        calls.createIndexes.push(name);
        expect(specs).toEqual(FHIR_INDEXES.map((index) => ({ name: index.name, key: index.key })));
        return indexes();
      },
      bulkWrite: async (operations: unknown[], options: unknown) => {
        calls.bulkWrite.push({ name, operations, options });
        return bulk(operations);
      },
    }),
  } as unknown as Db;
  return { db, calls };
};

const bulkResult = (upserted: number, matched: number) => ({
  upsertedCount: upserted,
  matchedCount: matched,
});

describe('createMongoFhirStore', () => {
  it('writes one unordered bulk of replaceOne upserts by _id into the type’s collection', async () => {
    const { db, calls } = fakeDb(async () => bulkResult(1, 1));
    const store = createMongoFhirStore(db);
    expect(await store.upsertResources('Patient', [patient('a'), patient('b')])).toEqual({
      inserted: 1,
      replaced: 1,
      failed: [],
    });
    expect(calls.bulkWrite[0]).toEqual({
      name: 'Patient',
      options: { ordered: false },
      operations: [
        { replaceOne: { filter: { _id: 'a' }, replacement: patient('a'), upsert: true } },
        { replaceOne: { filter: { _id: 'b' }, replacement: patient('b'), upsert: true } },
      ],
    });
  });

  it('creates the indexes once per collection, and again after a failure', async () => {
    let failIndexes = true;
    const { db, calls } = fakeDb(
      async () => bulkResult(1, 0),
      async () => {
        if (failIndexes) throw new MongoServerSelectionError('no server', {} as never);
        return [];
      },
    );
    const store = createMongoFhirStore(db);
    await expect(store.upsertResources('Patient', [patient('a')])).rejects.toBeInstanceOf(UnavailableError);
    failIndexes = false;
    await store.upsertResources('Patient', [patient('a')]);
    await store.upsertResources('Patient', [patient('b')]);
    await store.upsertResources('Observation', [{ ...patient('c'), resourceType: 'Observation' }]);
    expect(calls.createIndexes).toEqual(['Patient', 'Patient', 'Observation']);
  });

  it('throws a retryable error when the server cannot be reached', async () => {
    const { db } = fakeDb(async () => {
      throw new MongoServerSelectionError('Server selection timed out', {} as never);
    });
    await expect(createMongoFhirStore(db).upsertResources('Patient', [patient('a')])).rejects.toMatchObject({
      retryable: true,
    });
  });

  it('returns the documents the server refused, retrying only a duplicate-key race', async () => {
    const { db } = fakeDb(async () => {
      throw new MongoBulkWriteError(
        {
          message: 'write errors',
          code: 10334,
          writeErrors: [
            { index: 0, code: 10334, errmsg: 'too large' },
            { index: 2, code: 11000, errmsg: 'E11000 duplicate key' },
          ],
        } as never,
        { upsertedCount: 1, matchedCount: 0 } as never,
      );
    });
    const result = await createMongoFhirStore(db).upsertResources('Patient', [
      patient('a'),
      patient('b'),
      patient('c'),
    ]);
    expect(result.inserted).toBe(1);
    expect(result.failed.map(({ index, error }) => [index, error.constructor])).toEqual([
      [0, StoreRejectedError],
      [2, UnavailableError],
    ]);
  });
});
