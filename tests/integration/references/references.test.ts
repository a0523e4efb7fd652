import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Db } from 'mongodb';
import csvLabResults from '../../../connectors/sources/csv-lab-results-by-mrn.json';
import { makeHandler as makeCsvHandler } from '../../../functions/csv-source';
import { trackExtracted } from '../../../lib/batches/tracking';
import { deriveResourceId } from '../../../lib/fhir';
import { PENDING_REFERENCES, TARGET_VALUE_INDEX } from '../../../lib/references/mongo-binder';
import { parseCsvSourceConfig } from '../../../lib/sources/csv-config';
import { resolveCsvSource } from '../../../lib/sources/csv-ingest';
import { createRawPublisher } from '../../../lib/sources/raw-messages';
import { buildObjectCreatedEvent } from '../../../lib/sources/s3-event';
import { createS3Client, createS3ObjectStore } from '../../../lib/sources/s3-objects';
import type { TopicNames } from '../../../lib/transform/messages';
import { countsOf, createTrackedPipeline } from '../batches/support';
import {
  cleanUp,
  config,
  consumeBatchAsEvents,
  createClinicalSchema,
  createTestDatabase,
  createTestSource,
  createTestTopics,
  pollUntil,
  registerCleanup,
  registry,
  uniqueId,
} from '../fhir/support';

jest.setTimeout(120_000);
afterAll(cleanUp);

const BY_MRN = 'mimic-observation-laboratory-by-mrn';
const BUCKET = 'medstream-drops';
const s3 = createS3Client({
  region: config.AWS_REGION,
  endpoint: config.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566',
  placeholderCredentials: true,
});
registerCleanup(async () => s3.destroy());

type Stage = {
  topics: TopicNames;
  db: Db;
  subjectIds: number[];
  pipeline: ReturnType<typeof createTrackedPipeline>;
  /** Drops a CSV of lab results naming patients by MRN; returns its batch id. */
  dropLabResults(rows: { rowId: number; subjectId: number }[]): Promise<string>;
};

const createStage = async (): Promise<Stage> => {
  const clinical = await createClinicalSchema(3, 73);
  const { topics, dlqTopic } = await createTestTopics();
  const { db } = await createTestDatabase();
  const pipeline = createTrackedPipeline({ source: createTestSource(clinical.schema), db, topics, dlqTopic });
  // The shipped connector, under a prefix and topic of this test's own.
  const root = `it-${uniqueId()}/`;
  registerCleanup(async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: root }));
    for (const object of listed.Contents ?? []) {
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: object.Key }));
    }
  });
  const connector = parseCsvSourceConfig({
    name: `it-${csvLabResults.name}`,
    config: {
      ...csvLabResults.config,
      'input.path': `${root}incoming/`,
      'finished.path': `${root}finished/`,
      'error.path': `${root}error/`,
      topic: topics.raw(BY_MRN),
    },
  });
  const csv = makeCsvHandler({
    sources: [resolveCsvSource(connector, registry)],
    objects: createS3ObjectStore(s3),
    publisher: createRawPublisher(
      trackExtracted(pipeline.producer, pipeline.batches, 'csv-source', () => new Date()),
    ),
    clock: () => new Date(),
    newBatchId: randomUUID,
    batches: pipeline.batches,
  });
  return {
    topics,
    db,
    pipeline,
    subjectIds: clinical.dataset.patients.map((patient) => patient.subject_id),
    async dropLabResults(rows) {
      const body = [
        'row_id,subject_id,itemid,charttime,valuenum,valueuom',
        ...rows.map(({ rowId, subjectId }) => `${rowId},${subjectId},50912,2180-01-02 08:00:00,1.1,mg/dL`),
      ].join('\n');
      const key = `${root}incoming/lab-results-${uniqueId()}.csv`;
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
      const result = await csv(
        buildObjectCreatedEvent(
          [{ bucket: BUCKET, key, size: Buffer.byteLength(body), eTag: put.ETag ?? '' }],
          {
            region: config.AWS_REGION,
            now: new Date(),
          },
        ),
      );
      expect(result.objects).toEqual([expect.objectContaining({ status: 'finished' })]);
      const batches = (await pipeline.request('GET', undefined, { limit: '1' })).json as {
        batches: { id: string }[];
      };
      const batchId = batches.batches[0]?.id;
      if (batchId === undefined) throw new Error('the CSV drop registered no batch');
      return batchId;
    },
  };
};

/** Transforms and loads what a batch published, as the ESMs would. */
const flow = async (stage: Stage, batchId: string, mapping: string, resourceType: string, count: number) => {
  for (const event of await consumeBatchAsEvents([stage.topics.raw(mapping)], [batchId], count)) {
    expect(await stage.pipeline.transform(event)).toEqual({ batchItemFailures: [] });
  }
  return consumeBatchAsEvents([stage.topics.fhir(resourceType)], [batchId], count);
};

const subjectOf = async (db: Db, rowId: number) =>
  (await db.collection('Observation').findOne({ _id: deriveResourceId(BY_MRN, rowId) as never }))?.subject as
    | { reference?: string; type?: string; identifier?: { system: string; value: string } }
    | undefined;

