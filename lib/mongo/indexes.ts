import type { Db, IndexDirection } from 'mongodb';

/** An index by name and key, as createIndexes takes it. */
export type IndexSpec = { readonly name: string; readonly key: Readonly<Record<string, IndexDirection>> };

/**
 * Ensures indexes on a collection once per container: the first call for a collection runs
 * createIndexes (idempotent on the server), later calls share it. A failure is forgotten, so the
 * next call tries again, and is thrown as `fail` words it.
 */
export const indexesOnce = (
  db: Db,
  indexes: readonly IndexSpec[],
  fail: (collection: string, cause: unknown) => Error,
): ((collection: string) => Promise<void>) => {
  const ready = new Map<string, Promise<void>>();
  return (collection) => {
    let created = ready.get(collection);
    if (created === undefined) {
      created = db
        .collection(collection)
        .createIndexes(indexes.map((index) => ({ name: index.name, key: { ...index.key } })))
        .then(() => undefined)
        .catch((cause: unknown) => {
          ready.delete(collection);
          throw fail(collection, cause);
        });
      ready.set(collection, created);
    }
    return created;
  };
};
