import { connectorConfigOf } from '../../../bench/connect-reference';
import { connectUrlOf } from '../../../cli/settings';
import {
  BIOMETRICS_KEY_SCHEMA,
  BIOMETRICS_VALUE_SCHEMA,
  toBiometricsKey,
  toBiometricsValue,
} from '../../../lib/biometrics/schema';
import { createPopulation, simulateTick } from '../../../lib/biometrics/simulator';
import { createSeededRandom } from '../../../lib/random';
import {
  cleanUp,
  columnsOf,
  config,
  consumeAsEvent,
  createTestTopic,
  db,
  pollUntil,
  produceAvro,
  registerCleanup,
  sinkHandlerFor,
} from './support';

// The reference connector of `npm run bench -- sink` (bench/connect-reference.json: Debezium's JDBC
// sink on the stack's Kafka Connect worker, Apicurio's converter reading the Confluent wire format)
// and our sink, given the same simulated readings, make the same table and rows. Against Debezium's
// JDBC sink, not Confluent's: that one is not on Maven Central.

const connectUrl = connectUrlOf(process.env);

afterAll(cleanUp);

it('Kafka Connect with the reference JDBC sink and our sink land the same readings alike', async () => {
  const topic = await createTestTopic('connectref');
  const random = createSeededRandom(11);
  const tick = simulateTick(
    createPopulation({ patients: 25, wards: ['ref'] }, random),
    Date.UTC(2026, 10, 23, 8, 30, 15, 123),
    random,
  );
  await produceAvro(
    topic,
    { key: BIOMETRICS_KEY_SCHEMA, value: BIOMETRICS_VALUE_SCHEMA },
    tick.readings.map((reading) => ({ key: toBiometricsKey(reading), value: toBiometricsValue(reading) })),
  );
  const count = tick.readings.length;

  const ours = `${topic}_ours`;
  const theirs = `${topic}_connect`;
  registerCleanup(() => db.query(`DROP TABLE IF EXISTS "${ours}", "${theirs}"`));
  const { handler } = await sinkHandlerFor({
    topics: topic,
    'table.name.format': ours,
    'insert.mode': 'insert',
    'pk.mode': 'none',
    'auto.create': 'true',
  });
  await handler(await consumeAsEvent(topic, count));

  const name = `medstream-test-${topic}`;
  registerCleanup(() => fetch(`${connectUrl}/connectors/${name}`, { method: 'DELETE' }));
  const put = await fetch(`${connectUrl}/connectors/${name}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      ...connectorConfigOf({
        topic,
        table: theirs,
        mode: 'insert',
        databaseUrl: config.DATABASE_URL,
        schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
      }),
      // One task, so that it creates the table itself (two would race to).
      'tasks.max': '1',
    }),
  });
  expect(put.status).toBe(201);
  await pollUntil(
    `${count} rows from Kafka Connect`,
    async () => {
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${theirs}"`);
      return Number(rows[0]?.n) === count ? true : undefined;
    },
    60_000,
  );

  const columns = async (table: string) =>
    (await columnsOf(table)).map(({ column_name, data_type, is_nullable }) => ({
      column_name,
      data_type,
      is_nullable,
    }));
  expect(await columns(theirs)).toEqual(await columns(ours));
  const rows = async (table: string) =>
    (await db.query(`SELECT * FROM "${table}" ORDER BY "patient_id"`)).rows;
  const landed = await rows(ours);
  expect(landed).toHaveLength(count);
  expect(await rows(theirs)).toEqual(landed);
}, 90_000);
