import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { buildHandler } from '../../../functions/fhir';
import { UnavailableError } from '../../../lib/errors';
import { validateFhirResource } from '../../../lib/fhir/validate';
import type { FhirReadStore } from '../../../lib/fhir-api/api';
import type { FhirResource } from '../../../lib/fhir-api/bundle';
import type { Filter } from '../../../lib/fhir-api/filter';
import recorded from './fixtures/http-api-event.json';
import { httpApiEvent } from './http-event';
import { matchesFilter } from './match-filter';

const TYPES = ['Patient', 'Encounter', 'Observation', 'Condition'];
const PATIENT = '0b6a4c3e-7f1d-5a2b-9c8d-1e2f3a4b5c6d';
const context = { functionName: 'fhir', awsRequestId: 'unit' } as Context;
const BASE = 'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/fhir';

const observation = (n: number, patient = PATIENT): FhirResource => ({
  resourceType: 'Observation',
  id: `obs-${String(n).padStart(3, '0')}`,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: `Patient/${patient}` },
  effectiveDateTime: `2101-10-${String((n % 28) + 1).padStart(2, '0')}T08:00:00Z`,
});

/** The read port over arrays, filtering with the Mongo matcher double. */
const createMemoryStore = (collections: Record<string, FhirResource[]>): FhirReadStore => {
  const all = (type: string) =>
    [...(collections[type] ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const matching = (type: string, filter: Filter) =>
    all(type).filter((resource) => matchesFilter({ ...resource, _id: resource.id }, filter));
  return {
    readResource: async (type, id) => all(type).find((resource) => resource.id === id),
    findResources: async (type, query) => {
      const found = matching(type, query.filter);
      return (query.sort === 1 ? found : found.reverse()).slice(0, query.limit);
    },
    countResources: async (type, filter) => matching(type, filter).length,
    hasResource: async (type, filter) => matching(type, filter).length > 0,
  };
};

const serve = (store: FhirReadStore) => {
  const handler = buildHandler({
    store,
    resourceTypes: TYPES,
    clock: () => new Date('2026-11-22T23:00:00Z'),
  });
  return async (url: string, headers: Record<string, string> = {}, stage?: string) => {
    const event = httpApiEvent(url, headers, stage === undefined ? {} : { stage });
    const response = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
    return { ...response, json: JSON.parse(response.body ?? 'null') as Record<string, unknown> };
  };
};

type Bundle = {
  total: number;
  entry?: { resource: FhirResource }[];
  link: { relation: string; url: string }[];
};
const linkOf = (bundle: Bundle, relation: string) =>
  bundle.link.find((link) => link.relation === relation)?.url;
const pathOf = (url: string) => url.slice(BASE.length - '/fhir'.length);

describe('the fhir handler', () => {
  const observations = Array.from({ length: 23 }, (_, n) => observation(n));
  const store = createMemoryStore({ Observation: [...observations, observation(99, 'someone-else')] });
  const get = serve(store);

  it('serves the CapabilityStatement at /fhir/metadata as FHIR JSON', async () => {
    const response = await get('/fhir/metadata');
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(response.json).toMatchObject({
      resourceType: 'CapabilityStatement',
      implementation: { url: BASE },
    });
  });

  it('reads a resource by id', async () => {
    const response = await get('/fhir/Observation/obs-004');
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(response.json).toEqual(observation(4));
  });

  it('answers a missing id, an unknown type and a malformed id with OperationOutcomes', async () => {
    const missing = await get('/fhir/Observation/obs-777');
    expect(missing.statusCode).toBe(404);
    expect(missing.headers?.['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(missing.json).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', diagnostics: 'no Observation with this id' }],
    });
    expect(validateFhirResource(missing.json)).toEqual([]);
    const unknown = await get('/fhir/Medication?code=x');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json).toMatchObject({
      issue: [
        {
          code: 'not-found',
          diagnostics: 'unknown resource type; supported: Condition, Encounter, Observation, Patient',
        },
      ],
    });
    expect((await get('/fhir/Observation/a%20b')).statusCode).toBe(400);
  });

  it.each([
    ['/fhir/Observation?date=xx2101', /^date must be/],
    ['/fhir/Observation?_count=abc', /^_count must be an integer/],
    ['/fhir/Observation?colour=red', /^unknown search parameter for Observation/],
    ['/fhir/Observation?_cursor=forged', /^_cursor is not a cursor/],
  ])('answers %s with a 400 OperationOutcome', async (url, message) => {
    const response = await get(url);
    expect(response.statusCode).toBe(400);
    expect(response.headers?.['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(response.json).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', diagnostics: expect.stringMatching(message) }],
    });
  });

  it('ignores an unknown parameter with Prefer: handling=lenient', async () => {
    const response = await get('/fhir/Observation?colour=red&_count=1', { prefer: 'handling=lenient' });
    expect(response.statusCode).toBe(200);
    expect(linkOf(response.json as Bundle, 'self')).toBe(`${BASE}/Observation?_count=1`);
  });

  it('ANDs repeated parameters although API Gateway joins them in queryStringParameters', async () => {
    const event = structuredClone(recorded);
    const handler = buildHandler({ store, resourceTypes: TYPES, clock: () => new Date() });
    const response = (await handler(event as never, context)) as APIGatewayProxyStructuredResultV2;
    const bundle = JSON.parse(response.body ?? '') as Bundle;
    expect(bundle.total).toBe(23);
    expect(linkOf(bundle, 'self')).toContain('date=ge2101-10-01&date=lt2101-11');
  });

  it('pages forward through every match exactly once, then back again', async () => {
    const first = (await get(`/fhir/Observation?patient=${PATIENT}&_count=5`)).json as Bundle;
    expect(validateFhirResource(first)).toEqual([]);
    expect(linkOf(first, 'previous')).toBeUndefined();
    const forward: Bundle[] = [first];
    for (
      let next = linkOf(first, 'next');
      next !== undefined;
      next = linkOf(forward.at(-1) as Bundle, 'next')
    ) {
      forward.push((await get(pathOf(next))).json as Bundle);
    }
    const ids = forward.flatMap((page) => (page.entry ?? []).map((entry) => entry.resource.id));
    expect(ids).toEqual(observations.map((resource) => resource.id));
    expect(forward.map((page) => page.entry?.length)).toEqual([5, 5, 5, 5, 3]);
    expect(forward.every((page) => page.total === 23)).toBe(true);

    const backward: Bundle[] = [forward.at(-1) as Bundle];
    for (let previous = linkOf(backward[0] as Bundle, 'previous'); previous !== undefined; ) {
      const page = (await get(pathOf(previous))).json as Bundle;
      backward.push(page);
      previous = linkOf(page, 'previous');
    }
    expect(backward.map((page) => page.entry?.map((entry) => entry.resource.id))).toEqual(
      forward.map((page) => page.entry?.map((entry) => entry.resource.id)).reverse(),
    );
  });

  it('neither repeats nor skips a resource when one is inserted while a client pages', async () => {
    const growing = [...observations];
    const get2 = serve(createMemoryStore({ Observation: growing }));
    const first = (await get2(`/fhir/Observation?_count=10`)).json as Bundle;
    growing.push({ ...observation(0), id: 'obs-000a' });
    const second = (await get2(pathOf(linkOf(first, 'next') as string))).json as Bundle;
    const ids = [...(first.entry ?? []), ...(second.entry ?? [])].map((entry) => entry.resource.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('obs-010');
  });

  it('links the previous page of an empty page past the end', async () => {
    const lastId = observations.at(-1)?.id as string;
    const cursor = Buffer.from(JSON.stringify({ a: lastId })).toString('base64url');
    const empty = (await get(`/fhir/Observation?patient=${PATIENT}&_count=5&_cursor=${cursor}`))
      .json as Bundle;
    expect(empty.entry).toBeUndefined();
    expect(linkOf(empty, 'next')).toBeUndefined();
    const previous = (await get(pathOf(linkOf(empty, 'previous') as string))).json as Bundle;
    expect(previous.entry?.map((entry) => entry.resource.id)).toEqual(
      observations.slice(-5).map((resource) => resource.id),
    );
  });

  it('returns the total alone for _count=0', async () => {
    const bundle = (await get(`/fhir/Observation?_count=0`)).json as Bundle;
    expect(bundle).toMatchObject({ total: 24 });
    expect(bundle.entry).toBeUndefined();
    expect(bundle.link.map((link) => link.relation)).toEqual(['self']);
  });

  it('builds links from the URL the client called, stage prefix included', async () => {
    const response = await get(
      '/fhir/Observation?_count=1',
      { host: 'fhir.example.org', 'x-forwarded-proto': 'http' },
      'prod',
    );
    expect(linkOf(response.json as Bundle, 'self')).toBe(
      'http://fhir.example.org/prod/fhir/Observation?_count=1',
    );
  });

  it('answers a store outage with a 503 OperationOutcome and Retry-After', async () => {
    const down = serve({
      ...store,
      findResources: async () => {
        throw new UnavailableError('cannot read Observation from mongodb://10.0.0.5');
      },
    });
    const response = await down('/fhir/Observation');
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({
      'retry-after': '5',
      'content-type': 'application/fhir+json; charset=utf-8',
    });
    expect(response.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
    expect(response.body).not.toContain('10.0.0.5');
  });

  it('answers a bug with a generic 500, never its message or stack', async () => {
    const broken = serve({
      ...store,
      readResource: async () => {
        throw new TypeError(
          'Cannot read properties of undefined (reading "subject") at /var/task/index.js:1:2',
        );
      },
    });
    const response = await broken('/fhir/Observation/obs-001');
    expect(response.statusCode).toBe(500);
    expect(response.json).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'exception', diagnostics: 'internal error' }],
    });
  });
});
