import { type Db, MongoClient } from 'mongodb';
import type { ClinicalDataset } from '../../../lib/clinical/schema';
import { UnavailableError } from '../../../lib/errors';
import { createPgSource } from '../../../lib/extract/pg-source';
import { type FhirResource, groupRowsByKey, selectRowsInMemory, transformRows } from '../../../lib/fhir';
import { listFhirProblems } from '../../../lib/fhir/validate';
import type { KafkaEvent } from '../../../lib/kafka/event';
import { createMongoFhirStore } from '../../../lib/mongo/fhir-store';
import { PIPELINE_HEADERS, type TopicNames } from '../../../lib/transform/messages';
import {
  cleanUp,
  consumeBatchAsEvents,
  countRecords,
  createClinicalSchema,
  createPipeline,
  createTestDatabase,
  createTestSource,
  createTestTopics,
  MAPPING_IDS,
  RESOURCE_TYPES,
  readDeadLetters,
  registerCleanup,
  registry,
} from './support';

jest.setTimeout(120_000);
afterAll(cleanUp);

const PATIENTS = 15;
const EXPECTED_NOW = new Date('2026-11-22T23:00:00.000Z');

type Pipeline = ReturnType<typeof createPipeline>;
type Stage = { topics: TopicNames; dlqTopic: string; db: Db; pipeline: Pipeline };

/** Every resource the mappings make of a dataset (the in-memory oracle), by type then id. */
const expectedResources = (dataset: ClinicalDataset): Map<string, Map<string, FhirResource>> => {
  const byType = new Map<string, Map<string, FhirResource>>();
  for (const compiled of registry.values()) {
    for (const group of groupRowsByKey(compiled, selectRowsInMemory(compiled, dataset))) {
      const resource = transformRows(compiled, group.rows, EXPECTED_NOW);
      const byId = byType.get(resource.resourceType) ?? new Map<string, FhirResource>();
      byType.set(resource.resourceType, byId);
      byId.set(resource.id, resource);
    }
  }
  return byType;
};

/** A resource without what differs between runs: the store's _id and meta.lastUpdated. */
const comparable = (document: Record<string, unknown>): Record<string, unknown> => {
  const { _id, meta, ...rest } = document;
  const { lastUpdated: _lastUpdated, ...otherMeta } = meta as Record<string, unknown>;
  return { ...rest, meta: otherMeta };
};

const documentsOf = async (db: Db, resourceType: string): Promise<Record<string, unknown>[]> =>
  (await db.collection(resourceType).find({}).toArray()) as Record<string, unknown>[];

/** POST /extract for each mapping, then transform and load what was published, as the ESMs would. */
const runBatches = async (stage: Stage, mappingIds: readonly string[], rejected = 0) => {
  const batches: { batchId: string; resources: number }[] = [];
  for (const id of mappingIds) {
    const response = await stage.pipeline.extract({ resource: id });
    expect(response.statusCode).toBe(202);
    batches.push(JSON.parse(response.body ?? '{}') as { batchId: string; resources: number });
  }
  const batchIds = batches.map((batch) => batch.batchId);
  const total = batches.reduce((sum, batch) => sum + batch.resources, 0);
  const rawEvents = await consumeBatchAsEvents(mappingIds.map(stage.topics.raw), batchIds, total);
  for (const event of rawEvents)
    expect(await stage.pipeline.transform(event)).toEqual({ batchItemFailures: [] });
  const fhirEvents = await consumeBatchAsEvents(
    RESOURCE_TYPES.map(stage.topics.fhir),
    batchIds,
    total - rejected,
  );
  for (const event of fhirEvents) expect(await stage.pipeline.load(event)).toEqual({ batchItemFailures: [] });
  return { batchIds, total, fhirEvents };
};

const createStage = async (schema: string): Promise<Stage> => {
  const { topics, dlqTopic } = await createTestTopics();
  const { db } = await createTestDatabase();
  const pipeline = createPipeline({ source: createTestSource(schema), db, topics, dlqTopic });
  return { topics, dlqTopic, db, pipeline };
};

