import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { createAvroRegistry } from '../lib/avro/registry';
import { createReadingPublisher } from '../lib/biometrics/publisher';
import { createPopulation, simulateTick } from '../lib/biometrics/simulator';
import type { Config } from '../lib/config';
import { createDeadLetterPublisher, createKafka, createProducer } from '../lib/kafka/client';
import { createSeededRandom } from '../lib/random';
import { type SinkConnectorConfig, tableNameOf } from '../lib/sinks/postgres/config';
import { sinkDecoders } from '../lib/sinks/postgres/decoders';
import { createSinkHandler } from '../lib/sinks/postgres/handler';
import { createSinkPool } from '../lib/sinks/postgres/pg-pool';
import { createPgChunkWriter, createPgTableStore } from '../lib/sinks/postgres/pg-store';
import { createTrigger } from '../plugins/serverless-offline-kafka/src/engine';

/** A fresh ward, so the probe's topic and table are its own. */
const freshWard = () => `clitest_${randomUUID().replaceAll('-', '').slice(0, 10)}`;

const pollUntil = async (probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
};

/** Publishes one reading as the simulator would and returns its topic (created first, so no auto-create noise). */
const publishOne = async (config: Config, ward: string) => {
  const admin = new Kafka({
    clientId: 'medstream-cli',
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: `biometrics_${ward}` }], waitForLeaders: true });
  await admin.disconnect();
  const producer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'medstream-cli-test' }),
  );
  try {
    const random = createSeededRandom(Date.now());
    const { readings } = simulateTick(
      createPopulation({ patients: 1, wards: [ward] }, random),
      Date.now(),
      random,
    );
    const publisher = createReadingPublisher({
      registry: createAvroRegistry(config.SCHEMA_REGISTRY_URL),
      sender: producer,
    });
    const [sent] = await publisher.publish(readings);
    return sent?.topic ?? `biometrics_${ward}`;
  } finally {
    await producer.disconnect();
  }
};

const deleteTopic = async (config: Config, topic: string) => {
  const admin = new Kafka({
    clientId: 'medstream-cli',
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
};

/** `test producer`: a reading reaches a fresh topic and can be read back; how long that took. */
export const testProducer = async (config: Config, options: { keep: boolean; timeoutMs: number }) => {
  const started = performance.now();
  const topic = await publishOne(config, freshWard());
  const producedMs = performance.now() - started;
  const kafka = new Kafka({
    clientId: 'medstream-cli',
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  });
  // A short fetch wait: disconnecting waits for the fetch in flight, and the answer is already in.
  const consumer = kafka.consumer({ groupId: `medstream-cli-${randomUUID()}`, maxWaitTimeInMs: 100 });
  let readBackMs: number | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async () => {
        // Timed when the reading arrives, not after the teardown below.
        readBackMs ??= performance.now() - started;
      },
    });
    await pollUntil(async () => readBackMs !== undefined, options.timeoutMs);
  } finally {
    await consumer.disconnect();
    if (!options.keep) await deleteTopic(config, topic);
  }
  return { topic, producedMs, readBackMs: readBackMs ?? 0, received: readBackMs !== undefined };
};

/**
 * `test connector`: produces to a fresh topic and reports how long until its table exists and
 * holds the row. In-process (default) runs the sink through the local trigger; `external` only
 * watches PostgreSQL, for a sink that is already running (a Kafka Connect cluster with topics.regex).
 */
export const testConnector = async (
  config: Config,
  connector: SinkConnectorConfig,
  options: { external: boolean; keep: boolean; timeoutMs: number },
) => {
  const ward = freshWard();
  const topic = `biometrics_${ward}`;
  const table = tableNameOf(connector, topic);
  const db = new Client({ connectionString: config.DATABASE_URL });
  await db.connect();
  const pool = createSinkPool(config.DATABASE_URL);
  const dlq = createProducer(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'medstream-cli-dlq' }));
  const registry = createAvroRegistry(config.SCHEMA_REGISTRY_URL);
  let trigger: ReturnType<typeof createTrigger> | undefined;
  try {
    const started = performance.now();
    await publishOne(config, ward);
    const producedMs = performance.now() - started;
    if (!options.external) {
      const tables = createPgTableStore(pool, connector);
      const handler = createSinkHandler({
        connector,
        decoders: sinkDecoders(registry, connector.pkMode),
        tables,
        writer: createPgChunkWriter(pool, tables),
        deadLetters: createDeadLetterPublisher(dlq, connector.deadLetterTopic ?? config.DLQ_TOPIC),
        functionName: 'medstream-cli-test-connector',
      });
      trigger = createTrigger({
        config: {
          functionKey: 'sinkPostgres',
          functionName: 'medstream-cli-sinkPostgres',
          logicalId: 'SinkPostgresEventSourceMappingKafka',
          kind: 'kafka',
          brokers: config.KAFKA_BROKERS,
          bootstrapServers: config.KAFKA_BROKERS.join(','),
          consumerGroupId: `medstream-cli-${ward}`,
          enabled: true,
          batchSize: 100,
          maximumBatchingWindowMs: 100,
          startingPosition: 'TRIM_HORIZON',
          filterPatterns: [],
          maximumRetryAttempts: -1,
          maximumRecordAgeMs: null,
          bisectBatchOnFunctionError: false,
          reportBatchItemFailures: true,
          topic,
          timeoutMs: 30_000,
        },
        invoke: (event) => handler(event),
      });
      await trigger.start();
    }
    const exists = async () =>
      (await db.query('SELECT to_regclass($1) AS t', [`"${table}"`])).rows[0]?.t !== null;
    const tableFound = await pollUntil(exists, options.timeoutMs);
    const tableMs = performance.now() - started;
    const rowFound =
      tableFound &&
      (await pollUntil(
        async () => (await db.query(`SELECT 1 FROM "${table}" LIMIT 1`)).rowCount === 1,
        options.timeoutMs,
      ));
    return {
      topic,
      table,
      producedMs,
      tableMs: tableFound ? tableMs : undefined,
      rowMs: rowFound ? performance.now() - started : undefined,
    };
  } finally {
    await trigger?.stop();
    if (!options.keep) {
      await db.query(`DROP TABLE IF EXISTS "${table}"`).catch(() => undefined);
      await deleteTopic(config, topic);
    }
    await db.end();
    await pool.end();
    await dlq.disconnect();
  }
};
