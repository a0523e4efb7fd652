import {
  committedOffset,
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

describe('starting position', () => {
  it('TRIM_HORIZON starts a new group at the oldest record', async () => {
    const topic = uniqueName('trim');
    await createTopic(topic);
    await produce(topic, values(3));
    const handler = recordingHandler();
    await startTrigger(
      sourceConfig({ topic, startingPosition: 'TRIM_HORIZON', maximumBatchingWindowMs: 0 }),
      handler.invoke,
    );

    await waitFor('3 records', () => valuesIn(handler.deliveries).length === 3);
    expect(valuesIn(handler.deliveries)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
  });

  it('reports when it first asked the broker for records: after start, before the first invocation', async () => {
    const topic = uniqueName('fetching');
    await createTopic(topic);
    await produce(topic, values(1));
    const handler = recordingHandler();
    const startedAt = Date.now();
    const trigger = await startTrigger(sourceConfig({ topic, maximumBatchingWindowMs: 0 }), handler.invoke);

    await waitFor('1 record', () => valuesIn(handler.deliveries).length === 1);
    const since = trigger.stats().fetchingSince;
    expect(Date.parse(since ?? '')).toBeGreaterThanOrEqual(startedAt);
    expect(Date.parse(since ?? '')).toBeLessThanOrEqual(handler.deliveries[0]?.at ?? 0);
    // Later fetches (an empty log answers every maxWaitTime) leave it at the first one.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(trigger.stats().fetchingSince).toBe(since);
  });

  it('LATEST starts a new group after the records that existed when the mapping started', async () => {
    const topic = uniqueName('latest');
    await createTopic(topic);
    await produce(topic, values(3));
    const handler = recordingHandler();
    await startTrigger(
      sourceConfig({ topic, startingPosition: 'LATEST', maximumBatchingWindowMs: 0 }),
      handler.invoke,
    );
    await produce(topic, values(2, 3));

    await waitFor('2 new records', () => valuesIn(handler.deliveries).length === 2);
    expect(valuesIn(handler.deliveries)).toEqual([{ n: 3 }, { n: 4 }]);
  });

  it('AT_TIMESTAMP starts a new group at the first record at or after the timestamp', async () => {
    const topic = uniqueName('at');
    await createTopic(topic);
    const base = Date.now() - 60_000;
    await produce(
      topic,
      values(4).map((message, index) => ({ ...message, timestamp: String(base + index * 1000) })),
    );
    const handler = recordingHandler();
    await startTrigger(
      sourceConfig({
        topic,
        startingPosition: 'AT_TIMESTAMP',
        startingPositionTimestampMs: base + 2000,
        maximumBatchingWindowMs: 0,
      }),
      handler.invoke,
    );

    await waitFor('2 records', () => valuesIn(handler.deliveries).length === 2);
    expect(valuesIn(handler.deliveries)).toEqual([{ n: 2 }, { n: 3 }]);
  });

  it('ignores the starting position when the group already has committed offsets', async () => {
    const topic = uniqueName('resume');
    await createTopic(topic);
    await produce(topic, values(2));
    const groupId = uniqueName('group');
    const first = recordingHandler();
    await startTrigger(
      sourceConfig({ topic, consumerGroupId: groupId, maximumBatchingWindowMs: 0 }),
      first.invoke,
    );
    await waitFor('first 2 records', () => valuesIn(first.deliveries).length === 2);
    await waitFor('the commit', async () => (await committedOffset(groupId, topic)) === 2);
    await stopTriggers();

    await produce(topic, values(2, 2));
    const second = recordingHandler();
    // LATEST would skip records 2 and 3 for a new group; this group resumes from its commit.
    await startTrigger(
      sourceConfig({
        topic,
        consumerGroupId: groupId,
        startingPosition: 'LATEST',
        maximumBatchingWindowMs: 0,
      }),
      second.invoke,
    );
    await waitFor('the 2 records after the commit', () => valuesIn(second.deliveries).length === 2);
    expect(valuesIn(second.deliveries)).toEqual([{ n: 2 }, { n: 3 }]);
  });
});
