import { collectEventSources } from '../../../plugins/serverless-offline-kafka/src/plugin';
import {
  brokers,
  createTopic,
  disconnectClients,
  produce,
  recordingHandler,
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

describe('consumer groups', () => {
  it('delivers every record to two functions on the same topic with different groups', async () => {
    const topic = uniqueName('fanout');
    await createTopic(topic, 3);
    await produce(topic, values(30));
    const sinkA = recordingHandler();
    const sinkB = recordingHandler();
    await startTrigger(
      sourceConfig({ topic, functionKey: 'sinkA', consumerGroupId: uniqueName('a') }),
      sinkA.invoke,
    );
    await startTrigger(
      sourceConfig({ topic, functionKey: 'sinkB', consumerGroupId: uniqueName('b') }),
      sinkB.invoke,
    );

    await waitFor(
      '30 records in each',
      () => valuesIn(sinkA.deliveries).length === 30 && valuesIn(sinkB.deliveries).length === 30,
    );
    const ns = (deliveries: typeof sinkA.deliveries) =>
      (valuesIn(deliveries) as { n: number }[]).map((value) => value.n).sort((a, b) => a - b);
    expect(ns(sinkA.deliveries)).toEqual(Array.from({ length: 30 }, (_unused, n) => n));
    expect(ns(sinkB.deliveries)).toEqual(Array.from({ length: 30 }, (_unused, n) => n));
  });

  it('gives each event source mapping of a function its own consumer group, as Lambda does', async () => {
    // Two kafka events of one function, without consumerGroupId: members of one group subscribed to
    // different topics would be handed each other's partitions (kafkajs assigns every partition of
    // the group's topics to its members round robin), and those partitions would never be read.
    const [first, second] = [uniqueName('esm-a'), uniqueName('esm-b')];
    await createTopic(first, 2);
    await createTopic(second, 2);
    await produce(first, values(20));
    await produce(second, values(20, 100));
    const functions: Record<string, Record<string, unknown>> = {
      transform: { events: [{ kafka: { topic: first } }, { kafka: { topic: second } }] },
    };
    const sources = collectEventSources(
      {
        service: {
          service: uniqueName('service'),
          provider: { stage: 'local' },
          getAllFunctions: () => Object.keys(functions),
          getFunction: (key) => functions[key] ?? {},
        },
      },
      {},
      { KAFKA_BROKERS: brokers.join(',') },
    );
    const handler = recordingHandler();
    for (const source of sources)
      await startTrigger({ ...source, maximumBatchingWindowMs: 100 }, handler.invoke);

    await waitFor('40 records', () => valuesIn(handler.deliveries).length >= 40);
    const ns = (valuesIn(handler.deliveries) as { n: number }[])
      .map((value) => value.n)
      .sort((a, b) => a - b);
    expect(ns).toEqual([
      ...Array.from({ length: 20 }, (_unused, n) => n),
      ...Array.from({ length: 20 }, (_unused, n) => 100 + n),
    ]);
  });

  it('keeps each partition in order and never has two batches of one partition in flight', async () => {
    const topic = uniqueName('order');
    await createTopic(topic, 2);
    await produce(
      topic,
      Array.from({ length: 40 }, (_unused, n) => ({ partition: n % 2, value: JSON.stringify({ n }) })),
    );
    const inFlight = new Map<string, number>();
    let overlap = false;
    const seen: Record<string, number[]> = {};
    await startTrigger(sourceConfig({ topic, batchSize: 5, maximumBatchingWindowMs: 0 }), async (event) => {
      for (const [key, records] of Object.entries(event.records)) {
        if ((inFlight.get(key) ?? 0) > 0) overlap = true;
        inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
        seen[key] = [...(seen[key] ?? []), ...records.map((record) => record.offset)];
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const key of Object.keys(event.records)) inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
    });

    await waitFor('40 records', () => Object.values(seen).flat().length === 40);
    expect(overlap).toBe(false);
    expect(seen[`${topic}-0`]).toEqual(Array.from({ length: 20 }, (_unused, n) => n));
    expect(seen[`${topic}-1`]).toEqual(Array.from({ length: 20 }, (_unused, n) => n));
  });

  it('does not consume when the mapping is disabled', async () => {
    const topic = uniqueName('disabled');
    await createTopic(topic);
    await produce(topic, values(1));
    const handler = recordingHandler();
    const trigger = await startTrigger(sourceConfig({ topic, enabled: false }), handler.invoke);
    expect(trigger.stats().state).toBe('disabled');
    expect(handler.deliveries).toHaveLength(0);
  });
});
