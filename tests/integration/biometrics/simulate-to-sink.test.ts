import { makeHandler as makeSimulate } from '../../../functions/simulate';
import { createReadingPublisher } from '../../../lib/biometrics/publisher';
import { BIOMETRICS_VALUE_SCHEMA } from '../../../lib/biometrics/schema';
import { createSimulation } from '../../../lib/biometrics/simulation';
import { createPopulation } from '../../../lib/biometrics/simulator';
import { createKafka, createProducer } from '../../../lib/kafka/client';
import { createSeededRandom } from '../../../lib/random';
import {
  cleanUp,
  columnsOf,
  config,
  consumeAsEvent,
  createTestTopic,
  db,
  registerCleanup,
  registry,
  sinkHandlerFor,
} from '../sink/support';

afterAll(cleanUp);

it('publishes one Avro reading per patient per tick to biometrics_<ward> and the sink lands them as rows', async () => {
  // A unique ward keeps this run's topic (and table) apart from the running simulator's. The
  // simulator writes biometrics_<ward>: the one test topic in that namespace, and short-lived (the
  // status line of an npm start beside names a ward nobody reads only after 30 s).
  const topic = await createTestTopic('biometrics_simtest');
  const ward = topic.slice('biometrics_'.length);
  const producer = createProducer(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'simulate-test' }));
  registerCleanup(() => producer.disconnect());
  const random = createSeededRandom(42);
  const simulation = createSimulation({
    population: createPopulation({ patients: 7, wards: [ward] }, random),
    publisher: createReadingPublisher({ registry, sender: producer }),
    random,
  });
  const now = Date.UTC(2026, 10, 22, 12, 0, 0);
  const simulate = makeSimulate({ simulation, now: () => now, ticks: 3 });

  await expect(simulate()).resolves.toEqual({ ticks: 3, published: 21, topics: { [topic]: 21 } });

  const event = await consumeAsEvent(topic, 21);
  const decoded = await registry.decode(Buffer.from(event.records[`${topic}-0`]?.[0]?.value ?? '', 'base64'));
  expect(decoded.schema).toEqual(BIOMETRICS_VALUE_SCHEMA);

  const { handler } = await sinkHandlerFor({
    'topics.regex': 'biometrics_(.*)',
    'auto.create': 'true',
    'pk.mode': 'kafka',
  });
  await expect(handler(event)).resolves.toEqual({ batchItemFailures: [] });

  const { rows } = await db.query(`SELECT * FROM "${topic}" ORDER BY "__connect_offset"`);
  expect(rows).toHaveLength(21);
  expect(rows[0]).toMatchObject({
    __connect_topic: topic,
    __connect_partition: 0,
    patient_id: 'P000001',
    ward,
  });
  // timestamp-millis lands as TIMESTAMP in UTC: the wall clock equals the UTC instant.
  expect((rows[0].time as Date).getTime() - new Date().getTimezoneOffset() * 60_000).toBe(now - 2000);
  expect(new Set(rows.map((row) => row.patient_id)).size).toBe(7);
  expect((await columnsOf(topic)).map((column) => [column.column_name, column.data_type])).toEqual([
    ['__connect_topic', 'text'],
    ['__connect_partition', 'integer'],
    ['__connect_offset', 'bigint'],
    ['patient_id', 'text'],
    ['ward', 'text'],
    ['time', 'timestamp without time zone'],
    ['heart_rate', 'integer'],
    ['respiratory_rate', 'integer'],
    ['spo2', 'integer'],
    ['temperature', 'double precision'],
    ['systolic_bp', 'integer'],
    ['diastolic_bp', 'integer'],
    ['consciousness', 'text'],
    ['supplemental_oxygen', 'boolean'],
  ]);
});
