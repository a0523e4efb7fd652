jest.setTimeout(60_000);

import {
  createTopic,
  disconnectClients,
  produce,
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

afterEach(stopTriggers);
afterAll(disconnectClients);

describe('batching', () => {
  it('invokes with full batches of batchSize and flushes the rest after the batching window', async () => {
    const topic = uniqueName('size');
    await createTopic(topic);
    await produce(topic, values(25));
    const handler = recordingHandler();
    const started = Date.now();
    await startTrigger(sourceConfig({ topic, batchSize: 10, maximumBatchingWindowMs: 1500 }), handler.invoke);

    await waitFor('25 records', () => recordsIn(handler.deliveries).length === 25);
    const sizes = handler.deliveries.map((delivery) => recordsIn([delivery]).length);
    expect(sizes).toEqual([10, 10, 5]);
    // The partial batch waited for the window; the full ones did not.
    expect((handler.deliveries[2]?.at ?? 0) - started).toBeGreaterThanOrEqual(1500);
    expect(valuesIn(handler.deliveries)).toEqual(Array.from({ length: 25 }, (_unused, n) => ({ n })));
  });

  it('gathers records that arrive within the batching window into one invocation', async () => {
    const topic = uniqueName('window');
    await createTopic(topic);
    const handler = recordingHandler();
    await startTrigger(
      sourceConfig({ topic, batchSize: 1000, maximumBatchingWindowMs: 1500, startingPosition: 'LATEST' }),
      handler.invoke,
    );
    const firstSent = Date.now();
    await produce(topic, values(2));
    await new Promise((resolve) => setTimeout(resolve, 300)); // a second burst inside the window
    await produce(topic, values(3, 2));

    await waitFor('5 records', () => recordsIn(handler.deliveries).length === 5);
    expect(handler.deliveries).toHaveLength(1);
    expect((handler.deliveries[0]?.at ?? 0) - firstSent).toBeGreaterThanOrEqual(1400);
  });

  it('builds the exact self-managed Kafka event: records keyed topic-partition, base64, byte-array headers', async () => {
    const topic = uniqueName('shape');
    await createTopic(topic, 2);
    await produce(topic, [
      {
        partition: 1,
        key: 'patient-1',
        value: 'hello',
        headers: { trace: 'abc', multi: ['x', 'y'] },
        timestamp: '1700000000000',
      },
      { partition: 1, key: null, value: null },
    ]);
    const handler = recordingHandler();
    await startTrigger(sourceConfig({ topic, maximumBatchingWindowMs: 0 }), handler.invoke);

    await waitFor('2 records', () => recordsIn(handler.deliveries).length === 2);
    const event = handler.deliveries[0]?.event;
    expect(event?.eventSource).toBe('SelfManagedKafka');
    expect(event?.bootstrapServers).toBeTruthy();
    expect(Object.keys(event?.records ?? {})).toEqual([`${topic}-1`]);
    const [first, second] = event?.records[`${topic}-1`] ?? [];
    expect(first).toEqual({
      topic,
      partition: 1,
      offset: 0,
      timestamp: 1700000000000,
      timestampType: 'CREATE_TIME',
      key: Buffer.from('patient-1').toString('base64'),
      value: Buffer.from('hello').toString('base64'),
      headers: [
        { trace: [...Buffer.from('abc')] },
        { multi: [...Buffer.from('x')] },
        { multi: [...Buffer.from('y')] },
      ],
    });
    expect(second?.key).toBeUndefined();
    expect(second?.value).toBeNull();
  });

  it('builds an aws:kafka event with the eventSourceArn for msk events', async () => {
    const topic = uniqueName('msk');
    await createTopic(topic);
    await produce(topic, values(1));
    const handler = recordingHandler();
    const arn = 'arn:aws:kafka:us-east-1:123456789012:cluster/medstream/abc';
    await startTrigger(
      sourceConfig({ topic, kind: 'msk', eventSourceArn: arn, maximumBatchingWindowMs: 0 }),
      handler.invoke,
    );

    await waitFor('1 record', () => recordsIn(handler.deliveries).length === 1);
    expect(handler.deliveries[0]?.event.eventSource).toBe('aws:kafka');
    expect(handler.deliveries[0]?.event.eventSourceArn).toBe(arn);
    expect(handler.deliveries[0]?.event.bootstrapServers).toBeUndefined();
  });
});
