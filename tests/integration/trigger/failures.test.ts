import type { KafkaEvent } from '../../../lib/kafka/event';
import { parseEventSource } from '../../../plugins/serverless-offline-kafka/src/config';
import type { FailureDocument } from '../../../plugins/serverless-offline-kafka/src/failure';
import {
  brokers,
  committedOffset,
  connectedAdmin,
  createTopic,
  disconnectClients,
  produce,
  readTopic,
  recordingHandler,
  recordsIn,
  sourceConfig,
  startTrigger,
  stopTriggers,
  uniqueName,
  values,
  valuesIn,
  waitFor,
} from './helpers';

jest.setTimeout(60_000);
afterEach(stopTriggers);
afterAll(disconnectClients);

const offsetsOf = (event: KafkaEvent) =>
  Object.values(event.records)
    .flat()
    .map((record) => record.offset);

const isPoison = (event: KafkaEvent) =>
  Object.values(event.records)
    .flat()
    .some((record) =>
      Buffer.from(record.value ?? '', 'base64')
        .toString()
        .includes('"n":5'),
    );

describe('error handling', () => {
  it('retries the whole batch after an error and commits once it succeeds', async () => {
    const topic = uniqueName('retry');
    await createTopic(topic);
    await produce(topic, values(4));
    const groupId = uniqueName('group');
    const handler = recordingHandler((_event, call) => {
      if (call <= 2) throw new Error('database unavailable');
    });
    await startTrigger(
      sourceConfig({ topic, consumerGroupId: groupId, maximumBatchingWindowMs: 0 }),
      handler.invoke,
    );

    await waitFor(
      'the commit after the third attempt',
      async () => (await committedOffset(groupId, topic)) === 4,
    );
    expect(handler.deliveries.map((delivery) => offsetsOf(delivery.event))).toEqual([
      [0, 1, 2, 3],
      [0, 1, 2, 3],
      [0, 1, 2, 3],
    ]);
  });

  it('treats a timed-out invocation as a failed one', async () => {
    const topic = uniqueName('timeout');
    await createTopic(topic);
    await produce(topic, values(1));
    const groupId = uniqueName('group');
    const handler = recordingHandler(async (_event, call) => {
      if (call === 1) await new Promise((resolve) => setTimeout(resolve, 1000));
    });
    await startTrigger(
      sourceConfig({ topic, consumerGroupId: groupId, timeoutMs: 200, maximumBatchingWindowMs: 0 }),
      handler.invoke,
    );

    await waitFor('the commit after the retry', async () => (await committedOffset(groupId, topic)) === 1);
    expect(handler.deliveries).toHaveLength(2);
  });

  it('bisects a failing batch until the poison record is alone, and sends only it to the destination', async () => {
    const topic = uniqueName('bisect');
    const destination = uniqueName('dlt');
    await createTopic(topic);
    await createTopic(destination);
    await produce(topic, values(8));
    const groupId = uniqueName('group');
    const handler = recordingHandler((event) => {
      if (isPoison(event)) throw new Error('poison');
    });
    await startTrigger(
      sourceConfig({
        topic,
        consumerGroupId: groupId,
        maximumBatchingWindowMs: 0,
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 1,
        onFailureTopic: destination,
      }),
      handler.invoke,
    );

    await waitFor('all 8 committed', async () => (await committedOffset(groupId, topic)) === 8);
    const failed = await readTopic(destination, 1);
    expect(failed).toHaveLength(1);
    const document = JSON.parse(failed[0]?.value ?? '') as FailureDocument;
    expect(document.payload.records[`${topic}-0`]?.[0]?.offset).toBe(5);
    // [0..7] fails → [0..3] ok, [4..7] fails → [4,5] fails, [6,7] ok → [4] ok, [5] fails twice (1 retry).
    const succeeded = handler.deliveries.filter((delivery) => !isPoison(delivery.event));
    expect(succeeded.flatMap((delivery) => offsetsOf(delivery.event)).sort()).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(document.requestContext.approximateInvokeCount).toBe(2);
  });

  it('retries from the first failed offset of a partial batch response', async () => {
    const topic = uniqueName('partial');
    await createTopic(topic);
    await produce(topic, values(6));
    const groupId = uniqueName('group');
    const handler = recordingHandler((_event, call) =>
      call === 1
        ? {
            batchItemFailures: [
              { itemIdentifier: { partition: `${topic}-0`, offset: 4 } },
              { itemIdentifier: { partition: `${topic}-0`, offset: 2 } },
            ],
          }
        : { batchItemFailures: [] },
    );
    await startTrigger(
      sourceConfig({
        topic,
        consumerGroupId: groupId,
        maximumBatchingWindowMs: 0,
        reportBatchItemFailures: true,
      }),
      handler.invoke,
    );

    await waitFor('all 6 committed', async () => (await committedOffset(groupId, topic)) === 6);
    expect(handler.deliveries.map((delivery) => offsetsOf(delivery.event))).toEqual([
      [0, 1, 2, 3, 4, 5],
      [2, 3, 4, 5],
    ]);
  });

  it('sends records to kafka://<topic> with the failure metadata once retries are exhausted, then goes on', async () => {
    const topic = uniqueName('exhaust');
    const destination = uniqueName('dlt');
    await createTopic(topic);
    await createTopic(destination);
    await produce(topic, [{ key: 'patient-9', value: JSON.stringify({ n: 5 }), headers: { trace: 't-1' } }]);
    const groupId = uniqueName('group');
    const handler = recordingHandler((event) => {
      if (isPoison(event)) throw new TypeError('cannot parse reading');
    });
    await startTrigger(
      sourceConfig({
        topic,
        consumerGroupId: groupId,
        functionName: 'medstream-test-sinkPostgres',
        maximumBatchingWindowMs: 0,
        maximumRetryAttempts: 2,
        onFailureTopic: destination,
      }),
      handler.invoke,
    );
    const [failed] = await readTopic(destination, 1);
    expect(handler.deliveries).toHaveLength(3); // the first attempt and 2 retries

    // The partition is not stalled: the next record is delivered.
    await produce(topic, [{ value: JSON.stringify({ n: 6 }) }]);
    await waitFor('the next record', () =>
      valuesIn(handler.deliveries).some((value) => (value as { n: number }).n === 6),
    );
    await waitFor('both committed', async () => (await committedOffset(groupId, topic)) === 2);

    expect(failed?.key).toBe('patient-9');
    expect(failed?.headers).toMatchObject({
      'lambda-esm-condition': 'RetryAttemptsExhausted',
      'lambda-esm-source-topic': topic,
      'lambda-esm-source-partition': '0',
      'lambda-esm-source-offset': '0',
      'lambda-esm-attempts': '3',
    });
    const document = JSON.parse(failed?.value ?? '') as FailureDocument;
    expect(document.requestContext).toMatchObject({
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:medstream-test-sinkPostgres',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 3,
    });
    expect(document.responseContext).toMatchObject({
      functionError: 'Unhandled',
      errorType: 'TypeError',
      errorMessage: 'cannot parse reading',
    });
    expect(document.KafkaBatchInfo).toMatchObject({
      topic,
      partition: 0,
      startOffset: 0,
      endOffset: 0,
      batchSize: 1,
    });
    const record = document.payload.records[`${topic}-0`]?.[0];
    expect(record).toMatchObject({
      topic,
      partition: 0,
      offset: 0,
      key: Buffer.from('patient-9').toString('base64'),
      value: Buffer.from(JSON.stringify({ n: 5 })).toString('base64'),
      headers: [{ trace: [...Buffer.from('t-1')] }],
    });
  });

  it('sends records older than the maximum record age to the destination without invoking', async () => {
    const topic = uniqueName('age');
    const destination = uniqueName('dlt');
    await createTopic(topic);
    await createTopic(destination);
    const twoHoursAgo = Date.now() - 2 * 3600_000;
    await produce(topic, [
      { value: JSON.stringify({ n: 0 }), timestamp: String(twoHoursAgo) },
      { value: JSON.stringify({ n: 1 }) },
    ]);
    const handler = recordingHandler();
    await startTrigger(
      sourceConfig({
        topic,
        maximumBatchingWindowMs: 0,
        maximumRecordAgeMs: 60_000,
        onFailureTopic: destination,
      }),
      handler.invoke,
    );

    const [failed] = await readTopic(destination, 1);
    await waitFor('the fresh record', () => valuesIn(handler.deliveries).length === 1);
    expect(valuesIn(handler.deliveries)).toEqual([{ n: 1 }]);
    const document = JSON.parse(failed?.value ?? '') as FailureDocument;
    expect(document.requestContext).toMatchObject({
      condition: 'RecordAgeExceeded',
      approximateInvokeCount: 0,
    });
    expect(document.payload.records[`${topic}-0`]?.[0]?.timestamp).toBe(twoHoursAgo);
  });

  it('caps infinite retries at 10 when an on-failure destination is configured', async () => {
    const topic = uniqueName('cap');
    const destination = uniqueName('dlt');
    await createTopic(topic);
    await createTopic(destination);
    await produce(topic, values(1));
    // Resolved from serverless.yml exactly as the plugin does: MaximumRetryAttempts left at -1.
    const config = parseEventSource({
      functionKey: 'sink',
      functionDefinition: {},
      kind: 'kafka',
      event: {
        topic,
        bootstrapServers: brokers,
        maximumBatchingWindow: 0,
        onFailureDestination: `kafka://${destination}`,
      },
      extensions: {},
      service: 'medstream',
      stage: 'test',
      region: 'us-east-1',
      localBrokers: brokers,
    });
    expect(config.maximumRetryAttempts).toBe(10);
    const handler = recordingHandler(() => {
      throw new Error('always');
    });
    await startTrigger({ ...config, consumerGroupId: uniqueName('group') }, handler.invoke, {
      retryBackoffBaseMs: 10,
      retryBackoffMaxMs: 20,
    });

    const [failed] = await readTopic(destination, 1);
    expect(handler.deliveries).toHaveLength(11);
    expect((JSON.parse(failed?.value ?? '') as FailureDocument).requestContext.approximateInvokeCount).toBe(
      11,
    );
  });

  it('drops an exhausted record when there is no destination, so the partition goes on', async () => {
    const topic = uniqueName('drop');
    await createTopic(topic);
    await produce(topic, [{ value: JSON.stringify({ n: 5 }) }, { value: JSON.stringify({ n: 6 }) }]);
    const groupId = uniqueName('group');
    const handler = recordingHandler((event) => {
      if (isPoison(event)) throw new Error('poison');
    });
    const trigger = await startTrigger(
      sourceConfig({
        topic,
        consumerGroupId: groupId,
        batchSize: 1,
        maximumBatchingWindowMs: 0,
        maximumRetryAttempts: 1,
      }),
      handler.invoke,
    );

    await waitFor('both committed', async () => (await committedOffset(groupId, topic)) === 2);
    expect(recordsIn(handler.deliveries).map((record) => record.offset)).toEqual([0, 0, 1]);
    expect(trigger.stats().discarded).toBe(1);
  });

  it('sends a failed batch larger than the broker takes in one request to the destination, and goes on', async () => {
    const topic = uniqueName('big-failure');
    const destination = uniqueName('dlt');
    await createTopic(topic);
    await createTopic(destination);
    // 800 records of 1.5 KB: their failure documents make ~2.5 MB, over the broker's 1 MB a request
    // (one send of them all was refused as too large, and the consumer crashed for good).
    const count = 800;
    for (let from = 0; from < count; from += 200) {
      await produce(
        topic,
        Array.from({ length: 200 }, (_unused, index) => ({
          key: `k${from + index}`,
          value: JSON.stringify({ n: from + index, pad: 'x'.repeat(1500) }),
        })),
      );
    }
    const groupId = uniqueName('group');
    const handler = recordingHandler(() => {
      throw new Error('the database is down');
    });
    const trigger = await startTrigger(
      sourceConfig({
        topic,
        consumerGroupId: groupId,
        batchSize: 1000,
        maximumBatchingWindowMs: 200,
        maximumRetryAttempts: 0,
        onFailureTopic: destination,
      }),
      handler.invoke,
    );

    const failed = await readTopic(destination, count);
    expect(new Set(failed.map((message) => message.headers['lambda-esm-source-offset'])).size).toBe(count);
    await waitFor('all committed', async () => (await committedOffset(groupId, topic)) === count);
    expect(trigger.stats()).toMatchObject({ state: 'running', sentToDestination: count });
  });

  it('restarts a mapping whose consumer kafkajs gave up on, and goes on from the committed offset', async () => {
    const topic = uniqueName('restart');
    const destination = uniqueName('dlt');
    await createTopic(topic);
    // A destination that refuses the failure document (too large for it) until its limit is raised:
    // the send fails with an error kafkajs does not retry, and it stops the consumer for good.
    const admin = await connectedAdmin();
    await admin.createTopics({
      topics: [{ topic: destination, configEntries: [{ name: 'max.message.bytes', value: '200' }] }],
      waitForLeaders: true,
    });
    await produce(topic, [{ key: 'k0', value: JSON.stringify({ n: 0 }) }]);
    const groupId = uniqueName('group');
    const handler = recordingHandler(() => {
      throw new Error('cannot write');
    });
    const trigger = await startTrigger(
      sourceConfig({
        topic,
        consumerGroupId: groupId,
        maximumBatchingWindowMs: 0,
        maximumRetryAttempts: 0,
        onFailureTopic: destination,
      }),
      handler.invoke,
      // Restarts at least 500 ms apart, so the crashed state can be seen between them.
      { retryBackoffBaseMs: 500, retryBackoffMaxMs: 1000, sessionTimeoutMs: 10_000 },
    );
    await waitFor('the consumer to crash', () => trigger.stats().state === 'crashed');

    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: 2, name: destination, configEntries: [{ name: 'max.message.bytes', value: '1048588' }] },
      ],
    });
    const [failed] = await readTopic(destination, 1);
    expect(failed?.headers['lambda-esm-source-offset']).toBe('0');
    await waitFor('the record committed', async () => (await committedOffset(groupId, topic)) === 1);
    expect(trigger.stats().state).toBe('running');
    // The partition goes on.
    await produce(topic, [{ key: 'k1', value: JSON.stringify({ n: 1 }) }]);
    await waitFor('the next record', () =>
      valuesIn(handler.deliveries).some((value) => (value as { n: number }).n === 1),
    );
  });
});
