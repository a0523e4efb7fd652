import type { ScheduledEvent } from 'aws-lambda';
import { Client } from 'pg';
import { makeHandler } from '../../../functions/incremental-source';
import { createPgSource } from '../../../lib/extract/pg-source';
import { createKafka, createProducer } from '../../../lib/kafka/client';
import { resolveIncrementalSource } from '../../../lib/sources/incremental';
import { parseJdbcSourceConfig } from '../../../lib/sources/jdbc-config';
import { createOffsetsPool, createPgClock, createPgOffsetStore } from '../../../lib/sources/pg-offsets';
import { createRawPublisher } from '../../../lib/sources/raw-messages';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';
import { cleanUp, config, registerCleanup, uniqueId, waitFor, watchTopic } from './support';

afterAll(cleanUp, 60_000);

const registry = loadShippedMappings();
const producer = createProducer(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'sources-tests' }));
registerCleanup(() => producer.disconnect());
const scheduled: ScheduledEvent = {
  version: '0',
  id: 'test',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: '2026-11-22T23:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: {},
};

/** A schema of the test's own holding MIMIC's `patients`, plus an update timestamp for the timestamp mode. */
const createPatientsSchema = async (): Promise<{ schema: string; db: Client }> => {
  const schema = `it_src_${uniqueId()}`;
  const db = new Client({ connectionString: config.CLINICAL_DATABASE_URL, options: '-c TimeZone=UTC' });
  await db.connect();
  await db.query(`CREATE SCHEMA "${schema}"`);
  registerCleanup(async () => {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });
  await db.query(`SET search_path TO "${schema}"`);
  await db.query(`CREATE TABLE patients (
    row_id INT NOT NULL PRIMARY KEY, subject_id INT NOT NULL UNIQUE, gender VARCHAR(5) NOT NULL,
    dob TIMESTAMP(0) NOT NULL, dod TIMESTAMP(0), dod_hosp TIMESTAMP(0), dod_ssn TIMESTAMP(0),
    expire_flag INT NOT NULL, updated_at TIMESTAMP(6) NOT NULL)`);
  return { schema, db };
};

const insertPatient = (db: Client, subjectId: number, updatedAt: string, gender = 'F') =>
  db.query(
    `INSERT INTO patients (row_id, subject_id, gender, dob, expire_flag, updated_at)
     VALUES ($1, $1, $2, '2080-01-01 00:00:00', 0, $3)`,
    [subjectId, gender, updatedAt],
  );

type Mode = 'incrementing' | 'timestamp+incrementing';

/** A handler wired to the real stack for one connector file; a new call is a cold start. */
const startSource = (schema: string, topic: string, mode: Mode, extra: Record<string, string> = {}) => {
  const connector = parseJdbcSourceConfig({
    name: `it-${schema}`,
    config: {
      'connector.class': 'io.confluent.connect.jdbc.JdbcSourceConnector',
      'connection.url': 'jdbc:postgresql://127.0.0.1:5432/clinical',
      'table.whitelist': 'patients',
      mode,
      'incrementing.column.name': 'subject_id',
      ...(mode === 'incrementing' ? {} : { 'timestamp.column.name': 'updated_at' }),
      'batch.max.rows': '2',
      'topic.prefix': topic.slice(0, -'mimic-patient'.length),
      'medstream.mapping': 'mimic-patient',
      ...extra,
    },
  });
  const reader = createPgSource({ connectionString: config.CLINICAL_DATABASE_URL, schema });
  const pool = createOffsetsPool({ connectionString: config.CLINICAL_DATABASE_URL, schema });
  registerCleanup(() => reader.end());
  registerCleanup(() => pool.end());
  let batches = 0;
  return makeHandler({
    sources: [resolveIncrementalSource(connector, registry)],
    reader,
    offsets: createPgOffsetStore(pool),
    publisher: createRawPublisher(producer),
    clock: createPgClock(pool),
    newBatchId: () => `${schema}-poll-${++batches}`,
  });
};

const genderOf = (record: { value: { rows: Record<string, unknown>[] } }) =>
  record.value.rows[0]?.['patients.gender'];

