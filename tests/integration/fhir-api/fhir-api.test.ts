import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type Db, MongoClient } from 'mongodb';
import { buildHandler } from '../../../functions/fhir';
import { generateClinicalDataset } from '../../../lib/clinical/generate';
import { loadConfig } from '../../../lib/config';
import { groupRowsByKey, selectRowsInMemory, transformRows } from '../../../lib/fhir';
import { listFhirProblems, validateFhirResource } from '../../../lib/fhir/validate';
import type { FhirResource } from '../../../lib/fhir-api/bundle';
import { createMongoFhirReader } from '../../../lib/fhir-api/mongo-reader';
import { createMongoFhirStore } from '../../../lib/mongo/fhir-store';
import { createSeededRandom } from '../../../lib/random';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';
import { httpApiEvent } from '../../unit/fhir-api/http-event';
import { at, condition, encounter, glucose, heartRate, ICD9, LOINC, patient } from './seed';

jest.setTimeout(120_000);

const config = loadConfig();
const registry = loadShippedMappings();
const TYPES = [...new Set([...registry.values()].map((compiled) => compiled.mapping.resourceType))];
const context = { functionName: 'fhir', awsRequestId: 'fhir-api-it' } as Context;
const HOST = 'a1b2c3d4e5.execute-api.us-east-1.amazonaws.com';
const BASE = `https://${HOST}/fhir`;

type Bundle = {
  resourceType: 'Bundle';
  total: number;
  entry?: { fullUrl: string; resource: FhirResource; search: { mode: string } }[];
  link: { relation: string; url: string }[];
};
type Response = APIGatewayProxyStructuredResultV2 & { json: Record<string, unknown> };

