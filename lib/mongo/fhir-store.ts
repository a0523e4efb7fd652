import {
  type AnyBulkWriteOperation,
  type Db,
  type Document,
  MongoBulkWriteError,
  MongoClient,
  type MongoError,
} from 'mongodb';
import { MedstreamError, UnavailableError } from '../errors';
import type { FhirResource } from '../fhir';
import { indexesOnce } from './indexes';

/** A document the store refused on its own (too large, an invalid field name): never retried. */
export class StoreRejectedError extends MedstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: false });
  }
}

/** What one upsert call did; `failed` holds the indexes of refused documents with the reason. */
export type UpsertResult = {
  inserted: number;
  replaced: number;
  failed: { index: number; error: MedstreamError }[];
};

/** The port load needs of the FHIR store. */
export type FhirStore = {
  /** Replaces (or inserts) each resource by id in its type's collection; throws retryable on an outage. */
  upsertResources(resourceType: string, resources: readonly FhirResource[]): Promise<UpsertResult>;
};

/** The indexes of every resource collection: search by identifier, by subject and by code. */
export const FHIR_INDEXES = [
  { name: 'identifier', key: { 'identifier.system': 1, 'identifier.value': 1 } },
  { name: 'subject', key: { 'subject.reference': 1 } },
  { name: 'code', key: { 'code.coding.system': 1, 'code.coding.code': 1 } },
] as const;

/**
 * A Mongo client for Lambda: created once at module scope, connected on first use, failing fast,
 * and connecting again after a failed first connection. The driver (6.x) closes the topology of a
 * connect that failed but keeps it, and connects on use only when it has none: in a container that
 * started while MongoDB was down, every later operation would fail with "Topology is closed" until
 * the container is recycled (a Kafka-triggered function retrying its batch never is). Dropping the
 * closed topology, as `close()` does, lets the next operation connect afresh.
 */
export const createMongoClient = (uri: string): MongoClient => {
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: 5_000,
    connectTimeoutMS: 5_000,
    maxPoolSize: 10,
  });
  const connect = client.connect.bind(client);
  client.connect = async () => {
    try {
      return await connect();
    } catch (error) {
      // `topology` is the driver's own (internal) field: the one `close()` clears.
      const internal = client as unknown as { topology?: { isConnected(): boolean } };
      if (internal.topology?.isConnected() === false) internal.topology = undefined;
      throw error;
    }
  };
  return client;
};

const DUPLICATE_KEY = 11000;

// Two concurrent upserts of one new _id can race to insert it (E11000); a retry matches the winner.
const isTransientWriteError = (error: { code?: number | string }): boolean => error.code === DUPLICATE_KEY;

/**
 * The FHIR store on MongoDB: one collection per resource type, `_id` = the resource id (the
 * deterministic UUIDv5), the resource itself as the document. Writes are one unordered bulkWrite
 * of replaceOne upserts, so a reload or a redelivered batch replaces documents and adds none. The
 * indexes are created once per collection per cold start (createIndexes is idempotent).
 */
export const createMongoFhirStore = (db: Db): FhirStore => {
  const ensureIndexes = indexesOnce(
    db,
    FHIR_INDEXES,
    (resourceType, cause) => new UnavailableError(`cannot create the indexes of ${resourceType}`, { cause }),
  );

  return {
    async upsertResources(resourceType, resources) {
      if (resources.length === 0) return { inserted: 0, replaced: 0, failed: [] };
      await ensureIndexes(resourceType);
      const operations: AnyBulkWriteOperation<Document>[] = resources.map((resource) => ({
        replaceOne: {
          filter: { _id: resource.id as unknown as Document['_id'] },
          replacement: resource,
          upsert: true,
        },
      }));
      try {
        const result = await db.collection(resourceType).bulkWrite(operations, { ordered: false });
        return { inserted: result.upsertedCount, replaced: result.matchedCount, failed: [] };
      } catch (error) {
        if (!(error instanceof MongoBulkWriteError) || error.writeConcernError !== undefined) {
          throw new UnavailableError(`cannot write ${resourceType} to the FHIR store`, { cause: error });
        }
        const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
        if (writeErrors.length === 0) {
          throw new UnavailableError(`cannot write ${resourceType} to the FHIR store`, { cause: error });
        }
        return {
          inserted: error.result.upsertedCount,
          replaced: error.result.matchedCount,
          failed: writeErrors.map((writeError) => ({
            index: writeError.index,
            error: isTransientWriteError(writeError)
              ? new UnavailableError(`${resourceType}: concurrent upsert of one id`, { cause: writeError })
              : new StoreRejectedError(
                  `${resourceType}: the store refused the document (code ${String(writeError.code)})`,
                  {
                    cause: writeError as unknown as MongoError,
                  },
                ),
          })),
        };
      }
    },
  };
};
