import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { buildHandler } from '../../../functions/extract';
import { UnavailableError } from '../../../lib/errors';
import { parseExtractRequest } from '../../../lib/extract/api';
import { SourceInputError } from '../../../lib/extract/source';
import { deriveResourceId } from '../../../lib/fhir';
import { createTopicNames, PIPELINE_HEADERS } from '../../../lib/transform/messages';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';
import { recordingProducer } from '../transform/kafka-events';
import { dataset, memorySource } from './fakes';

const registry = loadShippedMappings();
const NOW = new Date('2026-11-22T23:00:00.000Z');
const context = { functionName: 'extract', awsRequestId: 'req-1' } as Context;

const request = (pathParameters: Record<string, string>, body?: string): APIGatewayProxyEventV2 =>
  ({
    pathParameters,
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  }) as APIGatewayProxyEventV2;

const compiledOf = (id: string) => {
  const compiled = registry.get(id);
  if (compiled === undefined) throw new Error(id);
  return compiled;
};

const handlerWith = (
  id: string,
  overrides: {
    source?: Parameters<typeof buildHandler>[0]['source'];
    fail?: Error;
    batches?: Parameters<typeof buildHandler>[0]['batches'];
  } = {},
) => {
  const source = overrides.source ?? memorySource(compiledOf(id));
  const { producer, sent } = recordingProducer(overrides.fail);
  const progress: unknown[] = [];
  const handler = buildHandler({
    registry,
    source,
    producer,
    topics: createTopicNames('t.'),
    pageSize: 5,
    clock: () => NOW,
    newBatchId: () => '6f1d7c1e-0000-4000-8000-000000000001',
    onProgress: (entry) => progress.push(entry),
    ...(overrides.batches === undefined ? {} : { batches: overrides.batches }),
  });
  return { invoke: (event: APIGatewayProxyEventV2) => handler(event, context), sent, progress };
};

const bodyOf = (response: { body?: string }) =>
  JSON.parse(response.body ?? 'null') as Record<string, unknown>;

describe('parseExtractRequest', () => {
  it('reads a batch request with the default page size', () => {
    expect(parseExtractRequest(request({ resource: 'mimic-patient' }), registry, 500)).toMatchObject({
      kind: 'batch',
      pageSize: 500,
    });
  });

  it('takes a page size from the body', () => {
    const parsed = parseExtractRequest(
      request({ resource: 'mimic-patient' }, '{"pageSize":20}'),
      registry,
      500,
    );
    expect(parsed).toMatchObject({ kind: 'batch', pageSize: 20 });
  });

  it.each([['{"pageSize":0}'], ['{"pageSize":"many"}'], ['{"other":1}'], ['not json']])(
    'refuses the body %s with a 400',
    (body) => {
      expect(() => parseExtractRequest(request({ resource: 'mimic-patient' }, body), registry, 500)).toThrow(
        expect.objectContaining({ statusCode: 400 }),
      );
    },
  );

  it('answers an unknown resource with a 404 naming the known ones', () => {
    expect(() => parseExtractRequest(request({ resource: 'mimic-nothing' }), registry, 500)).toThrow(
      expect.objectContaining({ statusCode: 404, message: expect.stringContaining('mimic-patient') }),
    );
  });

  it.each([['1 OR 1=1'], ['a'.repeat(65)], ['x/y']])('refuses the id %s with a 400', (id) => {
    expect(() => parseExtractRequest(request({ resource: 'mimic-patient', id }), registry, 500)).toThrow(
      expect.objectContaining({ statusCode: 400 }),
    );
  });
});

it.each([[{}], [{ id: '2' }]])('refuses a query parameter (path %o) instead of ignoring it', (extra) => {
  const event = {
    ...request({ resource: 'mimic-patient', ...extra }),
    queryStringParameters: { limit: '10', since: '2020' },
  };
  expect(() => parseExtractRequest(event, registry, 500)).toThrow(
    expect.objectContaining({
      statusCode: 400,
      message: expect.stringContaining('extract takes no query parameters (got limit, since)'),
    }),
  );
});

it('reads an event whose query string is empty', () => {
  const event = { ...request({ resource: 'mimic-patient' }), queryStringParameters: {} };
  expect(parseExtractRequest(event, registry, 500)).toMatchObject({ kind: 'batch' });
});

describe('POST /extract/{resource}', () => {
  it('publishes every resource once, keyed and with the batch headers, in bounded chunks', async () => {
    const { invoke, sent, progress } = handlerWith('mimic-patient');
    const response = await invoke(request({ resource: 'mimic-patient' }));
    expect(response.statusCode).toBe(202);
    expect(bodyOf(response)).toMatchObject({
      batchId: '6f1d7c1e-0000-4000-8000-000000000001',
      resource: 'mimic-patient',
      topic: 't.raw.mimic-patient',
      resources: dataset.patients.length,
      rows: dataset.patients.length,
      chunks: Math.ceil(dataset.patients.length / 5),
    });
    expect(sent.every((send) => send.topic === 't.raw.mimic-patient' && send.messages.length <= 5)).toBe(
      true,
    );
    const messages = sent.flatMap((send) => send.messages);
    expect(messages.map((message) => message.key)).toEqual(
      dataset.patients.map((patient) => String(patient.subject_id)).sort((a, b) => Number(a) - Number(b)),
    );
    expect(messages[0]?.headers).toEqual({
      [PIPELINE_HEADERS.batchId]: '6f1d7c1e-0000-4000-8000-000000000001',
      [PIPELINE_HEADERS.mapping]: 'mimic-patient',
    });
    expect(JSON.parse(String(messages[0]?.value))).toMatchObject({
      mapping: 'mimic-patient',
      rows: [expect.any(Object)],
    });
    expect(progress).toHaveLength(Math.ceil(dataset.patients.length / 5));
  });

  it('keeps all rows of a resource with a many join in one record', async () => {
    const { invoke, sent } = handlerWith('mimic-encounter-admission');
    await invoke(request({ resource: 'mimic-encounter-admission' }));
    const messages = sent.flatMap((send) => send.messages);
    expect(messages).toHaveLength(dataset.admissions.length);
    for (const message of messages) {
      const value = JSON.parse(String(message.value)) as { key: number; rows: unknown[] };
      const diagnoses = dataset.diagnoses_icd.filter((row) => row.hadm_id === value.key).length;
      expect(value.rows).toHaveLength(Math.max(diagnoses, 1));
    }
  });

  it('answers a broker outage with a 503 and a generic message', async () => {
    const { invoke } = handlerWith('mimic-patient', {
      fail: new UnavailableError('cannot publish to t.raw'),
    });
    const response = await invoke(request({ resource: 'mimic-patient' }));
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBeDefined();
    expect(response.body).not.toContain('t.raw');
  });
});