/** Everything created here, removed in afterAll (last created, first removed). */
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** A database of this test's own on the real server, dropped at cleanup. */
const createTestDatabase = async (): Promise<Db> => {
  const client = new MongoClient(config.MONGODB_URI, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  const db = client.db(`medstream_it_fhirapi_${randomUUID().replaceAll('-', '')}`);
  cleanups.push(async () => {
    await db.dropDatabase();
    await client.close();
  });
  return db;
};

/** Loads resources through the real write path (the load-fhir store: upserts by id, indexes). */
const seed = async (db: Db, resources: readonly FhirResource[]): Promise<void> => {
  expect(listFhirProblems(resources)).toEqual([]);
  const store = createMongoFhirStore(db);
  for (const type of new Set(resources.map((resource) => resource.resourceType))) {
    const result = await store.upsertResources(
      type,
      resources.filter((resource) => resource.resourceType === type) as never,
    );
    expect(result.failed).toEqual([]);
  }
};

/** The real handler on the real store, called with HTTP API events. */
const serve = (db: Db) => {
  const handler = buildHandler({
    store: createMongoFhirReader(db),
    resourceTypes: TYPES,
    clock: () => new Date(),
  });
  return async (url: string, headers: Record<string, string> = {}): Promise<Response> => {
    const response = (await handler(
      httpApiEvent(url, { host: HOST, ...headers }),
      context,
    )) as APIGatewayProxyStructuredResultV2;
    return { ...response, json: JSON.parse(response.body ?? 'null') as Record<string, unknown> };
  };
};

const linkOf = (bundle: Bundle, relation: string) =>
  bundle.link.find((link) => link.relation === relation)?.url;
const pathOf = (url: string) => url.slice(`https://${HOST}`.length);
const idsOf = (bundle: Bundle) => (bundle.entry ?? []).map((entry) => entry.resource.id);
const sorted = (ids: readonly string[]) => [...ids].sort();

/** Follows `next` from a first page to the end; every page is checked as an R4 searchset. */
const pageForward = async (get: ReturnType<typeof serve>, url: string): Promise<Bundle[]> => {
  const pages: Bundle[] = [];
  for (let next: string | undefined = url; next !== undefined; ) {
    const response = await get(next);
    expect(response.statusCode).toBe(200);
    const page = response.json as Bundle;
    pages.push(page);
    next = linkOf(page, 'next') === undefined ? undefined : pathOf(linkOf(page, 'next') as string);
    if (pages.length > 1_000) throw new Error('paging does not end');
  }
  return pages;
};

describe('GET /fhir on the real store (hand-built resources)', () => {
  const alice = patient('2061-03-15', 'MRN-1');
  const bob = patient('2070-11', 'MRN-2', 'male');
  const carol = patient('2075', 'MRN-3');
  const aliceHeartRates = Array.from({ length: 30 }, (_, index) =>
    heartRate(alice, at(index + 1), 70 + index),
  );
  const aliceGlucose = [5, 15, 25].map((day) => glucose(alice, at(day, 6)));
  const bobHeartRates = Array.from({ length: 6 }, (_, index) => heartRate(bob, at(index + 10, 20), 90));
  const e1 = encounter(alice, '2101-10-01T06:00:00Z', '2101-10-12T10:00:00Z');
  const e2 = encounter(alice, '2101-10-20T06:00:00Z', '2101-10-31T12:00:00Z');
  const e3 = encounter(bob, '2101-10-09T00:00:00Z');
  const c1 = condition(alice, '428.0', '2101-10-12T10:00:00Z');
  const c2 = condition(alice, '584.9', '2101-10-31T12:00:00Z');
  const c3 = condition(bob, '428.0', '2101-10-15T00:00:00Z');
  const observations = [...aliceHeartRates, ...aliceGlucose, ...bobHeartRates];
  const aliceObservations = [...aliceHeartRates, ...aliceGlucose];
  let get: ReturnType<typeof serve>;

  beforeAll(async () => {
    const db = await createTestDatabase();
    await seed(db, [alice, bob, carol, ...observations, e1, e2, e3, c1, c2, c3]);
    get = serve(db);
  });

  const search = async (url: string): Promise<Bundle> => {
    const response = await get(url);
    expect({ url, status: response.statusCode }).toEqual({ url, status: 200 });
    expect(response.headers?.['content-type']).toBe('application/fhir+json; charset=utf-8');
    return response.json as Bundle;
  };
  const idsFound = async (url: string) => sorted(idsOf(await search(url)));
  const idsOfAll = (resources: readonly FhirResource[]) => sorted(resources.map((resource) => resource.id));

  it('reads a resource by id, as it was loaded', async () => {
    const response = await get(`/fhir/Patient/${alice.id}`);
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(response.json).toEqual(alice);
    expect((await get(`/fhir/Observation/${aliceHeartRates[3]?.id}`)).json).toEqual(aliceHeartRates[3]);
  });

  it('answers an id it does not hold with a 404 OperationOutcome', async () => {
    const response = await get(`/fhir/Patient/${randomUUID()}`);
    expect(response.statusCode).toBe(404);
    expect(response.json).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-found' }] });
    // an Observation id is not a Patient
    expect((await get(`/fhir/Patient/${aliceHeartRates[0]?.id}`)).statusCode).toBe(404);
  });

  it('searches by patient, as Patient/<id> or <id>, into a valid searchset', async () => {
    const bundle = await search(`/fhir/Observation?patient=Patient/${alice.id}&_count=100`);
    expect(validateFhirResource(bundle)).toEqual([]);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 33 });
    expect(sorted(idsOf(bundle))).toEqual(idsOfAll(aliceObservations));
    for (const entry of bundle.entry ?? []) {
      expect(entry.fullUrl).toBe(`${BASE}/Observation/${entry.resource.id}`);
      expect(entry.search).toEqual({ mode: 'match' });
    }
    expect(await idsFound(`/fhir/Observation?patient=${alice.id}&_count=100`)).toEqual(
      idsOfAll(aliceObservations),
    );
    expect(await idsFound(`/fhir/Encounter?patient=${bob.id}`)).toEqual([e3.id]);
    expect(await idsFound(`/fhir/Condition?subject=Patient/${bob.id}`)).toEqual([c3.id]);
    expect((await search(`/fhir/Observation?patient=${carol.id}`)).total).toBe(0);
  });

  it('searches by code as system|code, code or |code', async () => {
    const heartRates = [...aliceHeartRates, ...bobHeartRates];
    expect(await idsFound(`/fhir/Observation?code=${LOINC}|8867-4&_count=100`)).toEqual(idsOfAll(heartRates));
    expect(await idsFound('/fhir/Observation?code=220045&_count=100')).toEqual(idsOfAll(heartRates));
    expect(await idsFound(`/fhir/Observation?code=${LOINC}|220045`)).toEqual([]);
    expect(await idsFound('/fhir/Observation?code=|8867-4')).toEqual([]);
    expect(await idsFound(`/fhir/Observation?code=${LOINC}|2345-7,${LOINC}|0000-0`)).toEqual(
      idsOfAll(aliceGlucose),
    );
    expect(await idsFound(`/fhir/Condition?code=${ICD9}|428.0`)).toEqual(idsOfAll([c1, c3]));
    expect(await idsFound(`/fhir/Observation?patient=${bob.id}&code=${LOINC}%7C8867-4`)).toEqual(
      idsOfAll(bobHeartRates),
    );
  });

  it('searches by category and by gender', async () => {
    const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
    expect(await idsFound('/fhir/Observation?category=laboratory&_count=100')).toEqual(
      idsOfAll(aliceGlucose),
    );
    expect(
      await idsFound(`/fhir/Observation?patient=${bob.id}&category=${OBSERVATION_CATEGORY}|vital-signs`),
    ).toEqual(idsOfAll(bobHeartRates));
    expect(await idsFound(`/fhir/Observation?category=${OBSERVATION_CATEGORY}|encounter-diagnosis`)).toEqual(
      [],
    );
    expect(await idsFound('/fhir/Condition?category=encounter-diagnosis')).toEqual(idsOfAll([c1, c2, c3]));
    expect(await idsFound('/fhir/Patient?gender=male')).toEqual([bob.id]);
    expect(await idsFound('/fhir/Patient?gender=female')).toEqual(idsOfAll([alice, carol]));
    expect(
      await idsFound('/fhir/Patient?gender=http://hl7.org/fhir/administrative-gender|male,other'),
    ).toEqual([bob.id]);
    expect(await idsFound('/fhir/Patient?gender=|male')).toEqual([]);
  });

  it('searches a date range on Observation.effective', async () => {
    const inRange = aliceObservations.filter((resource) => {
      const day = Number(String(resource.effectiveDateTime).slice(8, 10));
      return day >= 10 && day < 20;
    });
    expect(inRange).toHaveLength(11);
    expect(
      await idsFound(`/fhir/Observation?patient=${alice.id}&date=ge2101-10-10&date=lt2101-10-20`),
    ).toEqual(idsOfAll(inRange));
    expect((await search('/fhir/Observation?date=2101-10-15')).total).toBe(3);
    expect(await idsFound('/fhir/Observation?date=gt2101-10-29')).toEqual([aliceHeartRates[29]?.id]);
    expect(await idsFound('/fhir/Observation?date=2101-10-30T08:00:00Z')).toEqual([aliceHeartRates[29]?.id]);
    expect(await idsFound('/fhir/Observation?date=2101-10-30T10:00:00%2B02:00')).toEqual([
      aliceHeartRates[29]?.id,
    ]);
    expect((await search('/fhir/Observation?date=2101-10&_count=0')).total).toBe(39);
    expect((await search('/fhir/Observation?date=ne2101-10')).total).toBe(0);
  });

  it('searches Encounter.period as a range, an ongoing encounter never ending', async () => {
    expect(await idsFound('/fhir/Encounter?date=2101-10-12')).toEqual([]);
    expect(await idsFound('/fhir/Encounter?date=ge2101-10-25')).toEqual(idsOfAll([e2, e3]));
    expect(await idsFound('/fhir/Encounter?date=lt2101-10-05')).toEqual([e1.id]);
    expect(await idsFound('/fhir/Encounter?date=sa2101-10-15')).toEqual([e2.id]);
    expect(await idsFound('/fhir/Encounter?date=eb2101-10-15')).toEqual([e1.id]);
    expect(await idsFound('/fhir/Encounter?date=ge2101-10-10&date=le2101-10-15')).toEqual(idsOfAll([e1, e3]));
    expect(await idsFound('/fhir/Encounter?date=2101-10')).toEqual(idsOfAll([e1, e2]));
  });

  it('searches Condition and Patient dates with partial-date semantics', async () => {
    expect(await idsFound(`/fhir/Condition?patient=${alice.id}&date=ge2101-10-31`)).toEqual([c2.id]);
    expect(await idsFound('/fhir/Condition?recorded-date=2101-10')).toEqual(idsOfAll([c1, c2, c3]));
    // bob was born in November 2070 (month precision): within 2070, not within 5 November
    expect(await idsFound('/fhir/Patient?birthdate=2070')).toEqual([bob.id]);
    expect(await idsFound('/fhir/Patient?birthdate=2070-11-05')).toEqual([]);
    expect(await idsFound('/fhir/Patient?birthdate=ge2070-11-05')).toEqual(idsOfAll([bob, carol]));
    expect(await idsFound('/fhir/Patient?date=lt2062')).toEqual([alice.id]);
    expect(await idsFound('/fhir/Patient?identifier=MRN-2')).toEqual([bob.id]);
  });

  it('pages through every match exactly once with next links, and back with previous', async () => {
    const pages = await pageForward(get, `/fhir/Observation?patient=${alice.id}&_count=7`);
    expect(pages.map((page) => page.entry?.length)).toEqual([7, 7, 7, 7, 5]);
    expect(pages.every((page) => page.total === 33)).toBe(true);
    const ids = pages.flatMap(idsOf);
    expect(new Set(ids).size).toBe(ids.length);
    expect(sorted(ids)).toEqual(idsOfAll(aliceObservations));
    for (const page of pages) expect(validateFhirResource(page)).toEqual([]);
    expect(linkOf(pages[0] as Bundle, 'previous')).toBeUndefined();
    expect(linkOf(pages[0] as Bundle, 'self')).toBe(`${BASE}/Observation?patient=${alice.id}&_count=7`);

    const backward: Bundle[] = [pages.at(-1) as Bundle];
    for (let previous = linkOf(backward[0] as Bundle, 'previous'); previous !== undefined; ) {
      const page = await search(pathOf(previous));
      backward.push(page);
      previous = linkOf(page, 'previous');
    }
    expect(backward.map(idsOf)).toEqual(pages.map(idsOf).reverse());
  });

  it.each([
    [
      '/fhir/Medication',
      404,
      'not-found',
      /^unknown resource type; supported: Condition, Encounter, Observation, Patient$/,
    ],
    ['/fhir/Observation?date=xx2101-10', 400, 'invalid', /^date must be/],
    ['/fhir/Observation?date=ap2101-10', 400, 'invalid', /ap is not supported/],
    ['/fhir/Observation?_count=abc', 400, 'invalid', /^_count must be an integer/],
    ['/fhir/Observation?colour=red', 400, 'invalid', /^unknown search parameter for Observation/],
    ['/fhir/Observation?code:text=pulse', 400, 'invalid', /modifiers are not supported/],
    ['/fhir/Encounter?subject=Device/x', 400, 'invalid', /refers to Patient or Group/],
    ['/fhir/Observation?_cursor=not-ours', 400, 'invalid', /not a cursor this server issued/],
  ])('answers %s with %i and an OperationOutcome, never a stack', async (url, status, code, message) => {
    const response = await get(url);
    expect(response.statusCode).toBe(status);
    expect(response.headers?.['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(response.json).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code, diagnostics: expect.stringMatching(message) }],
    });
    expect(response.body).not.toMatch(/ at |\.ts:|Error:/);
  });

  it('states what it serves at /fhir/metadata', async () => {
    const response = await get('/fhir/metadata');
    expect(response.statusCode).toBe(200);
    const rest = (response.json.rest as { resource: { type: string }[] }[])[0];
    expect(rest?.resource.map((resource) => resource.type)).toEqual([
      'Condition',
      'Encounter',
      'Observation',
      'Patient',
    ]);
    expect(response.json).toMatchObject({
      resourceType: 'CapabilityStatement',
      implementation: { url: BASE },
    });
  });
});

