import {
  type Db,
  type Document,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { UnavailableError } from '../errors';
import type { FhirReadStore } from './api';
import type { FhirResource } from './bundle';

// Server codes a retry may get past: shutdown, step-down, not primary, network and time limits.
const TRANSIENT_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

const isOutage = (error: unknown): boolean =>
  error instanceof MongoNetworkError ||
  error instanceof MongoServerSelectionError ||
  error instanceof MongoTopologyClosedError ||
  error instanceof MongoNotConnectedError ||
  (error instanceof MongoError && typeof error.code === 'number' && TRANSIENT_CODES.has(error.code));

/** Runs a read; an outage becomes a retryable UnavailableError (a 503), anything else is a bug (a 500). */
const reading = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
  try {
    return await read();
  } catch (error) {
    if (isOutage(error))
      throw new UnavailableError(`cannot read ${what} from the FHIR store`, { cause: error });
    throw error;
  }
};

// The document is the resource with `_id` = its id; `_id` is not part of the resource.
const WITHOUT_ID = { projection: { _id: 0 } } as const;

/**
 * The FHIR store's read side on MongoDB (the collections `createMongoFhirStore` writes): reads by
 * `_id`, finds in `_id` order, counts exactly with `countDocuments`.
 */
export const createMongoFhirReader = (db: Db): FhirReadStore => ({
  readResource: (resourceType, id) =>
    reading(resourceType, async () => {
      const document = await db
        .collection(resourceType)
        .findOne({ _id: id as unknown as Document['_id'] }, WITHOUT_ID);
      return document === null ? undefined : (document as unknown as FhirResource);
    }),
  findResources: (resourceType, query) =>
    reading(resourceType, async () => {
      const documents = await db
        .collection(resourceType)
        .find(query.filter, WITHOUT_ID)
        .sort({ _id: query.sort })
        .limit(query.limit)
        .toArray();
      return documents as unknown as FhirResource[];
    }),
  countResources: (resourceType, filter) =>
    reading(resourceType, () => db.collection(resourceType).countDocuments(filter)),
  hasResource: (resourceType, filter) =>
    reading(
      resourceType,
      async () => (await db.collection(resourceType).findOne(filter, { projection: { _id: 1 } })) !== null,
    ),
});