describe('extract → transform → load on the real stack', () => {
  let dataset: ClinicalDataset;
  let stage: Stage;
  let expected: Map<string, Map<string, FhirResource>>;
  let fhirEvents: KafkaEvent[] = [];

  beforeAll(async () => {
    const clinical = await createClinicalSchema(PATIENTS, 66);
    dataset = clinical.dataset;
    expected = expectedResources(dataset);
    stage = await createStage(clinical.schema);
  });

  it(`loads exactly the expected documents of ${PATIENTS} patients, all valid FHIR R4`, async () => {
    const run = await runBatches(stage, MAPPING_IDS);
    fhirEvents = run.fhirEvents;
    expect(run.total).toBe([...expected.values()].reduce((sum, byId) => sum + byId.size, 0));
    for (const [resourceType, byId] of expected) {
      const documents = await documentsOf(stage.db, resourceType);
      expect(documents.map((document) => document._id).sort()).toEqual([...byId.keys()].sort());
      for (const document of documents) {
        expect(comparable(document)).toEqual(comparable(byId.get(String(document._id)) ?? {}));
      }
      const resources = documents.map(({ _id, ...resource }) => resource);
      expect(listFhirProblems(resources)).toEqual([]);
    }
    const indexes = await stage.db.collection('Observation').indexes();
    expect(indexes.map((index) => index.name).sort()).toEqual(['_id_', 'code', 'identifier', 'subject']);
  });

  it('re-extracts without duplicating: every document replaced, none added', async () => {
    const before = new Date().toISOString();
    await runBatches(stage, MAPPING_IDS);
    for (const [resourceType, byId] of expected) {
      const documents = await documentsOf(stage.db, resourceType);
      expect(documents).toHaveLength(byId.size);
      expect(
        documents.every(
          (document) => String((document.meta as { lastUpdated: string }).lastUpdated) >= before,
        ),
      ).toBe(true);
    }
  });

  it('adds nothing when a batch is delivered again', async () => {
    for (const event of fhirEvents)
      expect(await stage.pipeline.load(event)).toEqual({ batchItemFailures: [] });
    for (const [resourceType, byId] of expected) {
      expect(await stage.db.collection(resourceType).countDocuments()).toBe(byId.size);
    }
  });

  it('reports a whole batch for retry when the store is down, dead-lettering nothing', async () => {
    const unreachable = new MongoClient('mongodb://127.0.0.1:1/?directConnection=true', {
      serverSelectionTimeoutMS: 300,
    });
    registerCleanup(() => unreachable.close());
    const { topics, dlqTopic } = stage;
    const down = createPipeline({
      source: createTestSource('public'),
      db: stage.db,
      topics,
      dlqTopic,
      store: createMongoFhirStore(unreachable.db('nowhere')),
    });
    const [event] = fhirEvents;
    if (event === undefined) throw new Error('no FHIR events');
    const records = Object.values(event.records).flat();
    const response = await down.load(event);
    expect(response.batchItemFailures).toHaveLength(records.length);
    expect(await countRecords([dlqTopic])).toBe(0);
  });

  it('previews one patient: source rows, the resource and an OperationOutcome, publishing nothing', async () => {
    const patient = dataset.patients[3];
    if (patient === undefined) throw new Error('dataset');
    const topics = MAPPING_IDS.map(stage.topics.raw);
    const published = await countRecords(topics);
    const response = await stage.pipeline.extract({
      resource: 'mimic-patient',
      id: String(patient.subject_id),
    });
    expect(response.statusCode).toBe(200);
    const preview = JSON.parse(response.body ?? '{}') as {
      rows: Record<string, unknown>[];
      resources: FhirResource[];
      outcome: { resourceType: string; issue: { severity: string }[] };
    };
    expect(preview.rows).toEqual([expect.objectContaining({ 'patients.subject_id': patient.subject_id })]);
    const [resource] = preview.resources;
    if (resource === undefined) throw new Error('no resource');
    expect(comparable(resource)).toEqual(comparable(expected.get('Patient')?.get(resource.id) ?? {}));
    expect(preview.outcome).toEqual({
      resourceType: 'OperationOutcome',
      issue: [expect.objectContaining({ severity: 'information', code: 'informational' })],
    });
    expect(await countRecords(topics)).toBe(published);
  });

  it('previews an admission with its diagnoses (a many join) as one Encounter', async () => {
    const admission = dataset.admissions[1];
    if (admission === undefined) throw new Error('dataset');
    const response = await stage.pipeline.extract({
      resource: 'mimic-encounter-admission',
      id: String(admission.hadm_id),
    });
    const preview = JSON.parse(response.body ?? '{}') as { rows: unknown[]; resources: FhirResource[] };
    const diagnoses = dataset.diagnoses_icd.filter((row) => row.hadm_id === admission.hadm_id).length;
    expect(preview.rows).toHaveLength(Math.max(diagnoses, 1));
    expect(preview.resources).toHaveLength(1);
  });

  it.each([
    [
      'an unknown resource',
      { resource: 'mimic-unknown' },
      undefined,
      404,
      /unknown resource; known resources: .*mimic-patient/,
    ],
    [
      'an id with characters no key has',
      { resource: 'mimic-patient', id: "1' OR '1'='1" },
      undefined,
      400,
      /id must be/,
    ],
    [
      'an id the key column cannot hold',
      { resource: 'mimic-patient', id: 'abc' },
      undefined,
      400,
      /not a valid mimic-patient primary key/,
    ],
    [
      'a key without rows',
      { resource: 'mimic-patient', id: '987654321' },
      undefined,
      404,
      /no source rows for this id/,
    ],
    ['a body that is not JSON', { resource: 'mimic-patient' }, '{', 400, /not valid JSON/],
    ['a page size out of range', { resource: 'mimic-patient' }, '{"pageSize":100000}', 400, /pageSize/],
  ])('answers %s with the right 4xx and a clear message', async (_what, path, body, status, message) => {
    const response = await stage.pipeline.extract(path as unknown as Record<string, string>, body);
    expect(response.statusCode).toBe(status);
    const parsed = JSON.parse(response.body ?? '{}') as { message: string };
    expect(parsed.message).toMatch(message);
    expect(response.body).not.toMatch(/SELECT|stack|at .*\.ts/);
  });

  it('answers a source outage with a 503 and no driver detail', async () => {
    const source = createPgSource({
      connectionString: 'postgres://medstream:medstream@127.0.0.1:1/clinical',
      connectTimeoutMs: 500,
    });
    registerCleanup(() => source.end());
    const outage = createPipeline({ source, db: stage.db, topics: stage.topics, dlqTopic: stage.dlqTopic });
    const paths: Record<string, string>[] = [
      { resource: 'mimic-patient' },
      { resource: 'mimic-patient', id: '1' },
    ];
    for (const path of paths) {
      const response = await outage.extract(path);
      expect(response.statusCode).toBe(503);
      expect(response.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|SELECT/);
    }
    expect(new UnavailableError('x').retryable).toBe(true);
  });
});