describe.each<Mode>(['incrementing', 'timestamp+incrementing'])('incremental source, mode %s', (mode) => {
  it('publishes inserted rows as raw resources, then only what changed since, across a restart', async () => {
    const { schema, db } = await createPatientsSchema();
    const topic = `it-${uniqueId()}.raw.mimic-patient`;
    const watched = await watchTopic(topic);
    const past = '2026-01-01 10:00:00.000001';
    for (const subjectId of [101, 102, 103]) await insertPatient(db, subjectId, past);

    const first = startSource(schema, topic, mode);
    const firstPoll = await first(scheduled);
    // batch.max.rows 2: two pages, then an empty one (or a short one) ends the poll.
    expect(firstPoll.polls[0]).toMatchObject({ rows: 3, resources: 3, caughtUp: true });
    const initial = await waitFor('3 records', async () => {
      const records = watched.records();
      return records.length >= 3 ? records : undefined;
    });
    expect(initial.map((record) => record.key)).toEqual(['101', '102', '103']);
    expect(initial[0]).toMatchObject({
      mapping: 'mimic-patient',
      value: { mapping: 'mimic-patient', key: 101 },
    });
    expect(initial[0]?.value.rows[0]).toMatchObject({ 'patients.subject_id': 101, 'patients.gender': 'F' });
    expect(initial[0]?.value.rows[0]).not.toHaveProperty('$timestamp');
    expect(new Set(initial.map((record) => record.batchId)).size).toBe(1);

    // A new row and an update of an existing row, then a cold start: a new handler instance.
    await insertPatient(db, 104, '2026-01-02 10:00:00');
    await db.query(
      `UPDATE patients SET gender = 'M', updated_at = '2026-01-02 11:00:00' WHERE subject_id = 102`,
    );
    const restarted = startSource(schema, topic, mode);
    await restarted(scheduled);
    const expected = mode === 'incrementing' ? ['104'] : ['104', '102'];
    const after = await waitFor(`${expected.length} more records`, async () => {
      const records = watched.records();
      return records.length >= 3 + expected.length ? records.slice(3) : undefined;
    });
    expect(after.map((record) => record.key)).toEqual(expected);
    if (mode === 'timestamp+incrementing') {
      // The update re-publishes the whole resource under the same key: the same FHIR id downstream.
      expect(genderOf(after[1] as RawRecordLike)).toBe('M');
    }

    // Nothing changed: a third instance reads nothing and publishes nothing.
    const idle = await startSource(schema, topic, mode)(scheduled);
    expect(idle.polls[0]).toMatchObject({ rows: 0, resources: 0, caughtUp: true });
    await producer.send(topic, [
      { key: 'marker', value: JSON.stringify({ mapping: 'marker', key: 0, rows: [{}] }) },
    ]);
    const all = await waitFor('the marker', async () => {
      const records = watched.records();
      return records.at(-1)?.key === 'marker' ? records : undefined;
    });
    expect(all).toHaveLength(3 + expected.length + 1);
  });
});

type RawRecordLike = { value: { rows: Record<string, unknown>[] } };

describe('incremental source, timestamp.delay.interval.ms', () => {
  it('leaves rows younger than the delay (by the database clock) for a later poll', async () => {
    const { schema, db } = await createPatientsSchema();
    const topic = `it-${uniqueId()}.raw.mimic-patient`;
    const watched = await watchTopic(topic);
    await insertPatient(db, 201, '2026-01-01 10:00:00');
    // Stamped by the database "now": within a one-hour delay, so not read yet.
    await db.query(
      `INSERT INTO patients (row_id, subject_id, gender, dob, expire_flag, updated_at)
       VALUES (202, 202, 'M', '2080-01-01 00:00:00', 0, now() AT TIME ZONE 'UTC')`,
    );
    const delayed = startSource(schema, topic, 'timestamp+incrementing', {
      'timestamp.delay.interval.ms': '3600000',
    });
    const poll = await delayed(scheduled);
    expect(poll.polls[0]).toMatchObject({ rows: 1, resources: 1 });

    // Once the row is older than the delay (moved back in time here), the next poll reads it.
    await db.query(`UPDATE patients SET updated_at = updated_at - interval '2 hours' WHERE subject_id = 202`);
    const later = await startSource(schema, topic, 'timestamp+incrementing', {
      'timestamp.delay.interval.ms': '3600000',
    })(scheduled);
    expect(later.polls[0]).toMatchObject({ rows: 1, resources: 1 });
    const records = await waitFor('2 records', async () => {
      const seen = watched.records();
      return seen.length >= 2 ? seen : undefined;
    });
    expect(records.map((record) => record.key)).toEqual(['201', '202']);
  });
});
