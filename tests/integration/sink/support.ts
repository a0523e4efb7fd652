import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Pool } from 'pg';
import { makeHandler, type SinkPostgresDeps } from '../../../functions/sink-postgres';
import { type AvroRegistry, type AvroSchema, createAvroRegistry } from '../../../lib/avro/registry';
import { loadConfig } from '../../../lib/config';
import { createDeadLetterPublisher, createKafka, createProducer } from '../../../lib/kafka/client';
import type { KafkaEvent, KafkaEventRecord } from '../../../lib/kafka/event';
import { parseSinkConnectorConfig } from '../../../lib/sinks/postgres/config';
import { sinkDecoders } from '../../../lib/sinks/postgres/decoders';
import { createSinkPool } from '../../../lib/sinks/postgres/pg-pool';
import { createPgChunkWriter, createPgTableStore } from '../../../lib/sinks/postgres/pg-store';
import { toEventRecord } from '../../../plugins/serverless-offline-kafka/src/event';

export const config = loadConfig();

jest.setTimeout(60_000);
const kafka = new Kafka({
  clientId: 'sink-tests',
  brokers: config.KAFKA_BROKERS,
  logLevel: logLevel.NOTHING,
});

/** Everything a test created, removed in afterAll. */
const cleanups: (() => Promise<unknown>)[] = [];
export const registerCleanup = (cleanup: () => Promise<unknown>) => cleanups.push(cleanup);
export const cleanUp = async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
};

export const registry: AvroRegistry = createAvroRegistry(config.SCHEMA_REGISTRY_URL);
export const db = new Pool({ connectionString: config.DATABASE_URL, max: 2 });
registerCleanup(() => db.end());

let producer: Producer | undefined;
const admin = kafka.admin();
let adminConnected = false;

/** A unique topic (TopicNameStrategy subjects are deleted, the table dropped, the topic deleted). */
export const createTestTopic = async (prefix = 'sinktest'): Promise<string> => {
  const topic = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  if (!adminConnected) {
    await admin.connect();
    adminConnected = true;
    registerCleanup(() => admin.disconnect());
  }
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  registerCleanup(() => admin.deleteTopics({ topics: [topic] }));
  registerCleanup(() => db.query(`DROP TABLE IF EXISTS "${topic}"`));
  for (const subject of [`${topic}-key`, `${topic}-value`]) {
    registerCleanup(async () => {
      await fetch(`${config.SCHEMA_REGISTRY_URL}/subjects/${subject}`, { method: 'DELETE' });
      await fetch(`${config.SCHEMA_REGISTRY_URL}/subjects/${subject}?permanent=true`, { method: 'DELETE' });
    });
  }
  return topic;
};

type Produced = { key?: Buffer | string | null; value: Buffer | null; headers?: Record<string, string> };

/** Produces raw messages and waits for the broker's ack. */
export const produce = async (topic: string, messages: Produced[]): Promise<void> => {
  if (producer === undefined) {
    producer = kafka.producer();
    await producer.connect();
    const connected = producer;
    registerCleanup(() => connected.disconnect());
  }
  await producer.send({
    topic,
    acks: -1,
    messages: messages.map((message) => ({
      key: message.key ?? null,
      value: message.value,
      headers: message.headers,
    })),
  });
};