describe('a row the mapping rejects', () => {
  it('goes to the DLQ with the reason (column, rule, value type, never the value); the rest is loaded', async () => {
    const clinical = await createClinicalSchema(4, 67);
    const labs = selectRowsInMemory(
      registry.get('mimic-observation-laboratory') ?? fail('mapping'),
      clinical.dataset,
    );
    const poisoned = clinical.dataset.labevents[5];
    if (poisoned === undefined) throw new Error('dataset');
    await clinical.sql.query(`UPDATE labevents SET valueuom = 'furlongs/fortnight' WHERE row_id = $1`, [
      poisoned.row_id,
    ]);
    const stage = await createStage(clinical.schema);
    const { batchIds } = await runBatches(stage, ['mimic-observation-laboratory'], 1);
    const letters = await readDeadLetters(stage.dlqTopic, 1);
    // A producer retry may have published the raw record twice; every letter is that one row.
    expect(new Set(letters.map((entry) => entry.key))).toEqual(new Set([String(poisoned.row_id)]));
    const letter = letters[0]?.headers;
    expect(letter?.['medstream.dlq.reason.type']).toBe('TransformError');
    const reason = letter?.['medstream.dlq.reason.message'] ?? '';
    expect(reason).toContain('column labevents.valueuom');
    expect(reason).toContain('rule cleaning:ucum');
    expect(reason).toContain('type string');
    expect(reason).not.toContain('furlongs');
    expect(letter?.[PIPELINE_HEADERS.batchId]).toBe(batchIds[0]);
    expect(letter?.['medstream.dlq.source.topic']).toBe(stage.topics.raw('mimic-observation-laboratory'));
    expect(await stage.db.collection('Observation').countDocuments()).toBe(labs.length - 1);
  });
});
