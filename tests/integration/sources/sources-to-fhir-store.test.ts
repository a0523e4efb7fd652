import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { ScheduledEvent } from 'aws-lambda';
import { Client } from 'pg';
import { makeHandler as makeCsvHandler } from '../../../functions/csv-source';
import { makeHandler as makeIncrementalHandler } from '../../../functions/incremental-source';
import { createPgSource } from '../../../lib/extract/pg-source';
import { deriveResourceId } from '../../../lib/fhir';
import { createKafka, createProducer } from '../../../lib/kafka/client';
import { parseCsvSourceConfig } from '../../../lib/sources/csv-config';
import { resolveCsvSource } from '../../../lib/sources/csv-ingest';
import { resolveIncrementalSource } from '../../../lib/sources/incremental';
import { parseJdbcSourceConfig } from '../../../lib/sources/jdbc-config';
import { createOffsetsPool, createPgClock, createPgOffsetStore } from '../../../lib/sources/pg-offsets';
import { createRawPublisher } from '../../../lib/sources/raw-messages';
import { buildObjectCreatedEvent } from '../../../lib/sources/s3-event';
import { createS3Client, createS3ObjectStore } from '../../../lib/sources/s3-objects';
import { listFhirProblems } from '../../support/fhir-validator';
import {
  cleanUp as cleanUpPipeline,
  consumeBatchAsEvents,
  createPipeline,
  createTestDatabase,
  createTestTopics,
  registry,
} from '../fhir/support';
import { cleanUp, config, registerCleanup, uniqueId } from './support';

// The pipeline's helpers (tests/integration/fhir/support.ts) keep their own cleanups.
afterAll(async () => {
  await cleanUp();
  await cleanUpPipeline();
}, 60_000);

const MAPPING = 'mimic-patient';
const BUCKET = 'medstream-drops';
const scheduled = { 'detail-type': 'Scheduled Event', source: 'aws.events' } as ScheduledEvent;

/** Sources → raw topic → transform → fhir topic → load, every function the real one on the real stack. */
const createStage = async () => {
  const { topics, dlqTopic } = await createTestTopics();
  const { db } = await createTestDatabase();
  const schema = `it_src_${uniqueId()}`;
  const sql = new Client({ connectionString: config.CLINICAL_DATABASE_URL, options: '-c TimeZone=UTC' });
  await sql.connect();
  await sql.query(`CREATE SCHEMA "${schema}"`);
  registerCleanup(async () => {
    await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
  });
  await sql.query(`SET search_path TO "${schema}"`);
  await sql.query(`CREATE TABLE patients (
    row_id INT NOT NULL PRIMARY KEY, subject_id INT NOT NULL UNIQUE, gender VARCHAR(5) NOT NULL,
    dob TIMESTAMP(0) NOT NULL, dod TIMESTAMP(0), dod_hosp TIMESTAMP(0), dod_ssn TIMESTAMP(0),
    expire_flag INT NOT NULL, updated_at TIMESTAMP(6) NOT NULL)`);
  const source = createPgSource({ connectionString: config.CLINICAL_DATABASE_URL, schema });
  registerCleanup(() => source.end());
  const pipeline = createPipeline({ source, db, topics, dlqTopic });
  const producer = createProducer(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'sources-e2e' }));
  registerCleanup(() => producer.disconnect());
  const rawTopic = topics.raw(MAPPING);
  const fhirTopic = topics.fhir('Patient');

  /** Transforms and loads what a batch published, as the two Kafka ESMs would. */
  const flow = async (batchId: string, resources: number) => {
    for (const event of await consumeBatchAsEvents([rawTopic], [batchId], resources)) {
      expect(await pipeline.transform(event)).toEqual({ batchItemFailures: [] });
    }
    for (const event of await consumeBatchAsEvents([fhirTopic], [batchId], resources)) {
      expect(await pipeline.load(event)).toEqual({ batchItemFailures: [] });
    }
  };
  return { sql, schema, db, producer, rawTopic, flow };
};

type Stage = Awaited<ReturnType<typeof createStage>>;

const patientsIn = async (stage: Stage) =>
  (await stage.db.collection('Patient').find({}).sort({ _id: 1 }).toArray()).map(
    ({ _id, ...resource }) => resource,
  );