/** Registers a schema through the registry's REST API as is, under the subject's current compatibility. */
export const registerRaw = async (
  subject: string,
  schema: AvroSchema,
  compatibility?: 'NONE',
): Promise<number> => {
  const headers = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
  if (compatibility !== undefined) {
    await fetch(`${config.SCHEMA_REGISTRY_URL}/config/${subject}`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ compatibility }),
    });
  }
  const response = await fetch(`${config.SCHEMA_REGISTRY_URL}/subjects/${subject}/versions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
  if (!response.ok)
    throw new Error(
      `registry refused the schema for ${subject}: ${response.status} ${await response.text()}`,
    );
  return ((await response.json()) as { id: number }).id;
};

/** Registers key/value schemas under the topic's subjects and produces Avro records (null value = tombstone). */
export const produceAvro = async (
  topic: string,
  schemas: { key?: AvroSchema; value: AvroSchema },
  records: { key?: unknown; value: unknown | null }[],
): Promise<{ keyId?: number; valueId: number }> => {
  const valueId = await registry.register(`${topic}-value`, schemas.value);
  const keyId = schemas.key === undefined ? undefined : await registry.register(`${topic}-key`, schemas.key);
  const messages = await Promise.all(
    records.map(async (record) => ({
      key:
        keyId !== undefined && record.key !== undefined
          ? await registry.encode(keyId, record.key)
          : typeof record.key === 'string'
            ? record.key
            : null,
      value: record.value === null ? null : await registry.encode(valueId, record.value),
    })),
  );
  await produce(topic, messages);
  return { ...(keyId === undefined ? {} : { keyId }), valueId };
};

/**
 * Reads `count` records of a topic from `fromOffset` with a real consumer and shapes them as the
 * Lambda ESM delivers them (records under `topic-partition`, base64 key/value, header byte arrays).
 */
export const consumeAsEvent = async (
  topic: string,
  count: number,
  fromOffset = 0,
  timeoutMs = 30_000,
): Promise<KafkaEvent> => {
  const consumer = kafka.consumer({ groupId: `sink-test-${randomUUID()}` });
  await consumer.connect();
  const records: KafkaEventRecord[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (Number(message.offset) >= fromOffset && records.length < count)
          records.push(toEventRecord({ topic, partition, logAppendTime: false }, message));
        if (records.length >= count) resolveDone();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`only ${records.length}/${count} records consumed from ${topic}`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await consumer.disconnect();
  }
  const grouped: Record<string, KafkaEventRecord[]> = {};
  for (const record of records) {
    const group = `${record.topic}-${record.partition}`;
    grouped[group] = [...(grouped[group] ?? []), record];
  }
  return {
    eventSource: 'SelfManagedKafka',
    bootstrapServers: config.KAFKA_BROKERS.join(','),
    records: grouped,
  };
};

/** Reads everything in a DLQ topic until `count` letters arrived (with a deadline). */
export const readDeadLetters = async (topic: string, count: number, timeoutMs = 30_000) => {
  const consumer = kafka.consumer({ groupId: `sink-test-dlq-${randomUUID()}` });
  await consumer.connect();
  const letters: { headers: Record<string, string>; value: Buffer | null }[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const deadline = Date.now() + timeoutMs;
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        letters.push({ headers, value: message.value });
      },
    });
    while (letters.length < count && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await consumer.disconnect();
  }
  return letters;
};

/** A sink handler wired to the real registry, PostgreSQL and a per-test DLQ topic. */
export const sinkHandlerFor = async (connector: Record<string, unknown>) => {
  const parsed = parseSinkConnectorConfig({
    name: `sinktest-${randomUUID().slice(0, 8)}`,
    'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
    ...connector,
  });
  const dlqTopic = `medstream_sinktest_dlq_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  if (!adminConnected) {
    await admin.connect();
    adminConnected = true;
    registerCleanup(() => admin.disconnect());
  }
  await admin.createTopics({ topics: [{ topic: dlqTopic, numPartitions: 1 }], waitForLeaders: true });
  registerCleanup(() => admin.deleteTopics({ topics: [dlqTopic] }));
  const pool = createSinkPool(config.DATABASE_URL);
  registerCleanup(() => pool.end());
  const tables = createPgTableStore(pool, parsed);
  const dlqProducer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'sink-tests-dlq' }),
  );
  registerCleanup(() => dlqProducer.disconnect());
  const deps: SinkPostgresDeps = {
    connector: parsed,
    decoders: sinkDecoders(registry, parsed.pkMode),
    tables,
    writer: createPgChunkWriter(pool, tables),
    deadLetters: createDeadLetterPublisher(dlqProducer, dlqTopic),
    functionName: 'sink-postgres-test',
  };
  return { handler: makeHandler(deps), dlqTopic, pool };
};

export { pollUntil } from '../../support/poll';

export const columnsOf = async (table: string) =>
  (
    await db.query<{
      column_name: string;
      data_type: string;
      is_nullable: string;
      column_default: string | null;
    }>(
      `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
      [table],
    )
  ).rows;
