import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { cleanUp, columnsOf, config, consumeAsEvent, createTestTopic, db, sinkHandlerFor } from './support';

// Confluent's Python client, pinned, in a venv cached beside the stack's downloads: a second run
// installs nothing.
const CONFLUENT_KAFKA = 'confluent-kafka[avro]==2.16.0';
const venv = path.join(homedir(), '.cache/medstream/venvs/sink-tests-confluent-kafka-2.16.0');
const python = path.join(venv, 'bin/python');

beforeAll(() => {
  if (!existsSync(python)) {
    mkdirSync(path.dirname(venv), { recursive: true });
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  }
  try {
    execFileSync(python, ['-c', 'import confluent_kafka, fastavro'], { stdio: 'ignore' });
  } catch {
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', CONFLUENT_KAFKA], { stdio: 'inherit' });
  }
}, 300_000);

afterAll(cleanUp);

it('lands a record produced by Python confluent-kafka (AvroSerializer) as the JDBC sink would', async () => {
  const topic = await createTestTopic();
  execFileSync(
    python,
    [
      path.join(__dirname, 'fixtures/medrical_producer.py'),
      config.KAFKA_BROKERS.join(','),
      config.SCHEMA_REGISTRY_URL,
      topic,
    ],
    {
      stdio: 'inherit',
      timeout: 60_000,
    },
  );
  const { handler } = await sinkHandlerFor({
    'topics.regex': 'sinktest_(.*)',
    'auto.create': 'true',
    'auto.evolve': 'true',
    'insert.mode': 'upsert',
    'pk.mode': 'record_key',
  });
  await expect(handler(await consumeAsEvent(topic, 2))).resolves.toEqual({ batchItemFailures: [] });

  expect(
    (await columnsOf(topic)).map((column) => [column.column_name, column.data_type, column.is_nullable]),
  ).toEqual([
    ['patient_id', 'integer', 'NO'],
    ['heart_rate', 'integer', 'NO'],
    ['body_temperature', 'real', 'NO'],
    ['systolic_bp', 'integer', 'NO'],
    ['diastolic_bp', 'integer', 'NO'],
    ['oxygen_saturation', 'double precision', 'YES'],
    ['timestamp', 'timestamp without time zone', 'NO'],
  ]);
  const { rows } = await db.query(
    `SELECT patient_id, heart_rate, body_temperature, oxygen_saturation, to_char("timestamp", 'YYYY-MM-DD HH24:MI:SS.MS') AS ts FROM "${topic}" ORDER BY patient_id`,
  );
  expect(rows).toEqual([
    {
      patient_id: 7,
      heart_rate: 88,
      body_temperature: 37.5,
      oxygen_saturation: 96.5,
      ts: '2026-11-18 11:06:40.123',
    },
    {
      patient_id: 8,
      heart_rate: 64,
      body_temperature: 36.25,
      oxygen_saturation: null,
      ts: '2026-11-18 11:06:41.456',
    },
  ]);
});