describe('GET /fhir on the real store (resources the mapping engine makes of generated rows)', () => {
  const dataset = generateClinicalDataset({ patients: 3 }, createSeededRandom(11));
  const resources: FhirResource[] = [...registry.values()].flatMap((compiled) =>
    groupRowsByKey(compiled, selectRowsInMemory(compiled, dataset)).map(
      (group) => transformRows(compiled, group.rows, new Date('2026-11-22T23:00:00Z')) as FhirResource,
    ),
  );
  const ofType = (type: string) => resources.filter((resource) => resource.resourceType === type);
  let get: ReturnType<typeof serve>;

  beforeAll(async () => {
    const db = await createTestDatabase();
    await seed(db, resources);
    get = serve(db);
  });

  it('pages every type through every resource exactly once', async () => {
    for (const type of TYPES) {
      const pages = await pageForward(get, `/fhir/${type}?_count=150`);
      const ids = pages.flatMap(idsOf);
      expect({ type, duplicates: ids.length - new Set(ids).size }).toEqual({ type, duplicates: 0 });
      expect(sorted(ids)).toEqual(sorted(ofType(type).map((resource) => resource.id)));
      expect(pages.every((page) => page.total === ofType(type).length)).toBe(true);
    }
  });

  it('finds each patient’s observations in a date range as the mapped data says', async () => {
    for (const subject of ofType('Patient')) {
      const theirs = ofType('Observation').filter((resource) => {
        const reference = (resource.subject as { reference?: string } | undefined)?.reference;
        return reference === `Patient/${subject.id}`;
      });
      const total = (await get(`/fhir/Observation?patient=${subject.id}&_count=0`)).json.total;
      expect(total).toBe(theirs.length);
      const times = theirs.map((resource) => String(resource.effectiveDateTime)).sort();
      const from = times[Math.floor(times.length / 3)]?.slice(0, 13) ?? '2100-01-01T00';
      const to = times[Math.floor((2 * times.length) / 3)]?.slice(0, 10) ?? '2100-01-02';
      const expected = theirs.filter((resource) => {
        const time = Date.parse(String(resource.effectiveDateTime));
        return time >= Date.parse(`${from}:00:00Z`) && time < Date.parse(`${to}T00:00:00Z`);
      });
      expect(expected.length).toBeGreaterThan(0);
      const pages = await pageForward(
        get,
        `/fhir/Observation?patient=${subject.id}&date=ge${from}:00Z&date=lt${to}&_count=1000`,
      );
      expect(sorted(pages.flatMap(idsOf))).toEqual(sorted(expected.map((resource) => resource.id)));
    }
  });
});

describe('GET /fhir when the store is down', () => {
  it('answers 503 with an OperationOutcome and Retry-After, naming no host', async () => {
    const client = new MongoClient('mongodb://127.0.0.1:1/?directConnection=true', {
      serverSelectionTimeoutMS: 300,
      connectTimeoutMS: 300,
    });
    cleanups.push(() => client.close());
    const get = serve(client.db('medstream_unreachable'));
    for (const url of ['/fhir/Observation?code=8867-4', `/fhir/Patient/${randomUUID()}`]) {
      const response = await get(url);
      expect(response.statusCode).toBe(503);
      expect(response.headers).toMatchObject({
        'retry-after': '5',
        'content-type': 'application/fhir+json; charset=utf-8',
      });
      expect(response.json).toEqual({
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'transient',
            diagnostics: 'a service this request needs is unavailable; retry later',
          },
        ],
      });
    }
  });
});
