import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { buildHandler } from '../../../functions/batches';
import type { BatchView } from '../../../lib/batches/model';
import type { BatchReader } from '../../../lib/batches/mongo-batches';
import { UnavailableError } from '../../../lib/errors';

const ID = '6f1d7c1e-0000-4000-8000-000000000001';
const NOW = new Date('2026-11-22T23:00:00.000Z');
const context = { functionName: 'batches', awsRequestId: 'unit' } as Context;

const view = (state: BatchView['state']): BatchView => ({
  id: ID,
  origin: 'extract',
  state,
  sealed: true,
  resources: [],
  totals: { extracted: 0, transformed: 0, loaded: 0, failed: 0, dropped: 0 },
  createdAt: NOW.toISOString(),
  updatedAt: NOW.toISOString(),
});

const reader = (overrides: Partial<BatchReader> = {}): BatchReader & { lists: unknown[] } => {
  const lists: unknown[] = [];
  return {
    lists,
    list: async (filter) => {
      lists.push(filter);
      return [view('running')];
    },
    get: async (id) => (id === ID ? view('running') : undefined),
    cancel: async (id) => (id === ID ? { outcome: 'cancelled', view: view('cancelled') } : undefined),
    ...overrides,
  };
};

const call = async (
  batches: BatchReader,
  method: string,
  options: { id?: string; query?: Record<string, string> } = {},
): Promise<{ statusCode: number; json: Record<string, unknown> }> => {
  const handler = buildHandler({ batches, clock: () => NOW });
  const event = {
    requestContext: { http: { method } },
    ...(options.id === undefined ? {} : { pathParameters: { id: options.id } }),
    ...(options.query === undefined ? {} : { queryStringParameters: options.query }),
  } as unknown as APIGatewayProxyEventV2;
  const response = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
  return {
    statusCode: response.statusCode ?? 0,
    json: JSON.parse(response.body ?? 'null') as Record<string, unknown>,
  };
};

describe('batches API', () => {
  it('lists batches, newest first, with a state filter and a limit', async () => {
    const batches = reader();
    const response = await call(batches, 'GET', { query: { state: 'running', limit: '10' } });
    expect(response.statusCode).toBe(200);
    expect(response.json.batches).toHaveLength(1);
    expect(batches.lists).toEqual([{ state: 'running', limit: 10 }]);
  });

  it('reads one batch, and answers 404 for an unknown one', async () => {
    expect((await call(reader(), 'GET', { id: ID })).json).toMatchObject({ id: ID, state: 'running' });
    expect((await call(reader(), 'GET', { id: '6f1d7c1e-0000-4000-8000-0000000000ff' })).statusCode).toBe(
      404,
    );
  });

  it('cancels a batch with DELETE', async () => {
    const response = await call(reader(), 'DELETE', { id: ID });
    expect(response.statusCode).toBe(200);
    expect(response.json.state).toBe('cancelled');
  });

  it('refuses to cancel a completed batch with a 409', async () => {
    const batches = reader({ cancel: async () => ({ outcome: 'conflict', view: view('completed') }) });
    const response = await call(batches, 'DELETE', { id: ID });
    expect(response.statusCode).toBe(409);
    expect(response.json).toEqual({ error: 'Conflict', message: 'the batch is completed' });
  });

  it.each([
    ['a non-UUID id', 'GET', { id: 'x;drop' }],
    ['an unknown state', 'GET', { query: { state: 'lost' } }],
    ['a limit out of range', 'GET', { query: { limit: '0' } }],
    ['an unknown parameter', 'GET', { query: { sort: 'asc' } }],
  ])('answers 400 for %s', async (_, method, options) => {
    expect((await call(reader(), method, options)).statusCode).toBe(400);
  });

  it('answers 405 for DELETE /batches', async () => {
    expect((await call(reader(), 'DELETE')).statusCode).toBe(405);
  });

  it('answers a store outage with a 503 and no detail', async () => {
    const batches = reader({
      get: async () => {
        throw new UnavailableError('batch tracking: cannot read batches', {
          cause: new Error('secret host'),
        });
      },
    });
    const response = await call(batches, 'GET', { id: ID });
    expect(response.statusCode).toBe(503);
    expect(JSON.stringify(response.json)).not.toContain('secret');
  });
});
