import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
import { describeSourceFailure } from '../lib/batches/model';
import type { BatchRegistry } from '../lib/batches/mongo-batches';
import { createLazyBatchRegistry, trackExtracted } from '../lib/batches/tracking';
import { loadConfig } from '../lib/config';
import { createKafka, createProducer } from '../lib/kafka/client';
import { logger } from '../lib/logger';
import { type DropOutcome, type ObjectStore, processCsvDrop } from '../lib/sources/csv-drop';
import { type CsvSource, resolveCsvSource } from '../lib/sources/csv-ingest';
import { createRawPublisher, type RawPublisher } from '../lib/sources/raw-messages';
import { createdObjectsOf } from '../lib/sources/s3-event';
import { createS3Client, createS3ObjectStore, isLoopbackEndpoint } from '../lib/sources/s3-objects';
import { loadShippedSourceConnectors } from '../lib/sources/shipped-connectors';
import { loadShippedMappings } from '../lib/transform/shipped-mappings';

export type CsvSourceDeps = {
  sources: readonly CsvSource[];
  objects: ObjectStore;
  publisher: RawPublisher;
  clock: () => Date;
  newBatchId: () => string;
  /**
   * Batch tracking, one batch per file: registered by its first acknowledged publish (the
   * publisher's producer counts it, see trackExtracted) and sealed here once the file is filed.
   */
  batches?: Pick<BatchRegistry, 'seal'>;
};

/**
 * S3 ObjectCreated under a CSV connector's input path: each object is streamed into its raw topic
 * and moved to finished/ or error/ with a report. A Kafka or S3 failure fails the invocation with
 * the object left in place, so the (asynchronous) invocation is retried; a file's own problems
 * are its report's, never a failure.
 */
export const makeHandler =
  (deps: CsvSourceDeps) =>
  async (event: S3Event): Promise<{ objects: Omit<DropOutcome, 'report'>[] }> => {
    const outcomes: Omit<DropOutcome, 'report'>[] = [];
    for (const object of createdObjectsOf(event)) {
      const batchId = deps.newBatchId();
      let outcome: DropOutcome;
      try {
        outcome = await processCsvDrop(object, deps.sources, deps, { now: deps.clock, batchId });
      } catch (error) {
        // The retried invocation publishes under a new batch; this one ends with what it published.
        await deps.batches?.seal(batchId, deps.clock(), describeSourceFailure(error)).catch(() => undefined);
        throw error;
      }
      await deps.batches?.seal(batchId, deps.clock());
      if (outcome.status === 'finished' || outcome.status === 'error') {
        const { report, ...summary } = outcome;
        logger.info('csv drop processed', {
          ...summary,
          connector: report.connector,
          rowsRead: report.rowsRead,
          rowsPublished: report.rowsPublished,
          rowsRejected: report.rowsRejected,
        });
        outcomes.push(summary);
      } else if (outcome.status === 'ignored') {
        // Left where it is: said loudly, since the user dropped it to be read.
        logger.warn('csv drop not read: left in place', { ...outcome });
        outcomes.push(outcome);
      } else {
        logger.info('csv drop skipped', { ...outcome });
        outcomes.push(outcome);
      }
    }
    return { objects: outcomes };
  };

const liveDeps = (): CsvSourceDeps => {
  const config = loadConfig();
  const registry = loadShippedMappings();
  const endpoint = config.AWS_ENDPOINT_URL;
  const s3 = createS3Client({
    region: config.AWS_REGION,
    endpoint,
    // moto accepts any credentials; a local run usually has none in its environment.
    placeholderCredentials:
      endpoint !== undefined && isLoopbackEndpoint(endpoint) && !process.env.AWS_ACCESS_KEY_ID,
  });
  const batches = createLazyBatchRegistry(async () => {
    const [{ createMongoBatchStore }, { createMongoClient }] = await Promise.all([
      import('../lib/batches/mongo-batches'),
      import('../lib/mongo/fhir-store'),
    ]);
    return createMongoBatchStore(createMongoClient(config.MONGODB_URI).db(config.MONGODB_DATABASE));
  });
  return {
    sources: loadShippedSourceConnectors().csv.map((connector) => resolveCsvSource(connector, registry)),
    objects: createS3ObjectStore(s3),
    publisher: createRawPublisher(
      trackExtracted(
        createProducer(
          createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-csv-source` }),
        ),
        batches,
        'csv-source',
        () => new Date(),
      ),
    ),
    clock: () => new Date(),
    newBatchId: randomUUID,
    batches,
  };
};

export const handler = middy(makeHandler(liveDeps())).use(injectLambdaContext(logger));
