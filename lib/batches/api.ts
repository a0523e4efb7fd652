import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { BadRequestError, NotFoundError, RequestError } from '../http/errors';
import { jsonResponse, readOptionalPathParameter } from '../http/response';
import { BATCH_STATES, type BatchState, isBatchId } from './model';
import type { BatchReader } from './mongo-batches';

export type BatchesApiDeps = { batches: BatchReader; clock: () => Date };

/** A batch request, parsed at the edge. */
export type BatchesRequest =
  | { kind: 'list'; state?: BatchState; limit: number }
  | { kind: 'get'; id: string }
  | { kind: 'cancel'; id: string };

type BatchesEvent = Pick<APIGatewayProxyEventV2, 'pathParameters' | 'queryStringParameters'> & {
  requestContext?: { http?: { method?: string } };
};

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
const STATES = new Set<string>(Object.values(BATCH_STATES));

/** 405 with the routes' methods: only the methods serverless.yml routes here can reach this. */
class MethodNotAllowedError extends RequestError {
  constructor() {
    super(405, 'use GET /batches, GET /batches/{id} or DELETE /batches/{id}');
  }
}

/** 409: a batch that already completed cannot be cancelled. */
class BatchConflictError extends RequestError {
  constructor(message: string) {
    super(409, message);
  }
}

/** Parses `GET /batches[?state=&limit=]`, `GET /batches/{id}`, `DELETE /batches/{id}`. */
export const parseBatchesRequest = (event: BatchesEvent): BatchesRequest => {
  const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
  const id = readOptionalPathParameter(event, 'id');
  if (id !== undefined && !isBatchId(id)) throw new BadRequestError('id must be a batch id (a UUID)');
  if (method === 'DELETE') {
    if (id === undefined) throw new MethodNotAllowedError();
    return { kind: 'cancel', id };
  }
  if (method !== 'GET') throw new MethodNotAllowedError();
  if (id !== undefined) return { kind: 'get', id };
  const query = event.queryStringParameters ?? {};
  for (const name of Object.keys(query)) {
    if (name !== 'state' && name !== 'limit') throw new BadRequestError('query parameters: state, limit');
  }
  const { state, limit } = query;
  if (state !== undefined && !STATES.has(state)) {
    throw new BadRequestError(`state must be one of ${[...STATES].join(', ')}`);
  }
  let parsedLimit = DEFAULT_LIMIT;
  if (limit !== undefined) {
    parsedLimit = Number(limit);
    if (!/^\d+$/.test(limit) || parsedLimit < 1 || parsedLimit > MAX_LIMIT) {
      throw new BadRequestError(`limit must be an integer from 1 to ${MAX_LIMIT}`);
    }
  }
  return {
    kind: 'list',
    ...(state === undefined ? {} : { state: state as BatchState }),
    limit: parsedLimit,
  };
};

/** Serves one batches request: lists, reads (completing a batch found due) or cancels. */
export const serveBatchesRequest = async (
  event: BatchesEvent,
  deps: BatchesApiDeps,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const request = parseBatchesRequest(event);
  const now = deps.clock();
  if (request.kind === 'list') {
    const batches = await deps.batches.list(
      { ...(request.state === undefined ? {} : { state: request.state }), limit: request.limit },
      now,
    );
    return jsonResponse(200, { batches });
  }
  if (request.kind === 'get') {
    const view = await deps.batches.get(request.id, now);
    if (view === undefined) throw new NotFoundError('no such batch');
    return jsonResponse(200, view);
  }
  const result = await deps.batches.cancel(request.id, now);
  if (result === undefined) throw new NotFoundError('no such batch');
  if (result.outcome === 'conflict') throw new BatchConflictError(`the batch is ${result.view.state}`);
  return jsonResponse(200, result.view);
};
