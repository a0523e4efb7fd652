import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type BatchesApiDeps, serveBatchesRequest } from '../lib/batches/api';
import { createMongoBatchStore } from '../lib/batches/mongo-batches';
import { loadConfig } from '../lib/config';
import { httpErrorHandler } from '../lib/http/error-handler';
import { logger } from '../lib/logger';
import { createMongoClient } from '../lib/mongo/fhir-store';

export type BatchesDeps = BatchesApiDeps;

/**
 * HTTP: `GET /batches[?state=&limit=]` (newest first), `GET /batches/{id}` (per-resource counts
 * extracted / transformed / loaded / failed / dropped, state, timestamps) and `DELETE /batches/{id}`
 * (cancel: the transform and the load drop the batch's in-flight records and count them).
 */
export const makeHandler =
  (deps: BatchesDeps) =>
  (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
    serveBatchesRequest(event, deps);

/** The handler with its middlewares: Lambda context in logs, and the one HTTP error mapping. */
export const buildHandler = (deps: BatchesDeps) =>
  middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(makeHandler(deps))
    .use(injectLambdaContext(logger))
    .use(httpErrorHandler());

const liveDeps = (): BatchesDeps => {
  const config = loadConfig();
  const mongo = createMongoClient(config.MONGODB_URI);
  return { batches: createMongoBatchStore(mongo.db(config.MONGODB_DATABASE)), clock: () => new Date() };
};

export const handler = buildHandler(liveDeps());
