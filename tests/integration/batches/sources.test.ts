import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { makeHandler } from '../../../functions/incremental-source';
import { BATCH_COLLECTIONS } from '../../../lib/batches/mongo-batches';
import { trackExtracted } from '../../../lib/batches/tracking';
import { createPgSource } from '../../../lib/extract/pg-source';
import { resolveIncrementalSource } from '../../../lib/sources/incremental';
import { parseJdbcSourceConfig } from '../../../lib/sources/jdbc-config';
import { createOffsetsPool, createPgClock, createPgOffsetStore } from '../../../lib/sources/pg-offsets';
import { createRawPublisher } from '../../../lib/sources/raw-messages';
import {
  cleanUp,
  config,
  consumeBatchAsEvents,
  createClinicalSchema,
  createTestDatabase,
  createTestSource,
  createTestTopics,
  registerCleanup,
  registry,
} from '../fhir/support';
import { countsOf, createTrackedPipeline } from './support';

jest.setTimeout(120_000);
afterAll(cleanUp);

const scheduled = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} } as ScheduledEvent;

describe('batches of the incremental source', () => {
  it('registers one batch per poll that publishes, seals it, and completes it once loaded', async () => {
    const clinical = await createClinicalSchema(5, 79);
    const { topics, dlqTopic } = await createTestTopics();
    const { db } = await createTestDatabase();
    const pipeline = createTrackedPipeline({
      source: createTestSource(clinical.schema),
      db,
      topics,
      dlqTopic,
    });
    const topic = topics.raw('mimic-patient');
    const connector = parseJdbcSourceConfig({
      name: `it-${clinical.schema}`,
      config: {
        'connector.class': 'io.confluent.connect.jdbc.JdbcSourceConnector',
        'connection.url': 'jdbc:postgresql://127.0.0.1:5432/clinical',
        'table.whitelist': 'patients',
        mode: 'incrementing',
        'incrementing.column.name': 'subject_id',
        'batch.max.rows': '2',
        'topic.prefix': topic.slice(0, -'mimic-patient'.length),
        'medstream.mapping': 'mimic-patient',
      },
    });
    const reader = createPgSource({
      connectionString: config.CLINICAL_DATABASE_URL,
      schema: clinical.schema,
    });
    const pool = createOffsetsPool({
      connectionString: config.CLINICAL_DATABASE_URL,
      schema: clinical.schema,
    });
    registerCleanup(() => reader.end());
    registerCleanup(() => pool.end());
    const ids: string[] = [];
    const poll = makeHandler({
      sources: [resolveIncrementalSource(connector, registry)],
      reader,
      offsets: createPgOffsetStore(pool),
      publisher: createRawPublisher(
        trackExtracted(pipeline.producer, pipeline.batches, 'incremental-source', () => new Date()),
      ),
      clock: createPgClock(pool),
      newBatchId: () => {
        const id = randomUUID();
        ids.push(id);
        return id;
      },
      batches: pipeline.batches,
    });

    const first = await poll(scheduled);
    const patients = clinical.dataset.patients.length;
    expect(first.polls[0]).toMatchObject({ resources: patients, caughtUp: true });
    const batchId = ids[0] ?? '';
    const polled = await pipeline.getBatch(batchId);
    expect(polled).toMatchObject({ origin: 'incremental-source', state: 'running', sealed: true });
    expect(countsOf(polled, 'mimic-patient').extracted).toBe(patients);

    // A poll that publishes nothing registers no batch.
    await poll(scheduled);
    expect(ids).toHaveLength(2);
    expect(await db.collection(BATCH_COLLECTIONS.batches).countDocuments()).toBe(1);

    for (const event of await consumeBatchAsEvents([topic], [batchId], patients))
      await pipeline.transform(event);
    for (const event of await consumeBatchAsEvents([topics.fhir('Patient')], [batchId], patients)) {
      await pipeline.load(event);
    }
    const done = await pipeline.getBatch(batchId);
    expect(done.state).toBe('completed');
    expect(countsOf(done, 'mimic-patient')).toEqual({
      extracted: patients,
      transformed: patients,
      loaded: patients,
      failed: 0,
      dropped: 0,
    });
  });
});
