import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { buildHandler as buildCountFailuresHandler } from '../../../functions/count-failures';
import { BATCH_COLLECTIONS } from '../../../lib/batches/mongo-batches';
import { createDeadLetterPublisher } from '../../../lib/kafka/client';
import type { KafkaEvent, KafkaEventRecord } from '../../../lib/kafka/event';
import { recordsOf } from '../../../lib/kafka/event';
import { buildFailureMessages } from '../../../plugins/serverless-offline-kafka/src/failure';
import {
  cleanUp,
  config,
  consumeBatchAsEvents,
  context,
  createClinicalSchema,
  createTestDatabase,
  createTestSource,
  createTestTopics,
  pollUntil,
  RESOURCE_TYPES,
  registerCleanup,
  uniqueId,
} from '../fhir/support';
import { countsOf, createTrackedPipeline } from './support';

jest.setTimeout(120_000);
afterAll(cleanUp);

const PATIENT = 'mimic-patient';
const kafka = new Kafka({
  clientId: 'on-failure-tests',
  brokers: config.KAFKA_BROKERS,
  logLevel: logLevel.NOTHING,
});

/** An on-failure topic of this test's own (one partition), deleted at cleanup. */
const createFailureTopic = async (): Promise<string> => {
  const topic = `it-medstream.failed.transform-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  registerCleanup(async () => {
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });
  return topic;
};

/** Reads `count` records of a topic with a real consumer, shaped as the ESM delivers them. */
const consumeAsEvent = async (topic: string, count: number): Promise<KafkaEvent> => {
  const consumer = kafka.consumer({ groupId: `on-failure-test-${uniqueId()}` });
  await consumer.connect();
  const records: KafkaEventRecord[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          topic,
          partition,
          offset: Number(message.offset),
          timestamp: Number(message.timestamp),
          timestampType: 'CREATE_TIME',
          ...(message.key === null ? {} : { key: message.key.toString('base64') }),
          value: message.value === null ? null : message.value.toString('base64'),
          headers: Object.entries(message.headers ?? {}).map(([name, value]) => ({
            [name]: [...(Buffer.isBuffer(value) ? value : Buffer.from(String(value)))],
          })),
        });
      },
    });
    await pollUntil(`${count} failure records`, async () => (records.length >= count ? true : undefined));
  } finally {
    await consumer.disconnect();
  }
  return {
    eventSource: 'SelfManagedKafka',
    bootstrapServers: config.KAFKA_BROKERS.join(','),
    records: { [`${topic}-0`]: records },
  };
};

describe('count-failures on the real stack', () => {
  it('counts a record the transform gave up as failed and completes its batch, once', async () => {
    const clinical = await createClinicalSchema(3, 29);
    const patients = clinical.dataset.patients.length;
    const { topics, dlqTopic } = await createTestTopics();
    const { db } = await createTestDatabase();
    const pipeline = createTrackedPipeline({
      source: createTestSource(clinical.schema),
      db,
      topics,
      dlqTopic,
    });
    const countFailures = buildCountFailuresHandler({
      ledger: pipeline.batches,
      deadLetters: createDeadLetterPublisher(pipeline.producer, dlqTopic),
      functionName: 'count-failures-test',
      clock: () => new Date(),
    });

    const { batchId } = await pipeline.extract(PATIENT);
    const rawEvents = await consumeBatchAsEvents([topics.raw(PATIENT)], [batchId], patients);
    const raw = rawEvents.flatMap(recordsOf);
    const [givenUp] = raw;
    // A producer retry may have published the given-up record twice: its copies are given up too.
    const delivered = raw.filter((record) => record.key !== givenUp?.key);
    if (givenUp === undefined || delivered.length === 0) throw new Error('dataset');
    // The given-up record never reaches the transform (its retries were exhausted); the rest do.
    const rest: Record<string, KafkaEventRecord[]> = {};
    for (const record of delivered) {
      const key = `${record.topic}-${record.partition}`;
      rest[key] = [...(rest[key] ?? []), record];
    }
    expect(await pipeline.transform({ ...(rawEvents[0] as KafkaEvent), records: rest })).toEqual({
      batchItemFailures: [],
    });
    for (const event of await consumeBatchAsEvents(
      RESOURCE_TYPES.map(topics.fhir),
      [batchId],
      patients - 1,
    )) {
      expect(await pipeline.load(event)).toEqual({ batchItemFailures: [] });
    }
    const open = await pipeline.getBatch(batchId);
    expect(open.state).toBe('running');
    expect(countsOf(open, PATIENT)).toMatchObject({ extracted: patients, loaded: patients - 1, failed: 0 });

    // The on-failure records exactly as the local event source mapping writes them: the given-up
    // record, and one already loaded (a late give-up of a record that did end) that must not count.
    const failureTopic = await createFailureTopic();
    const messages = buildFailureMessages(
      {
        records: [givenUp, delivered[0] as KafkaEventRecord],
        condition: 'RetryAttemptsExhausted',
        attempts: 11,
        error: { type: 'UnavailableError', message: 'fhir store unavailable' },
      },
      {
        kind: 'kafka',
        bootstrapServers: config.KAFKA_BROKERS.join(','),
        functionName: 'medstream-local-transform',
        region: 'us-east-1',
      },
      Date.now(),
      randomUUID,
    );
    await pipeline.producer.send(failureTopic, messages);
    const failureEvent = await consumeAsEvent(failureTopic, messages.length);

    expect(await countFailures(failureEvent, context)).toEqual({ batchItemFailures: [] });
    const done = await pipeline.getBatch(batchId);
    expect(countsOf(done, PATIENT)).toEqual({
      extracted: patients,
      transformed: patients - 1,
      loaded: patients - 1,
      failed: 1,
      dropped: 0,
    });
    expect(done.state).toBe('completed');
    const stored = await db.collection(BATCH_COLLECTIONS.batches).findOne({ _id: batchId as never });
    expect(stored?.state).toBe('completed');

    // A redelivered failure record counts nothing twice.
    expect(await countFailures(failureEvent, context)).toEqual({ batchItemFailures: [] });
    const again = await pipeline.getBatch(batchId);
    expect(countsOf(again, PATIENT)).toEqual(countsOf(done, PATIENT));
    expect(again.completedAt).toBe(done.completedAt);
  });
});
