import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
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
      const outcome = await processCsvDrop(object, deps.sources, deps, {
        now: deps.clock,
        batchId: deps.newBatchId(),
      });
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
  return {
    sources: loadShippedSourceConnectors().csv.map((connector) => resolveCsvSource(connector, registry)),
    objects: createS3ObjectStore(s3),
    publisher: createRawPublisher(
      createProducer(
        createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-csv-source` }),
      ),
    ),
    clock: () => new Date(),
    newBatchId: randomUUID,
  };
};

export const handler = middy(makeHandler(liveDeps())).use(injectLambdaContext(logger));
