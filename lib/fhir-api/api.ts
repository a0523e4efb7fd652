import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { BadRequestError, NotFoundError } from '../http/errors';
import { jsonResponse, readOptionalPathParameter } from '../http/response';
import { buildSearchBundle, type FhirResource, type SearchPage } from './bundle';
import { buildCapabilityStatement } from './capability';
import type { Filter } from './filter';
import { FHIR_ID, parseSearchRequest, type SearchRequest } from './search-plan';

/** The content type of every FHIR response (R4 http.html#mime-type). */
export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** One page query in `_id` order; `limit` asks one more than the page to learn if another follows. */
export type PageQuery = { filter: Filter; sort: 1 | -1; limit: number };

/** The port the API needs of the FHIR store: reads only, one collection per resource type. */
export type FhirReadStore = {
  readResource(resourceType: string, id: string): Promise<FhirResource | undefined>;
  findResources(resourceType: string, query: PageQuery): Promise<FhirResource[]>;
  countResources(resourceType: string, filter: Filter): Promise<number>;
  hasResource(resourceType: string, filter: Filter): Promise<boolean>;
};

export type FhirApiDeps = {
  store: FhirReadStore;
  /** The resource types served (those the mapping registry produces). */
  resourceTypes: readonly string[];
  clock: () => Date;
};

type FhirEvent = Pick<APIGatewayProxyEventV2, 'pathParameters' | 'rawPath' | 'rawQueryString' | 'headers'> & {
  requestContext?: Partial<Pick<APIGatewayProxyEventV2['requestContext'], 'domainName'>>;
};

const and = (left: Filter, right: Filter): Filter =>
  Object.keys(left).length === 0 ? right : { $and: [left, right] };

/**
 * Runs a search for one page. Forward pages (first, or after an id) read `count + 1` ascending;
 * backward pages (before an id) read descending and are reversed, so both are index seeks on `_id`.
 * `total` and the existence of the page on the other side are asked in parallel.
 */
export const searchResources = async (request: SearchRequest, store: FhirReadStore): Promise<SearchPage> => {
  const { resourceType, filter, count, cursor } = request;
  if (count === 0) {
    // _count=0: the total alone (R4), no pages to link.
    return {
      total: await store.countResources(resourceType, filter),
      resources: [],
      next: undefined,
      previous: undefined,
    };
  }
  if (cursor === undefined || 'after' in cursor) {
    const after = cursor?.after;
    const [found, total, hasPrevious] = await Promise.all([
      store.findResources(resourceType, {
        filter: after === undefined ? filter : and(filter, { _id: { $gt: after } }),
        sort: 1,
        limit: count + 1,
      }),
      store.countResources(resourceType, filter),
      after === undefined ? false : store.hasResource(resourceType, and(filter, { _id: { $lte: after } })),
    ]);
    const resources = found.slice(0, count);
    const first = resources[0];
    const last = resources[resources.length - 1];
    return {
      total,
      resources,
      next: found.length > count && last !== undefined ? { after: last.id } : undefined,
      previous:
        !hasPrevious || after === undefined
          ? undefined
          : first === undefined
            ? { before: after, inclusive: true }
            : { before: first.id },
    };
  }
  const { before, inclusive } = cursor;
  const [found, total, hasNext] = await Promise.all([
    store.findResources(resourceType, {
      filter: and(filter, { _id: inclusive ? { $lte: before } : { $lt: before } }),
      sort: -1,
      limit: count + 1,
    }),
    store.countResources(resourceType, filter),
    store.hasResource(resourceType, and(filter, { _id: inclusive ? { $gt: before } : { $gte: before } })),
  ]);
  const resources = found.slice(0, count).reverse();
  const first = resources[0];
  const last = resources[resources.length - 1];
  return {
    total,
    resources,
    // An empty backward page means nothing precedes `before`: what follows is the first page.
    next: !hasNext ? undefined : last === undefined ? null : { after: last.id },
    previous: found.length > count && first !== undefined ? { before: first.id } : undefined,
  };
};

/**
 * The base URL of the FHIR API as the client called it: scheme and host from the request, the path
 * up to `/fhir` from `rawPath` (so a stage or a custom-domain base path is kept).
 */
export const readBaseUrl = (event: FhirEvent, suffix: string): string => {
  const host = event.headers?.host ?? event.requestContext?.domainName ?? 'localhost';
  // API Gateway always sets X-Forwarded-Proto (https); serverless-offline does not, and serves http.
  const scheme = event.headers?.['x-forwarded-proto']?.split(',')[0]?.trim() ?? 'http';
  const path = event.rawPath.endsWith(suffix)
    ? event.rawPath.slice(0, event.rawPath.length - suffix.length)
    : '/fhir';
  return `${scheme}://${host}${path.replace(/\/+$/, '')}`;
};

const fhirResponse = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 =>
  jsonResponse(statusCode, body, { 'content-type': FHIR_JSON });

// R4 http.html#search: `Prefer: handling=lenient` asks the server to ignore unknown parameters.
const isLenient = (event: FhirEvent): boolean => /\bhandling=lenient\b/i.test(event.headers?.prefer ?? '');

/**
 * Serves `GET /fhir/metadata`, `GET /fhir/{type}/{id}` (read) and `GET /fhir/{type}` (search-type).
 * Unknown type → 404; bad id or parameter → 400; both thrown for the one HTTP error mapping,
 * which answers them as OperationOutcomes.
 */
export const serveFhirRequest = async (
  event: FhirEvent,
  deps: FhirApiDeps,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const type = readOptionalPathParameter(event, 'type');
  const id = readOptionalPathParameter(event, 'id');
  if (type === undefined || (type === 'metadata' && id === undefined)) {
    return fhirResponse(
      200,
      buildCapabilityStatement({
        baseUrl: readBaseUrl(event, '/metadata'),
        resourceTypes: deps.resourceTypes,
        date: deps.clock(),
      }),
    );
  }
  if (!deps.resourceTypes.includes(type)) {
    throw new NotFoundError(`unknown resource type; supported: ${[...deps.resourceTypes].sort().join(', ')}`);
  }
  if (id !== undefined) {
    if (!FHIR_ID.test(id))
      throw new BadRequestError('id must be a FHIR id (letters, digits, - and ., at most 64)');
    const resource = await deps.store.readResource(type, id);
    if (resource === undefined) throw new NotFoundError(`no ${type} with this id`);
    return fhirResponse(200, resource);
  }
  const request = parseSearchRequest(type, event.rawQueryString ?? '', { lenient: isLenient(event) });
  const page = await searchResources(request, deps.store);
  return fhirResponse(200, buildSearchBundle(readBaseUrl(event, `/${type}`), request, page));
};
