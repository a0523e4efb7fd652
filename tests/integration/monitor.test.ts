import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../lib/config';
import { createDeadLetterPublisher, createKafka, createProducer } from '../../lib/kafka/client';
import { pollUntil } from '../support/poll';

// `npm start`'s status line (scripts/monitor.ts) on the real broker, for a stage of the test's own:
// the biometrics topics its sink's groups read, their dead letters (not another stage's), and a
// ward written after start that nothing reads.
const root = path.resolve(__dirname, '../..');
const config = loadConfig();
const kafka = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const producer = kafka.producer();
const id = randomUUID().replaceAll('-', '').slice(0, 10);
const stage = `montest${id}`;
const readTopic = `biometrics_montest_${id}`;
const unreadTopic = `biometrics_montestb_${id}`;
const dlqTopic = `montest-dlq-${id}`;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await Promise.all([admin.connect(), producer.connect()]);
  await admin.createTopics({
    topics: [readTopic, unreadTopic, dlqTopic].map((topic) => ({ topic, numPartitions: 1 })),
    waitForLeaders: true,
  });
  cleanups.push(() => admin.deleteTopics({ topics: [readTopic, unreadTopic, dlqTopic] }));
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await Promise.all([admin.disconnect(), producer.disconnect()]);
});

/** A consumer group named as the stage's sink's, reading `topic` and committing what it read. */
const sinkGroup = async (topic: string): Promise<Consumer> => {
  const groupId = `medstream-${stage}-sinkPostgres-${topic}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  cleanups.push(async () => {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]);
  });
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async () => undefined });
  return consumer;
};

/** Runs the monitor for the test's stage; its lines as they come. */
const startMonitor = (): { lines: string[]; child: ChildProcess } => {
  const child = spawn('node', ['--import', 'tsx', 'scripts/monitor.ts'], {
    cwd: root,
    env: {
      ...process.env,
      MEDSTREAM_STAGE: stage,
      DLQ_TOPIC: dlqTopic,
      MEDSTREAM_MONITOR_GRACE_MS: '0',
      SIMULATOR_WARDS: `montest_${id}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(async () => child.kill('SIGTERM'));
  const lines: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  return { lines, child };
};

it("counts the stage's sink topics, their dead letters, and names a ward nothing reads", async () => {
  const readings = [1, 2, 3].map((n) => ({ key: `p${n}`, value: Buffer.from([0, 0, 0, 0, n]) }));
  await producer.send({ topic: readTopic, messages: readings });
  await sinkGroup(readTopic);
  // Two records of the topic dead-lettered by this stage's sink, one by another stage's.
  const dlqProducer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'monitor-test' }),
  );
  cleanups.push(() => dlqProducer.disconnect());
  const deadLetters = createDeadLetterPublisher(dlqProducer, dlqTopic);
  const record = (offset: number) => ({
    topic: readTopic,
    partition: 0,
    offset,
    timestamp: 1_795_000_000_000,
    timestampType: 'CREATE_TIME' as const,
    key: Buffer.from(`p${offset}`).toString('base64'),
    value: Buffer.from('x').toString('base64'),
    headers: [],
  });
  const reason = { type: 'SchemaError', message: 'schema id 5 is unknown to the registry' };
  await deadLetters.deadLetter([
    { record: record(0), reason, functionName: `medstream-${stage}-sinkPostgres` },
    { record: record(1), reason, functionName: `medstream-${stage}-sinkPostgres` },
    { record: record(1), reason, functionName: 'medstream-skeleton-sinkPostgres' },
  ]);

  const { lines } = startMonitor();
  const expected = `medstream: 3 events in ${readTopic} · 0 rows sunk · 2 dead-lettered (npx medstream dlq show) · consumer lag 0`;
  await pollUntil(`the status line ${expected}`, async () => (lines.includes(expected) ? true : undefined));

  // A ward written after start (medstream produce --wards …) that no group of the stage reads.
  await producer.send({ topic: unreadTopic, messages: [{ value: 'a' }, { value: 'b' }] });
  // Other wards may be named beside it: biometrics_default gets records from any npm start running.
  const note = await pollUntil(`a note naming ${unreadTopic}`, async () =>
    lines.find((line) => line.startsWith('medstream: the sink does not read ') && line.includes(unreadTopic)),
  );
  expect(note).toContain(`${unreadTopic} (2 records)`);
  expect(note).toMatch(
    new RegExp(
      `: it reads the wards of SIMULATOR_WARDS \\(montest_${id}\\): restart npm start with SIMULATOR_WARDS=montest_${id},(\\w+,)*montestb_${id}(,\\w+)* to sink them$`,
    ),
  );
  expect(lines).not.toContainEqual(expect.stringMatching(/status unavailable|not counted/));
});
