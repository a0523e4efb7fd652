import { randomUUID } from 'node:crypto';
import { type Admin, Kafka, logLevel, type Message, type Producer } from 'kafkajs';
import type { KafkaEvent } from '../../../lib/kafka/event';
import {
  defaultTuning,
  type EngineTuning,
  type EventSourceConfig,
} from '../../../plugins/serverless-offline-kafka/src/config';
import {
  createTrigger,
  type Invoke,
  type Trigger,
} from '../../../plugins/serverless-offline-kafka/src/engine';

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
  .split(',')
  .map((broker) => broker.trim());
export const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';

export const kafka = new Kafka({ clientId: 'trigger-tests', brokers, logLevel: logLevel.NOTHING });

/** Short retries so a failure test takes seconds, not minutes. */
export const fastTuning: Partial<EngineTuning> = {
  retryBackoffBaseMs: 50,
  retryBackoffMaxMs: 200,
  sessionTimeoutMs: 10_000,
};

/** Every name handed out, so the topics made under them are deleted after the file's tests. */
const names: string[] = [];

export const uniqueName = (prefix: string): string => {
  const name = `trigger-test-${prefix}-${randomUUID().slice(0, 8)}`;
  names.push(name);
  return name;
};

let admin: Admin | undefined;
let producer: Producer | undefined;
const triggers: Trigger[] = [];

export const connectedAdmin = async (): Promise<Admin> => {
  if (!admin) {
    admin = kafka.admin();
    await admin.connect();
  }
  return admin;
};

export const createTopic = async (topic: string, partitions = 1): Promise<void> => {
  const client = await connectedAdmin();
  await client.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
};

export const produce = async (topic: string, messages: Message[]): Promise<void> => {
  if (!producer) {
    producer = kafka.producer();
    await producer.connect();
  }
  await producer.send({ topic, acks: -1, messages });
};

export const values = (count: number, from = 0): Message[] =>
  Array.from({ length: count }, (_unused, index) => ({
    key: `k${index + from}`,
    value: JSON.stringify({ n: index + from }),
  }));

/** A mapping's settings as parseEventSource would produce them, with test-friendly defaults. */
export const sourceConfig = (
  overrides: Partial<EventSourceConfig> & { topic: string },
): EventSourceConfig => ({
  functionKey: 'testFunction',
  functionName: 'medstream-test-testFunction',
  logicalId: 'TestFunctionEventSourceMappingKafkaTopic',
  kind: 'kafka',
  brokers,
  bootstrapServers: brokers.join(','),
  consumerGroupId: uniqueName('group'),
  enabled: true,
  batchSize: 100,
  maximumBatchingWindowMs: 100,
  startingPosition: 'TRIM_HORIZON',
  filterPatterns: [],
  maximumRetryAttempts: -1,
  maximumRecordAgeMs: null,
  bisectBatchOnFunctionError: false,
  reportBatchItemFailures: false,
  timeoutMs: 5000,
  ...overrides,
});

/** Starts a trigger that is stopped after the test. */
export const startTrigger = async (
  config: EventSourceConfig,
  invoke: Invoke,
  tuning = fastTuning,
): Promise<Trigger> => {
  const trigger = createTrigger({ config, invoke, tuning: { ...defaultTuning, ...tuning } });
  triggers.push(trigger);
  await trigger.start();
  return trigger;
};

export type Delivery = { event: KafkaEvent; at: number };

/** A handler that records every event it is given (and answers with `respond`). */
export const recordingHandler = (
  respond: (event: KafkaEvent, call: number) => unknown = () => undefined,
): { deliveries: Delivery[]; invoke: Invoke } => {
  const deliveries: Delivery[] = [];
  return {
    deliveries,
    invoke: async (event) => {
      deliveries.push({ event, at: Date.now() });
      return respond(event, deliveries.length);
    },
  };
};

export const recordsIn = (deliveries: Delivery[]) =>
  deliveries.flatMap((delivery) => Object.values(delivery.event.records).flat());

export const valuesIn = (deliveries: Delivery[]): unknown[] =>
  recordsIn(deliveries).map((record) =>
    JSON.parse(Buffer.from(record.value ?? '', 'base64').toString('utf8')),
  );

/** Polls until the condition holds or the deadline passes (then fails with the description). */
export const waitFor = async (
  description: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
};

/** Reads `count` messages of a topic from the beginning with a throwaway consumer group. */
export const readTopic = async (topic: string, count: number, timeoutMs = 20_000) => {
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 200 });
  const messages: { key: string | null; value: string; headers: Record<string, string> }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        messages.push({
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? '',
          headers,
        });
      },
    });
    await waitFor(`${count} messages on ${topic}`, () => messages.length >= count, timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return messages;
};

/** The committed offset of a group on a partition (-1 when none). */
export const committedOffset = async (groupId: string, topic: string, partition = 0): Promise<number> => {
  const client = await connectedAdmin();
  const [offsets] = await client.fetchOffsets({ groupId, topics: [topic] });
  return Number(offsets?.partitions.find((entry) => entry.partition === partition)?.offset ?? -1);
};

/** Stops every trigger started in the test (registered with afterEach). */
export const stopTriggers = async (): Promise<void> => {
  await Promise.all(triggers.splice(0).map((trigger) => trigger.stop()));
};

/**
 * Deletes the topics this file's tests made (named by uniqueName, or after such a name: `<name>-dlt`)
 * and disconnects the shared clients (registered with afterAll).
 */
export const disconnectClients = async (): Promise<void> => {
  await stopTriggers();
  const client = await connectedAdmin();
  const made = (await client.listTopics()).filter((topic) => names.some((name) => topic.startsWith(name)));
  names.length = 0;
  if (made.length > 0) await client.deleteTopics({ topics: made }).catch(() => undefined);
  await producer?.disconnect();
  await admin?.disconnect();
  producer = undefined;
  admin = undefined;
};
