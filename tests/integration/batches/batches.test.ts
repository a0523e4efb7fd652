import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { describeSourceFailure, ledgerIdOf } from '../../../lib/batches/model';
import { BATCH_COLLECTIONS, createMongoBatchStore } from '../../../lib/batches/mongo-batches';
import { UnavailableError } from '../../../lib/errors';
import { selectRowsInMemory } from '../../../lib/fhir';
import type { TopicNames } from '../../../lib/transform/messages';
import {
  cleanUp,
  consumeBatchAsEvents,
  countRecords,
  createClinicalSchema,
  createTestDatabase,
  createTestSource,
  createTestTopics,
  pollUntil,
  RESOURCE_TYPES,
  registry,
} from '../fhir/support';
import { countsOf, createTrackedPipeline } from './support';

jest.setTimeout(120_000);
afterAll(cleanUp);

const LAB = 'mimic-observation-laboratory';
const PATIENT = 'mimic-patient';

type Stage = {
  topics: TopicNames;
  dlqTopic: string;
  db: Db;
  pipeline: ReturnType<typeof createTrackedPipeline>;
};

const createStage = async (schema: string): Promise<Stage> => {
  const { topics, dlqTopic } = await createTestTopics();
  const { db } = await createTestDatabase();
  const pipeline = createTrackedPipeline({ source: createTestSource(schema), db, topics, dlqTopic });
  return { topics, dlqTopic, db, pipeline };
};

