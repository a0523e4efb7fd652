import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../../lib/config';
import { PIPELINE_HEADERS, type RawResourceRows } from '../../../lib/transform/messages';
import { pollUntil } from '../../support/poll';

export const config = loadConfig();

const kafka = new Kafka({
  clientId: 'sources-tests',
  brokers: config.KAFKA_BROKERS,
  logLevel: logLevel.NOTHING,
});

/** Everything a test created, removed in afterAll (last created, first removed). */
const cleanups: (() => Promise<unknown>)[] = [];
export const registerCleanup = (cleanup: () => Promise<unknown>): void => {
  cleanups.push(cleanup);
};
export const cleanUp = async (): Promise<void> => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
};

/** A short unique suffix for topic, schema, prefix and connector names. */
export const uniqueId = (): string => randomUUID().replaceAll('-', '').slice(0, 12);

/** A raw record as a test sees it: key, decoded value and headers. */
export type RawRecord = {
  key: string;
  value: RawResourceRows;
  batchId: string;
  mapping: string;
  offset: string;
};

/** Polls until `check` returns a value or the deadline passes (then fails with `what`). */
export const waitFor = <T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> => pollUntil(what, check, timeoutMs);

/**
 * Collects every record of a topic from the beginning, in the background; `records()` is what has
 * arrived so far. The topic is deleted at cleanup.
 */
export const watchTopic = async (topic: string): Promise<{ records(): RawRecord[] }> => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  registerCleanup(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });
  const consumer = kafka.consumer({ groupId: `sources-test-${uniqueId()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: RawRecord[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      const header = (name: string) => message.headers?.[name]?.toString() ?? '';
      seen.push({
        key: message.key?.toString() ?? '',
        value: JSON.parse(message.value?.toString() ?? 'null') as RawResourceRows,
        batchId: header(PIPELINE_HEADERS.batchId),
        mapping: header(PIPELINE_HEADERS.mapping),
        offset: message.offset,
      });
    },
  });
  registerCleanup(() => consumer.disconnect());
  return { records: () => [...seen] };
};