describe('sources → transform → load-fhir', () => {
  it('brings inserted and updated rows to the FHIR store, replacing documents by id, across restarts', async () => {
    const stage = await createStage();
    const pool = createOffsetsPool({ connectionString: config.CLINICAL_DATABASE_URL, schema: stage.schema });
    registerCleanup(() => pool.end());
    const reader = createPgSource({ connectionString: config.CLINICAL_DATABASE_URL, schema: stage.schema });
    registerCleanup(() => reader.end());
    let polls = 0;
    const startSource = () =>
      makeIncrementalHandler({
        sources: [
          resolveIncrementalSource(
            parseJdbcSourceConfig({
              name: `it-e2e-${stage.schema}`,
              'connector.class': 'io.confluent.connect.jdbc.JdbcSourceConnector',
              'connection.url': 'jdbc:postgresql://127.0.0.1:5432/clinical',
              'table.whitelist': 'patients',
              mode: 'timestamp+incrementing',
              'timestamp.column.name': 'updated_at',
              'incrementing.column.name': 'subject_id',
              'topic.prefix': stage.rawTopic.slice(0, -MAPPING.length),
              'medstream.mapping': MAPPING,
            }),
            registry,
          ),
        ],
        reader,
        offsets: createPgOffsetStore(pool),
        publisher: createRawPublisher(stage.producer),
        clock: createPgClock(pool),
        newBatchId: () => `${stage.schema}-poll-${++polls}`,
      });

    await stage.sql.query(
      `INSERT INTO patients (row_id, subject_id, gender, dob, expire_flag, updated_at) VALUES
       (1, 601, 'F', '2080-01-01 00:00:00', 0, '2026-01-01 00:00:00'),
       (2, 602, 'M', '2070-06-01 00:00:00', 0, '2026-01-01 00:00:00')`,
    );
    await startSource()(scheduled);
    await stage.flow(`${stage.schema}-poll-1`, 2);
    const first = await patientsIn(stage);
    expect(first.map((patient) => patient.id)).toEqual(
      [deriveResourceId(MAPPING, 601), deriveResourceId(MAPPING, 602)].sort(),
    );

    await stage.sql.query(`UPDATE patients SET gender = 'M', dod = '2150-01-01 00:00:00', expire_flag = 1,
      updated_at = '2026-01-02 00:00:00' WHERE subject_id = 601`);
    await stage.sql.query(`INSERT INTO patients (row_id, subject_id, gender, dob, expire_flag, updated_at)
      VALUES (3, 603, 'F', '2085-01-01 00:00:00', 0, '2026-01-02 00:00:00')`);
    // A cold start: a new handler reading its offset from the table.
    expect((await startSource()(scheduled)).polls[0]).toMatchObject({ resources: 2 });
    await stage.flow(`${stage.schema}-poll-2`, 2);

    const patients = await patientsIn(stage);
    expect(patients).toHaveLength(3);
    const updated = patients.find((patient) => patient.id === deriveResourceId(MAPPING, 601));
    expect(updated).toMatchObject({ gender: 'male', deceasedDateTime: expect.stringMatching(/^2150-01-01/) });
    expect(listFhirProblems(patients)).toEqual([]);
  });

  it('brings a CSV drop to the FHIR store and files it under finished/ with its report', async () => {
    const stage = await createStage();
    const root = `it-${uniqueId()}/`;
    const s3 = createS3Client({
      region: config.AWS_REGION,
      endpoint: config.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566',
      placeholderCredentials: true,
    });
    registerCleanup(async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: root }));
      for (const object of listed.Contents ?? [])
        await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: object.Key }));
      s3.destroy();
    });
    const handler = makeCsvHandler({
      sources: [
        resolveCsvSource(
          parseCsvSourceConfig({
            name: `it-e2e-csv-${root.slice(0, -1)}`,
            'connector.class': 'io.medstream.connect.s3.CsvSourceConnector',
            'medstream.s3.bucket': BUCKET,
            'input.path': `${root}incoming/`,
            'finished.path': `${root}finished/`,
            'error.path': `${root}error/`,
            topic: stage.rawTopic,
            'medstream.mapping': MAPPING,
            'medstream.csv.columns': 'subject_id:integer,gender,dob:timestamp,dod:timestamp',
          }),
          registry,
        ),
      ],
      objects: createS3ObjectStore(s3),
      publisher: createRawPublisher(stage.producer),
      clock: () => new Date(),
      newBatchId: () => `${root}csv`,
    });
    const key = `${root}incoming/patients.csv`;
    const body =
      'subject_id,gender,dob,dod\n701,F,2080-01-01 00:00:00,\n702,M,2060-01-01 00:00:00,2140-05-05 10:00:00\n';
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    const event = buildObjectCreatedEvent(
      [{ bucket: BUCKET, key, size: body.length, eTag: put.ETag ?? '' }],
      {
        region: config.AWS_REGION,
        now: new Date(),
      },
    );
    expect((await handler(event)).objects).toEqual([
      { status: 'finished', key, destination: `${root}finished/patients.csv` },
    ]);
    await stage.flow(`${root}csv`, 2);

    const patients = await patientsIn(stage);
    expect(patients.map((patient) => patient.id)).toEqual(
      [deriveResourceId(MAPPING, 701), deriveResourceId(MAPPING, 702)].sort(),
    );
    expect(patients.find((patient) => patient.id === deriveResourceId(MAPPING, 702))).toMatchObject({
      gender: 'male',
      birthDate: '2060-01-01',
    });
    expect(listFhirProblems(patients)).toEqual([]);
  });
});