const patientReference = (subjectId: number) => `Patient/${deriveResourceId('mimic-patient', subjectId)}`;

describe('reference binding on the real stack', () => {
  it('binds an observation loaded before its patient (a CSV by MRN, then an extract) when the patient arrives', async () => {
    const stage = await createStage();
    const [first, second] = stage.subjectIds;
    if (first === undefined || second === undefined) throw new Error('dataset');
    const rows = [
      { rowId: 910001, subjectId: first },
      { rowId: 910002, subjectId: second },
    ];
    const csvBatch = await stage.dropLabResults(rows);
    for (const event of await flow(stage, csvBatch, BY_MRN, 'Observation', rows.length)) {
      expect(await stage.pipeline.load(event)).toEqual({ batchItemFailures: [] });
    }
    const unbound = await subjectOf(stage.db, 910001);
    expect(unbound).toEqual({
      type: 'Patient',
      identifier: { system: 'http://mimic.mit.edu/fhir/mimic/identifier/patient', value: String(first) },
    });
    expect(await stage.db.collection(PENDING_REFERENCES).countDocuments()).toBe(2);
    const csvView = await stage.pipeline.getBatch(csvBatch);
    expect(csvView).toMatchObject({ origin: 'csv-source', state: 'completed' });
    expect(countsOf(csvView, BY_MRN)).toMatchObject({ extracted: 2, loaded: 2, failed: 0 });

    const { batchId, resources } = await stage.pipeline.extract('mimic-patient');
    for (const event of await flow(stage, batchId, 'mimic-patient', 'Patient', resources)) {
      expect(await stage.pipeline.load(event)).toEqual({ batchItemFailures: [] });
    }
    expect((await subjectOf(stage.db, 910001))?.reference).toBe(patientReference(first));
    expect((await subjectOf(stage.db, 910002))?.reference).toBe(patientReference(second));
    expect(await stage.db.collection(PENDING_REFERENCES).countDocuments()).toBe(0);
    // The looked-up type is indexed by identifier value; the referencing type is not.
    const indexesOf = async (type: string) =>
      Object.fromEntries((await stage.db.collection(type).indexes()).map((index) => [index.name, index.key]));
    expect(await indexesOf('Patient')).toMatchObject({ [TARGET_VALUE_INDEX.name]: TARGET_VALUE_INDEX.key });
    expect(await indexesOf('Observation')).not.toHaveProperty(TARGET_VALUE_INDEX.name);
  });

  it('binds at once an observation whose patient is already loaded, and leaves one naming an unknown MRN pending', async () => {
    const stage = await createStage();
    const { batchId, resources } = await stage.pipeline.extract('mimic-patient');
    for (const event of await flow(stage, batchId, 'mimic-patient', 'Patient', resources)) {
      await stage.pipeline.load(event);
    }
    const [known] = stage.subjectIds;
    if (known === undefined) throw new Error('dataset');
    const csvBatch = await stage.dropLabResults([
      { rowId: 920001, subjectId: known },
      { rowId: 920002, subjectId: 987654 },
    ]);
    for (const event of await flow(stage, csvBatch, BY_MRN, 'Observation', 2))
      await stage.pipeline.load(event);
    expect((await subjectOf(stage.db, 920001))?.reference).toBe(patientReference(known));
    expect((await subjectOf(stage.db, 920002))?.reference).toBeUndefined();
    const pending = await stage.db.collection(PENDING_REFERENCES).find({}).toArray();
    expect(pending.map((entry) => entry.sourceId)).toEqual([deriveResourceId(BY_MRN, 920002)]);
  });

  it('binds every reference when both sides load concurrently', async () => {
    const stage = await createStage();
    const rows = stage.subjectIds.flatMap((subjectId, index) => [
      { rowId: 930000 + 2 * index, subjectId },
      { rowId: 930001 + 2 * index, subjectId },
    ]);
    const csvBatch = await stage.dropLabResults(rows);
    const observationEvents = await flow(stage, csvBatch, BY_MRN, 'Observation', rows.length);
    const { batchId, resources } = await stage.pipeline.extract('mimic-patient');
    const patientEvents = await flow(stage, batchId, 'mimic-patient', 'Patient', resources);
    // One event per record on each side, all loads at once: every interleaving the event loop makes.
    const single = (events: typeof observationEvents) =>
      events.flatMap((event) =>
        Object.entries(event.records).flatMap(([partition, records]) =>
          records.map((record) => ({ ...event, records: { [partition]: [record] } })),
        ),
      );
    const loads = [...single(observationEvents), ...single(patientEvents)].map((event) =>
      stage.pipeline.load(event),
    );
    for (const response of await Promise.all(loads)) expect(response).toEqual({ batchItemFailures: [] });
    for (const { rowId, subjectId } of rows) {
      expect((await subjectOf(stage.db, rowId))?.reference).toBe(patientReference(subjectId));
    }
    await pollUntil('both batches completed', async () => {
      const views = await Promise.all([stage.pipeline.getBatch(csvBatch), stage.pipeline.getBatch(batchId)]);
      return views.every((view) => view.state === 'completed') ? true : undefined;
    });
  });
});