describe('batches on the real stack', () => {
  let stage: Stage;
  let labs: number;
  let patients: number;

  beforeAll(async () => {
    const clinical = await createClinicalSchema(4, 71);
    labs = selectRowsInMemory(registry.get(LAB) ?? fail('mapping'), clinical.dataset).length;
    patients = clinical.dataset.patients.length;
    // One row the mapping rejects (an unknown unit): it must end as failed, not keep the batch open.
    const poisoned = clinical.dataset.labevents[3];
    if (poisoned === undefined) throw new Error('dataset');
    await clinical.sql.query(`UPDATE labevents SET valueuom = 'furlongs/fortnight' WHERE row_id = $1`, [
      poisoned.row_id,
    ]);
    stage = await createStage(clinical.schema);
  });

  it('counts a batch through every stage, a rejected row as failed, and completes it', async () => {
    const { pipeline, topics } = stage;
    const { batchId, resources } = await pipeline.extract(LAB);
    expect(resources).toBe(labs);

    const extracted = await pipeline.getBatch(batchId);
    expect(extracted).toMatchObject({ id: batchId, origin: 'extract', state: 'running', sealed: true });
    expect(countsOf(extracted, LAB)).toEqual({
      extracted: labs,
      transformed: 0,
      loaded: 0,
      failed: 0,
      dropped: 0,
    });

    for (const event of await consumeBatchAsEvents([topics.raw(LAB)], [batchId], labs, 10)) {
      expect(await pipeline.transform(event)).toEqual({ batchItemFailures: [] });
    }
    const transformed = await pipeline.getBatch(batchId);
    expect(transformed.state).toBe('running');
    expect(countsOf(transformed, LAB)).toEqual({
      extracted: labs,
      transformed: labs - 1,
      loaded: 0,
      failed: 1,
      dropped: 0,
    });

    const fhirEvents = await consumeBatchAsEvents(RESOURCE_TYPES.map(topics.fhir), [batchId], labs - 1, 10);
    for (const event of fhirEvents) expect(await pipeline.load(event)).toEqual({ batchItemFailures: [] });
    const done = await pipeline.getBatch(batchId);
    expect(countsOf(done, LAB)).toEqual({
      extracted: labs,
      transformed: labs - 1,
      loaded: labs - 1,
      failed: 1,
      dropped: 0,
    });
    expect(done.state).toBe('completed');
    expect(Date.parse(done.completedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
    // Completion is stored by the load that ended the batch, not only computed by the read.
    const stored = await stage.db.collection(BATCH_COLLECTIONS.batches).findOne({ _id: batchId as never });
    expect(stored?.state).toBe('completed');
    // With its figures, which are final: reads take them instead of counting the ledger again (an
    // entry that could not happen, added by hand, shows which one is read).
    await stage.db.collection(BATCH_COLLECTIONS.ledger).insertOne({
      _id: `${batchId}|done|not-a-record` as never,
      batchId,
      mapping: LAB,
      stage: 'done',
      outcome: 'loaded',
    });
    expect(countsOf(await pipeline.getBatch(batchId), LAB)).toEqual(countsOf(done, LAB));

    // Redelivery (the ESM retries a batch whose offsets were not committed): nothing counts twice.
    const rawEvents = await consumeBatchAsEvents([topics.raw(LAB)], [batchId], labs, 10);
    for (const event of rawEvents) await pipeline.transform(event);
    for (const event of fhirEvents) await pipeline.load(event);
    const again = await pipeline.getBatch(batchId);
    expect(countsOf(again, LAB)).toEqual(countsOf(done, LAB));
    expect(again.completedAt).toBe(done.completedAt);

    const listed = (await pipeline.request('GET', undefined, { state: 'completed' })).json as {
      batches: { id: string }[];
    };
    expect(listed.batches.map((batch) => batch.id)).toContain(batchId);
  });

  it('counts a raw record loaded once when the transform published it twice (a retried transform)', async () => {
    const { pipeline, topics } = stage;
    const { batchId } = await pipeline.extract(PATIENT);
    const rawEvents = await consumeBatchAsEvents([topics.raw(PATIENT)], [batchId], patients);
    // Transformed twice: two fhir.Patient records per raw record, at different offsets.
    for (const event of rawEvents) await pipeline.transform(event);
    for (const event of rawEvents) await pipeline.transform(event);
    const fhirTopic = topics.fhir('Patient');
    await pollUntil('both copies published', async () =>
      (await countRecords([fhirTopic])) >= 2 * patients ? true : undefined,
    );
    const fhirEvents = await consumeBatchAsEvents([fhirTopic], [batchId], patients);
    const delivered = fhirEvents.reduce((sum, event) => sum + Object.values(event.records).flat().length, 0);
    for (const event of fhirEvents) expect(await pipeline.load(event)).toEqual({ batchItemFailures: [] });
    const view = await pipeline.getBatch(batchId);
    expect(delivered).toBeGreaterThanOrEqual(patients);
    expect(countsOf(view, PATIENT)).toEqual({
      extracted: patients,
      transformed: patients,
      loaded: patients,
      failed: 0,
      dropped: 0,
    });
    expect(view.state).toBe('completed');
  });

  it('drops the in-flight records of a cancelled batch at the transform and counts them', async () => {
    const { pipeline, topics } = stage;
    const { batchId } = await pipeline.extract(PATIENT);
    const cancelled = await pipeline.request('DELETE', batchId);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json).toMatchObject({ id: batchId, state: 'cancelled' });
    const before = await countRecords([topics.fhir('Patient')]);
    for (const event of await consumeBatchAsEvents([topics.raw(PATIENT)], [batchId], patients)) {
      expect(await pipeline.transform(event)).toEqual({ batchItemFailures: [] });
    }
    expect(await countRecords([topics.fhir('Patient')])).toBe(before);
    const view = await pipeline.getBatch(batchId);
    expect(view.state).toBe('cancelled');
    expect(view.cancelledAt).toBeDefined();
    expect(countsOf(view, PATIENT)).toEqual({
      extracted: patients,
      transformed: 0,
      loaded: 0,
      failed: 0,
      dropped: patients,
    });
  });

  it('drops at the load what the transform published before the cancel, writing nothing', async () => {
    const { pipeline, topics, db } = stage;
    const { batchId } = await pipeline.extract('mimic-condition');
    const conditions = (await pipeline.getBatch(batchId)).totals.extracted;
    for (const event of await consumeBatchAsEvents([topics.raw('mimic-condition')], [batchId], conditions)) {
      await pipeline.transform(event);
    }
    expect((await pipeline.request('DELETE', batchId)).statusCode).toBe(200);
    for (const event of await consumeBatchAsEvents([topics.fhir('Condition')], [batchId], conditions)) {
      expect(await pipeline.load(event)).toEqual({ batchItemFailures: [] });
    }
    expect(await db.collection('Condition').countDocuments()).toBe(0);
    const view = await pipeline.getBatch(batchId);
    expect(view.state).toBe('cancelled');
    expect(countsOf(view, 'mimic-condition')).toEqual({
      extracted: conditions,
      transformed: conditions,
      loaded: 0,
      failed: 0,
      dropped: conditions,
    });
    // Cancelling again is harmless; a completed batch cannot be cancelled.
    expect((await pipeline.request('DELETE', batchId)).statusCode).toBe(200);
  });

  it('refuses to cancel a completed batch, and answers 404 for an unknown one', async () => {
    const { pipeline } = stage;
    const listed = (await pipeline.request('GET', undefined, { state: 'completed', limit: '1' })).json as {
      batches: { id: string }[];
    };
    const [completed] = listed.batches;
    if (completed === undefined) throw new Error('no completed batch');
    expect((await pipeline.request('DELETE', completed.id)).statusCode).toBe(409);
    expect((await pipeline.request('GET', '00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
  });

  it('seals a batch whose source stopped before sealing it, and completes it once what it published ended', async () => {
    const store = createMongoBatchStore(stage.db);
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    const ended = (batchId: string, raw: string, outcome: 'loaded' | 'failed') => ({
      _id: ledgerIdOf(batchId, 'done', raw),
      batchId,
      mapping: PATIENT,
      stage: 'done' as const,
      outcome,
    });
    // An extract killed after publishing 2 records (the process stopped, or the function timed out).
    const killed = randomUUID();
    await store.open(killed, 'extract', minutesAgo(20));
    await store.addExtracted(killed, 'extract', PATIENT, 2, minutesAgo(19));
    await store.record([ended(killed, 'raw-1', 'loaded')], minutesAgo(2));
    expect(await store.get(killed, new Date())).toMatchObject({
      state: 'running',
      sealed: true,
      interrupted: true,
      totals: { extracted: 2, loaded: 1 },
    });
    await store.record([ended(killed, 'raw-2', 'failed')], new Date());
    // Through the API, as a user lists batches.
    const listed = (
      (await stage.pipeline.request('GET', undefined, { limit: '100' })).json as { batches: { id: string }[] }
    ).batches.find((batch) => batch.id === killed);
    expect(listed).toMatchObject({ state: 'completed', interrupted: true, totals: { loaded: 1, failed: 1 } });

    // A source still within a Lambda's longest run is running, whatever the time since it began.
    const live = randomUUID();
    await store.open(live, 'incremental-source', minutesAgo(30));
    await store.addExtracted(live, 'incremental-source', PATIENT, 1, minutesAgo(14));
    const view = await store.get(live, new Date());
    expect(view).toMatchObject({ state: 'running', sealed: false });
    expect(view).not.toHaveProperty('interrupted');
  });

  it('marks a batch whose source failed interrupted, with why, and completes it with what it published', async () => {
    const store = createMongoBatchStore(stage.db);
    const failed = randomUUID();
    const now = new Date();
    await store.open(failed, 'extract', now);
    await store.seal(failed, now, describeSourceFailure(new UnavailableError('clinical database down')));
    expect(await store.get(failed, new Date())).toMatchObject({
      state: 'completed',
      sealed: true,
      interrupted: true,
      failure: 'a service the source needs was unavailable; the source stopped (its log says which)',
      totals: { extracted: 0 },
    });
    const sealed = randomUUID();
    await store.open(sealed, 'extract', now);
    await store.seal(sealed, now);
    const view = await store.get(sealed, new Date());
    expect(view).toMatchObject({ state: 'completed', sealed: true });
    expect(view).not.toHaveProperty('interrupted');
    expect(view).not.toHaveProperty('failure');
  });
});