describe('POST /extract/{resource}/{id}', () => {
  it('previews one key: rows, resource and an OperationOutcome, publishing nothing', async () => {
    const admission = dataset.admissions[2];
    if (admission === undefined) throw new Error('dataset');
    const { invoke, sent } = handlerWith('mimic-encounter-admission');
    const response = await invoke(
      request({ resource: 'mimic-encounter-admission', id: String(admission.hadm_id) }),
    );
    expect(response.statusCode).toBe(200);
    const body = bodyOf(response) as {
      rows: unknown[];
      resources: { id: string; resourceType: string }[];
      outcome: { resourceType: string; issue: { severity: string }[] };
    };
    expect(body.rows.length).toBeGreaterThan(0);
    expect(body.resources).toEqual([
      expect.objectContaining({
        resourceType: 'Encounter',
        id: deriveResourceId('mimic-encounter-admission', admission.hadm_id),
      }),
    ]);
    expect(body.outcome.resourceType).toBe('OperationOutcome');
    expect(body.outcome.issue).toEqual([expect.objectContaining({ severity: 'information' })]);
    expect(sent).toEqual([]);
  });

  it('reports a row the mapping rejects in the outcome, without its value', async () => {
    const compiled = compiledOf('mimic-patient');
    const patient = dataset.patients[0];
    if (patient === undefined) throw new Error('dataset');
    const source = {
      query: async () => [
        {
          'patients.subject_id': patient.subject_id,
          'patients.gender': 'F',
          'patients.dob': 'yesterday-ish',
          'patients.dod': null,
        },
      ],
    };
    expect(compiled.columns).toContain('patients.dob');
    const { invoke } = handlerWith('mimic-patient', { source });
    const response = await invoke(request({ resource: 'mimic-patient', id: String(patient.subject_id) }));
    expect(response.statusCode).toBe(200);
    const body = bodyOf(response) as {
      resources: unknown[];
      outcome: { issue: { severity: string; diagnostics: string }[] };
    };
    expect(body.resources).toEqual([]);
    expect(body.outcome.issue[0]).toMatchObject({ severity: 'error' });
    expect(body.outcome.issue[0]?.diagnostics).toContain('patients.dob');
    expect(body.outcome.issue[0]?.diagnostics).not.toContain('yesterday');
  });

  it('answers a key without rows with a 404', async () => {
    const { invoke } = handlerWith('mimic-patient');
    const response = await invoke(request({ resource: 'mimic-patient', id: '999999' }));
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({
      error: 'Not Found',
      message: 'mimic-patient has no source rows for this id',
    });
  });

  it('answers a key the source column cannot hold with a 400', async () => {
    const source = {
      query: async () => {
        throw new SourceInputError('a bound value does not fit its source column');
      },
    };
    const { invoke } = handlerWith('mimic-patient', { source });
    const response = await invoke(request({ resource: 'mimic-patient', id: 'abc' }));
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response).message).toBe('id is not a valid mimic-patient primary key');
  });

  it('answers a source outage with a 503, never the driver message', async () => {
    const source = {
      query: async () => {
        throw new UnavailableError('the clinical database is unavailable', {
          cause: new Error('connect ECONNREFUSED 127.0.0.1:5432 SELECT "patients"'),
        });
      },
    };
    const { invoke } = handlerWith('mimic-patient', { source });
    const response = await invoke(request({ resource: 'mimic-patient', id: '1' }));
    expect(response.statusCode).toBe(503);
    expect(response.body).not.toMatch(/SELECT|ECONNREFUSED|stack/);
  });

  it("marks an extract's batch interrupted with why when its source fails, never the driver message", async () => {
    const seals: unknown[][] = [];
    const batches = {
      open: async () => undefined,
      addExtracted: async () => undefined,
      seal: async (...args: unknown[]) => {
        seals.push(args);
      },
    } as unknown as Parameters<typeof buildHandler>[0]['batches'];
    const source = {
      query: async () => {
        throw new UnavailableError('the clinical database is unavailable', {
          cause: new Error('connect ECONNREFUSED 127.0.0.1:5432'),
        });
      },
    };
    const { invoke } = handlerWith('mimic-patient', { source, batches });
    const response = await invoke(request({ resource: 'mimic-patient' }));
    expect(response.statusCode).toBe(503);
    expect(seals).toEqual([
      [
        '6f1d7c1e-0000-4000-8000-000000000001',
        NOW,
        'a service the source needs was unavailable; the source stopped (its log says which)',
      ],
    ]);
  });
});
