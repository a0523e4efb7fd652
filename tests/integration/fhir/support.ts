import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { Kafka, logLevel } from 'kafkajs';
import { type Db, MongoClient } from 'mongodb';
import { Client } from 'pg';
import { buildHandler as buildExtractHandler } from '../../../functions/extract';
import { buildHandler as buildLoadHandler } from '../../../functions/load-fhir';
import { buildHandler as buildTransformHandler } from '../../../functions/transform';
import { generateClinicalDataset } from '../../../lib/clinical/generate';
import { loadClinicalDataset } from '../../../lib/clinical/load';
import type { ClinicalDataset } from '../../../lib/clinical/schema';
import { loadConfig } from '../../../lib/config';
import { createPgSource } from '../../../lib/extract/pg-source';
import type { ClinicalSource } from '../../../lib/extract/source';
import { createDeadLetterPublisher, createKafka, createProducer } from '../../../lib/kafka/client';
import type { KafkaEvent, KafkaEventRecord } from '../../../lib/kafka/event';
import { createMongoFhirStore, type FhirStore } from '../../../lib/mongo/fhir-store';
import { createSeededRandom } from '../../../lib/random';
import { createTopicNames, PIPELINE_HEADERS, type TopicNames } from '../../../lib/transform/messages';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';
import { pollUntil } from '../../support/poll';

export { pollUntil };

import { toEventRecord } from '../../../plugins/serverless-offline-kafka/src/event';

export const config = loadConfig();
export const registry = loadShippedMappings();
export const MAPPING_IDS = [...registry.keys()];
export const RESOURCE_TYPES = [
  ...new Set([...registry.values()].map((compiled) => compiled.mapping.resourceType)),
];

const kafka = new Kafka({
  clientId: 'fhir-tests',
  brokers: config.KAFKA_BROKERS,
  logLevel: logLevel.NOTHING,
});
export const context = { functionName: 'fhir-test', awsRequestId: 'fhir-test' } as Context;

/** Everything a test created, removed in afterAll (last created, first removed). */
const cleanups: (() => Promise<unknown>)[] = [];
export const registerCleanup = (cleanup: () => Promise<unknown>): void => {
  cleanups.push(cleanup);
};
export const cleanUp = async (): Promise<void> => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
};

export const uniqueId = (): string => randomUUID().replaceAll('-', '').slice(0, 12);

/** A seeded MIMIC dataset loaded into a schema of this test's own on the real PostgreSQL. */
export const createClinicalSchema = async (
  patients: number,
  seed: number,
): Promise<{ schema: string; dataset: ClinicalDataset; sql: Client }> => {
  const schema = `it_fhir_${uniqueId()}`;
  const dataset = generateClinicalDataset({ patients }, createSeededRandom(seed));
  const sql = new Client({ connectionString: config.CLINICAL_DATABASE_URL });
  await sql.connect();
  registerCleanup(() => sql.end());
  await sql.query(`CREATE SCHEMA "${schema}"`);
  registerCleanup(() => sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  await sql.query(`SET search_path TO "${schema}"`);
  await loadClinicalDataset(sql, dataset);
  return { schema, dataset, sql };
};

/** A MongoDB database of this test's own, dropped at cleanup. */
export const createTestDatabase = async (): Promise<{ db: Db; client: MongoClient }> => {
  const client = new MongoClient(config.MONGODB_URI, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  const db = client.db(`medstream_it_${uniqueId()}`);
  registerCleanup(async () => {
    await db.dropDatabase();
    await client.close();
  });
  return { db, client };
};

/** The stage topics under a test prefix (3 partitions each) and a DLQ topic, deleted at cleanup. */
export const createTestTopics = async (): Promise<{
  topics: TopicNames;
  dlqTopic: string;
  all: string[];
}> => {
  const topics = createTopicNames(`it-fhir-${uniqueId()}.`);
  const dlqTopic = `it-fhir-dlq-${uniqueId()}`;
  const all = [...MAPPING_IDS.map(topics.raw), ...RESOURCE_TYPES.map(topics.fhir)];
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [...all.map((topic) => ({ topic, numPartitions: 3 })), { topic: dlqTopic, numPartitions: 1 }],
    waitForLeaders: true,
  });
  registerCleanup(async () => {
    await admin.deleteTopics({ topics: [...all, dlqTopic] });
    await admin.disconnect();
  });
  return { topics, dlqTopic, all };
};

