import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { describeSourceFailure } from '../batches/model';
import type { BatchRegistry } from '../batches/mongo-batches';
import { trackExtracted } from '../batches/tracking';
import type { CompiledMapping, MappingRegistry } from '../fhir';
import { BadRequestError, NotFoundError } from '../http/errors';
import { jsonResponse, readJsonBody, readOptionalPathParameter, readPathParameter } from '../http/response';
import { type ExtractBatchDeps, type ExtractProgress, extractBatch } from './extract-batch';
import { PreviewNotFoundError, previewResource } from './preview';
import { SourceInputError } from './source';

/** A parsed extract request: a batch of a whole mapping, or the preview of one key. */
export type ExtractRequest =
  | { kind: 'batch'; compiled: CompiledMapping; pageSize: number }
  | { kind: 'preview'; compiled: CompiledMapping; key: string };

// Keys are numbers or short codes; anything else cannot be a primary key of a shipped mapping and
// is refused before it reaches a query (where it would be a bound parameter anyway).
const KEY = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_PAGE_SIZE = 10_000;

const batchBodySchema = z
  .object({ pageSize: z.number().int().min(1).max(MAX_PAGE_SIZE).optional() })
  .strict()
  .optional();

type ExtractEvent = Pick<
  APIGatewayProxyEventV2,
  'pathParameters' | 'queryStringParameters' | 'body' | 'isBase64Encoded'
>;

/**
 * Parses `POST /extract/{resource}[/{id}]` at the edge: unknown resource → 404, bad id or body,
 * or any query parameter → 400 (a `?limit=` or `?since=` taken for a filter must not start an
 * extract of the whole table).
 */
export const parseExtractRequest = (
  event: ExtractEvent,
  registry: MappingRegistry,
  defaultPageSize: number,
): ExtractRequest => {
  const resource = readPathParameter(event, 'resource');
  const compiled = registry.get(resource);
  if (compiled === undefined) {
    throw new NotFoundError(`unknown resource; known resources: ${[...registry.keys()].sort().join(', ')}`);
  }
  const query = Object.keys(event.queryStringParameters ?? {});
  if (query.length > 0) {
    throw new BadRequestError(
      `extract takes no query parameters (got ${query.join(', ')}): it reads every row of ${resource}; ` +
        `the body may hold pageSize, and POST /extract/${resource}/{id} previews one key`,
    );
  }
  const id = readOptionalPathParameter(event, 'id');
  if (id !== undefined) {
    if (!KEY.test(id)) {
      throw new BadRequestError(
        `id must be 1 to 64 letters, digits or . _ : - (the ${resource} primary key)`,
      );
    }
    return { kind: 'preview', compiled, key: id };
  }
  const body = batchBodySchema.safeParse(readJsonBody(event));
  if (!body.success) {
    throw new BadRequestError(`the body may only hold pageSize, an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return { kind: 'batch', compiled, pageSize: body.data?.pageSize ?? defaultPageSize };
};

export type ExtractApiDeps = ExtractBatchDeps & {
  registry: MappingRegistry;
  pageSize: number;
  clock: () => Date;
  newBatchId: () => string;
  onProgress?: (progress: ExtractProgress) => void;
  /** Batch tracking: the batch is opened before publishing, counted per page, sealed at the end. */
  batches?: BatchRegistry;
};

/**
 * Serves one extract request. A batch is published before the response: Lambda freezes the
 * process once a response is returned, so nothing may be left running after it.
 */
export const serveExtractRequest = async (
  event: ExtractEvent,
  deps: ExtractApiDeps,
): Promise<APIGatewayProxyStructuredResultV2> => {
  const request = parseExtractRequest(event, deps.registry, deps.pageSize);
  if (request.kind === 'preview') {
    try {
      return jsonResponse(
        200,
        await previewResource(request.compiled, deps.source, request.key, deps.clock()),
      );
    } catch (error) {
      if (error instanceof PreviewNotFoundError) throw new NotFoundError(error.message);
      if (error instanceof SourceInputError) {
        throw new BadRequestError(`id is not a valid ${request.compiled.mapping.id} primary key`, {
          cause: error,
        });
      }
      throw error;
    }
  }
  const batchId = deps.newBatchId();
  const batches = deps.batches;
  if (batches !== undefined) await batches.open(batchId, 'extract', deps.clock());
  const producer =
    batches === undefined ? deps.producer : trackExtracted(deps.producer, batches, 'extract', deps.clock);
  let summary: Awaited<ReturnType<typeof extractBatch>>;
  try {
    summary = await extractBatch(
      request.compiled,
      { ...deps, producer },
      {
        batchId,
        pageSize: request.pageSize,
        ...(deps.onProgress === undefined ? {} : { onProgress: deps.onProgress }),
      },
    );
  } catch (error) {
    // What was published before the failure is in flight: sealed, the batch completes once it ends,
    // marked interrupted with why (best effort: the extract's own error is the one to report).
    await batches?.seal(batchId, deps.clock(), describeSourceFailure(error)).catch(() => undefined);
    throw error;
  }
  await batches?.seal(batchId, deps.clock());
  return jsonResponse(202, summary);
};
