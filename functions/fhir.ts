import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../lib/config';
import { FHIR_JSON, type FhirApiDeps, serveFhirRequest } from '../lib/fhir-api/api';
import { createMongoFhirReader } from '../lib/fhir-api/mongo-reader';
import { httpErrorHandler, renderOperationOutcome } from '../lib/http/error-handler';
import { logger } from '../lib/logger';
import { createMongoClient } from '../lib/mongo/fhir-store';
import { loadShippedMappings } from '../lib/transform/shipped-mappings';

export type FhirDeps = FhirApiDeps;

/**
 * HTTP: `GET /fhir/metadata` (CapabilityStatement), `GET /fhir/{type}/{id}` (read) and
 * `GET /fhir/{type}?…` (searchset Bundle with paging links) over the FHIR store.
 */
export const makeHandler =
  (deps: FhirDeps) =>
  (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
    serveFhirRequest(event, deps);

// The shared error handler answers JSON; an OperationOutcome is served as FHIR (R4 http.html#mime-type).
// Its onError runs before this one (middy runs onError in reverse order of `use`).
const fhirContentType = (): middy.MiddlewareObj<
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2
> => ({
  onError: async (request) => {
    if (request.response?.headers !== undefined) request.response.headers['content-type'] = FHIR_JSON;
  },
});

/** The handler with its middlewares: Lambda context in logs, errors as OperationOutcomes. */
export const buildHandler = (deps: FhirDeps) =>
  middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(makeHandler(deps))
    .use(injectLambdaContext(logger))
    .use(fhirContentType())
    .use(httpErrorHandler({ render: renderOperationOutcome }));

const liveDeps = (): FhirDeps => {
  const config = loadConfig();
  const mongo = createMongoClient(config.MONGODB_URI);
  return {
    store: createMongoFhirReader(mongo.db(config.MONGODB_DATABASE)),
    resourceTypes: [
      ...new Set([...loadShippedMappings().values()].map((compiled) => compiled.mapping.resourceType)),
    ],
    clock: () => new Date(),
  };
};

export const handler = buildHandler(liveDeps());
