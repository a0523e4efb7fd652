import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createMongoBatchStore } from '../lib/batches/mongo-batches';
import { loadConfig } from '../lib/config';
import { type ExtractApiDeps, serveExtractRequest } from '../lib/extract/api';
import { createPgSource } from '../lib/extract/pg-source';
import { httpErrorHandler } from '../lib/http/error-handler';
import { createKafka, createProducer } from '../lib/kafka/client';
import { logger } from '../lib/logger';
import { createMongoClient } from '../lib/mongo/fhir-store';
import { createTopicNames } from '../lib/transform/messages';
import { loadShippedMappings } from '../lib/transform/shipped-mappings';

export type ExtractDeps = ExtractApiDeps;

/**
 * HTTP: `POST /extract/{resource}` extracts a mapping's resources to `raw.<resource>` (202 with
 * the batch id and counts, once every record is acknowledged); `POST /extract/{resource}/{id}`
 * previews one key (source rows, FHIR resources, OperationOutcome) without publishing.
 */
export const makeHandler =
  (deps: ExtractDeps) =>
  (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
    serveExtractRequest(event, deps);

/** The handler with its middlewares: Lambda context in logs, and the one HTTP error mapping. */
export const buildHandler = (deps: ExtractDeps) =>
  middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(makeHandler(deps))
    .use(injectLambdaContext(logger))
    .use(httpErrorHandler());

const liveDeps = (): ExtractDeps => {
  const config = loadConfig();
  return {
    registry: loadShippedMappings(),
    source: createPgSource({ connectionString: config.CLINICAL_DATABASE_URL }),
    producer: createProducer(
      createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-extract` }),
    ),
    topics: createTopicNames(),
    pageSize: config.EXTRACT_PAGE_SIZE,
    clock: () => new Date(),
    newBatchId: randomUUID,
    onProgress: (progress) => logger.info('extract progress', { ...progress }),
    batches: createMongoBatchStore(createMongoClient(config.MONGODB_URI).db(config.MONGODB_DATABASE)),
  };
};

export const handler = buildHandler(liveDeps());
