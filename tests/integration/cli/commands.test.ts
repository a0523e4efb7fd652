import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { connectorConfigOf } from '../../../bench/connect-reference';
import { connectUrlOf } from '../../../cli/settings';
import { createAvroRegistry } from '../../../lib/avro/registry';
import { loadConfig } from '../../../lib/config';
import { TOPIC_PLACEHOLDER } from '../../../lib/sinks/postgres/config';
import { runCli } from '../../support/cli';
import { pollUntil } from '../../support/poll';

// `medstream produce`, `test producer` and `test connector` on the real stack: what they print,
// their exit codes, and what they leave behind (nothing, unless --keep).

const config = loadConfig();
const connectUrl = connectUrlOf(process.env);
const dir = mkdtempSync(path.join(tmpdir(), 'medstream-commands-'));
// An empty settings file: the defaults and the environment, not a developer's .medstream.json.
const settingsFile = path.join(dir, 'settings.json');
writeFileSync(settingsFile, '{}');
const kafka = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const db = new Client({ connectionString: config.DATABASE_URL });
const cleanups: (() => Promise<unknown>)[] = [];

const cli = (...args: string[]) =>
  runCli(['--config', settingsFile, ...args], (url, init) => fetch(url, init));

/**
 * The probes' tables (biometrics_clitest_*): the Kafka Connect sink below may make one for a topic
 * that a probe is deleting, after the probe dropped its table.
 */
const probeTables = async () =>
  (
    await db.query<{ t: string }>(
      "SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'biometrics\\_clitest\\_%'",
    )
  ).rows.map(({ t }) => t);
let tablesBefore = new Set<string>();

beforeAll(async () => {
  await admin.connect();
  await db.connect();
  tablesBefore = new Set(await probeTables());
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  for (const table of await probeTables())
    if (!tablesBefore.has(table)) await db.query(`DROP TABLE IF EXISTS "${table}"`);
  await admin.disconnect();
  await db.end();
});

const topicExists = async (topic: string) => (await admin.listTopics()).includes(topic);
const tableExists = async (table: string) =>
  (await db.query('SELECT to_regclass($1) AS t', [`"${table}"`])).rows[0]?.t !== null;

it('produce publishes simulated Avro readings keyed by patient to biometrics_<ward>, and counts them', async () => {
  // Not clitest_: the probes' prefix, which the Kafka Connect sink below subscribes to.
  const ward = `cliproduce_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const topic = `biometrics_${ward}`;
  cleanups.push(() => admin.deleteTopics({ topics: [topic] }));

  // Not a whole number of ticks: the last tick publishes only what is left of the count.
  const run = await cli('produce', '--patients', '3', '--wards', ward, '--rate', '30', '--count', '7');

  expect(run.exitCode).toBe(0);
  expect(run.lines.at(-1)).toBe('published 7 readings');
  const offsets = await admin.fetchTopicOffsets(topic);
  expect(offsets.reduce((sum, { high }) => sum + Number(high), 0)).toBe(7);
  const registry = createAvroRegistry(config.SCHEMA_REGISTRY_URL);
  const consumer = kafka.consumer({ groupId: `cli-test-${randomUUID()}` });
  const readings: { key: unknown; value: Record<string, unknown> }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        readings.push({
          key: (await registry.decode(message.key as Buffer)).value,
          value: (await registry.decode(message.value as Buffer)).value as Record<string, unknown>,
        });
      },
    });
    await pollUntil('7 readings', async () => (readings.length >= 7 ? true : undefined));
  } finally {
    await consumer.disconnect();
  }
  expect(readings).toHaveLength(7);
  // Two ticks of three patients and one reading of a third: keyed by patient id, in this ward.
  const patients = new Set(readings.map(({ value }) => value.patient_id));
  expect(patients.size).toBe(3);
  for (const { key, value } of readings) {
    expect(key).toEqual({ patient_id: value.patient_id });
    expect(value.ward).toBe(ward);
  }
});

it('test producer reads its reading back, and removes its topic', async () => {
  const run = await cli('test', 'producer');

  expect(run.exitCode).toBe(0);
  const [line] = run.lines;
  expect(line).toMatch(/^topic biometrics_clitest_\w+: produced in \d+ ms, read back after \d+ ms$/);
  const topic = /^topic (\S+):/.exec(line ?? '')?.[1] ?? '';
  expect(await topicExists(topic)).toBe(false);
});

it('test connector runs the shipped sink connector in-process until its table holds the row', async () => {
  const run = await cli('test', 'connector');

  expect(run.exitCode).toBe(0);
  const [line] = run.lines;
  expect(line).toMatch(
    /^topic (biometrics_clitest_\w+): table \1 existed after \d+ ms, held the row after \d+ ms$/,
  );
  const topic = /^topic (\S+):/.exec(line ?? '')?.[1] ?? '';
  expect(await tableExists(topic)).toBe(false);
  expect(await topicExists(topic)).toBe(false);
}, 90_000);

it('test connector --external watches a sink that runs in Kafka Connect, and fails when none does', async () => {
  // Our connector file, for the table name it implies (${topic}), as a user would pass theirs.
  const ours = path.join(dir, 'sink.json');
  writeFileSync(
    ours,
    JSON.stringify({
      name: 'cli-external',
      config: {
        'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
        'topics.regex': 'biometrics_clitest_(.*)',
        'table.name.format': TOPIC_PLACEHOLDER,
        'auto.create': 'true',
      },
    }),
  );
  // Nothing sinks these topics yet: the probe gives up and says so.
  const unattended = await cli('test', 'connector', '--external', '--connector', ours, '--timeout', '3');
  expect(unattended.exitCode).toBe(1);
  expect(unattended.lines).toEqual([
    expect.stringMatching(/^topic biometrics_clitest_\w+: table \S+ did not appear within 3 s$/),
    expect.stringMatching(
      /^nothing wrote the row: with --external the sink must subscribe to biometrics_clitest_\w+ itself/,
    ),
  ]);

  // Kafka Connect with the reference JDBC sink on the same topics (new ones found within 500 ms).
  const name = `medstream-test-external-${randomUUID().slice(0, 8)}`;
  cleanups.push(() => fetch(`${connectUrl}/connectors/${name}`, { method: 'DELETE' }));
  const { topics: _topics, ...reference } = connectorConfigOf({
    topic: '',
    table: TOPIC_PLACEHOLDER,
    mode: 'insert',
    databaseUrl: config.DATABASE_URL,
    schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
  });
  const put = await fetch(`${connectUrl}/connectors/${name}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      ...reference,
      'topics.regex': 'biometrics_clitest_(.*)',
      'tasks.max': '1',
      'consumer.override.metadata.max.age.ms': '500',
    }),
  });
  expect(put.status).toBe(201);

  const run = await cli('test', 'connector', '--external', '--connector', ours, '--timeout', '60');
  expect(run.lines).toEqual([
    expect.stringMatching(
      /^topic (biometrics_clitest_\w+): table \1 existed after \d+ ms, held the row after \d+ ms$/,
    ),
  ]);
  expect(run.exitCode).toBe(0);
}, 120_000);