/** The three functions wired to the real stack under test names, as their factories build them. */
export const createPipeline = (options: {
  source: ClinicalSource;
  db: Db;
  topics: TopicNames;
  dlqTopic: string;
  store?: FhirStore;
}) => {
  const producer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: `fhir-tests-${uniqueId()}` }),
  );
  registerCleanup(() => producer.disconnect());
  const deadLetters = createDeadLetterPublisher(producer, options.dlqTopic);
  const extract = buildExtractHandler({
    registry,
    source: options.source,
    producer,
    topics: options.topics,
    pageSize: 7,
    clock: () => new Date(),
    newBatchId: randomUUID,
  });
  const transform = buildTransformHandler({
    registry,
    topics: options.topics,
    producer,
    deadLetters,
    clock: () => new Date(),
    functionName: 'transform-test',
  });
  const load = buildLoadHandler({
    store: options.store ?? createMongoFhirStore(options.db),
    deadLetters,
    functionName: 'load-fhir-test',
  });
  return {
    extract: (pathParameters: Record<string, string>, body?: string) =>
      extract({ pathParameters, body, isBase64Encoded: false } as APIGatewayProxyEventV2, context),
    transform: (event: KafkaEvent) => transform(event, context),
    load: (event: KafkaEvent) => load(event, context),
  };
};

/** A source on this test's schema; ended at cleanup. */
export const createTestSource = (schema: string) => {
  const source = createPgSource({ connectionString: config.CLINICAL_DATABASE_URL, schema });
  registerCleanup(() => source.end());
  return source;
};

/**
 * Reads, with a real consumer, the records of `topics` whose batch header is one of `batchIds`
 * until `count` arrived, and shapes them as the Lambda ESM delivers them: one event per topic (an
 * ESM has one topic) of at most `batchSize` records, records under `topic-partition`.
 */
export const consumeBatchAsEvents = async (
  topics: readonly string[],
  batchIds: readonly string[],
  count: number,
  batchSize = 100,
): Promise<KafkaEvent[]> => {
  const wanted = new Set(batchIds);
  const consumer = kafka.consumer({ groupId: `fhir-test-${uniqueId()}` });
  await consumer.connect();
  const records: KafkaEventRecord[] = [];
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const batchId = message.headers?.[PIPELINE_HEADERS.batchId]?.toString();
        if (batchId !== undefined && wanted.has(batchId))
          records.push(toEventRecord({ topic, partition, logAppendTime: false }, message));
      },
    });
    // Distinct keys, not records: a producer retry can publish a record twice (at-least-once).
    await pollUntil(`${count} resources in ${topics.length} topics`, async () =>
      new Set(records.map((record) => `${record.topic}/${record.key}`)).size >= count ? true : undefined,
    );
  } finally {
    await consumer.disconnect();
  }
  const events: KafkaEvent[] = [];
  for (const topic of topics) {
    const ofTopic = records.filter((record) => record.topic === topic);
    for (let start = 0; start < ofTopic.length; start += batchSize) {
      const grouped: Record<string, KafkaEventRecord[]> = {};
      for (const record of ofTopic.slice(start, start + batchSize)) {
        const key = `${record.topic}-${record.partition}`;
        grouped[key] = [...(grouped[key] ?? []), record];
      }
      events.push({
        eventSource: 'SelfManagedKafka',
        bootstrapServers: config.KAFKA_BROKERS.join(','),
        records: grouped,
      });
    }
  }
  return events;
};

/** The letters of a DLQ topic once `count` arrived: the original key, reason and original headers. */
export const readDeadLetters = async (
  topic: string,
  count: number,
): Promise<{ key: string | undefined; headers: Record<string, string> }[]> => {
  const consumer = kafka.consumer({ groupId: `fhir-test-dlq-${uniqueId()}` });
  await consumer.connect();
  const letters: { key: string | undefined; headers: Record<string, string> }[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        letters.push({ key: message.key?.toString(), headers });
      },
    });
    await pollUntil(`${count} dead letters`, async () => (letters.length >= count ? true : undefined));
  } finally {
    await consumer.disconnect();
  }
  return letters;
};

/** The high watermarks of topics summed: how many records they hold. */
export const countRecords = async (topics: readonly string[]): Promise<number> => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let total = 0;
    for (const topic of topics) {
      for (const partition of await admin.fetchTopicOffsets(topic)) total += Number(partition.high);
    }
    return total;
  } finally {
    await admin.disconnect();
  }
};
