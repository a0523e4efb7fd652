jest.setTimeout(60_000);

import type { KafkaEventRecord } from '../../../lib/kafka/event';
import { createSeededRandom, randomInt } from '../../../lib/random';
import type { FailureDocument } from '../../../plugins/serverless-offline-kafka/src/failure';
import {
  brokers,
  createTopic,
  disconnectClients,
  fastTuning,
  kafka,
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

  it('fills batches across fetches that end mid-batch, in order, without losing or repeating a record', async () => {
    const topic = uniqueName('carry');
    await createTopic(topic);
    // One record batch per send; fetches of ~200 bytes return one of them at a time, so every batch
    // of 10 is gathered from several fetches, most ending mid-batch with more already in the log.
    for (let from = 0; from < 105; from += 7) await produce(topic, values(7, from));
    const handler = recordingHandler();
    const started = Date.now();
    await startTrigger(
      sourceConfig({ topic, batchSize: 10, maximumBatchingWindowMs: 4000 }),
      handler.invoke,
      {
        ...fastTuning,
        maxBytesPerPartition: 200,
      },
    );

    await waitFor('105 records', () => recordsIn(handler.deliveries).length === 105);
    const sizes = handler.deliveries.map((delivery) => recordsIn([delivery]).length);
    expect(sizes).toEqual([...Array.from({ length: 10 }, () => 10), 5]);
    // Full batches did not wait for the window; only the last, partial one did.
    expect((handler.deliveries[9]?.at ?? 0) - started).toBeLessThan(4000);
    expect((handler.deliveries[10]?.at ?? 0) - started).toBeGreaterThanOrEqual(4000);
    expect(valuesIn(handler.deliveries)).toEqual(Array.from({ length: 105 }, (_unused, n) => ({ n })));
  });

  it('keeps carried records when the fetch that extends them reaches the end of the log short of a batch', async () => {
    const topic = uniqueName('carry-end');
    await createTopic(topic);
    // Fetches return one send (record batch) at a time: the first batch of 10 ends inside the
    // second send, so 10..13 are carried; the fetch that brings 14..16 ends the log short of a
    // batch, and the carried 10..13 must not be skipped when the trigger fetches again.
    await produce(topic, values(7));
    await produce(topic, values(7, 7));
    await produce(topic, values(3, 14));
    const handler = recordingHandler();
    await startTrigger(
      sourceConfig({ topic, batchSize: 10, maximumBatchingWindowMs: 1500 }),
      handler.invoke,
      { ...fastTuning, maxBytesPerPartition: 200 },
    );

    await waitFor('the last record', () =>
      valuesIn(handler.deliveries).some((value) => (value as { n: number }).n === 16),
    );
    // Read again from 10 one send at a time, the pending records may come in more than one batch
    // (10..13, then 14..16, each after the window); none is lost, repeated or reordered.
    expect(recordsIn(handler.deliveries.slice(0, 1))).toHaveLength(10);
    expect(valuesIn(handler.deliveries)).toEqual(Array.from({ length: 17 }, (_unused, n) => ({ n })));
  });

  /**
   * Random send sizes, fetch sizes and batch sizes, some records arriving while the trigger runs,
   * with `failureRate` invocations that throw and are retried (`retries` times, then sent to an
   * on-failure topic; forever without), with `filterRate` records that a filter pattern drops.
   * Seeded, so a failure replays. Returns each partition's values as produced (less the filtered
   * ones), as delivered by invocations that succeeded, and as sent to the on-failure topic.
   */
  const randomCuts = async (
    seed: number,
    {
      failureRate = 0,
      filterRate = 0,
      retries,
    }: { failureRate?: number; filterRate?: number; retries?: number } = {},
  ) => {
    const random = createSeededRandom(seed);
    const topic = uniqueName(`cuts-${seed}`);
    await createTopic(topic, 2);
    const batchSize = randomInt(random, 3, 12);
    const sends = Array.from({ length: 24 }, () => ({
      partition: randomInt(random, 0, 1),
      count: randomInt(random, 1, 9),
    }));
    const planned = sends.reduce((sum, { count }) => sum + count, 0);
    const filtering = createSeededRandom(seed + 2);
    const dropped = Array.from({ length: planned }, (_unused, n) => n).filter(() => filtering() < filterRate);
    const produced: number[][] = [[], []];
    let total = 0;
    const send = async ({ partition, count }: { partition: number; count: number }): Promise<void> => {
      await produce(
        topic,
        values(count, total).map((message) => ({ ...message, partition })),
      );
      const kept = Array.from({ length: count }, (_unused, index) => total + index).filter(
        (n) => !dropped.includes(n),
      );
      produced[partition]?.push(...kept);
      total += count;
    };
    for (const batch of sends.slice(0, 16)) await send(batch);
    const failedCalls = new Set<number>();
    // Its own sequence: which calls fail does not depend on how the sends interleave with them.
    const failing = createSeededRandom(seed + 1);
    const handler = recordingHandler((_event, call) => {
      if (failing() >= failureRate) return undefined;
      failedCalls.add(call);
      throw new Error(`invocation ${call} fails`);
    });
    const filterPatterns = dropped.length > 0 ? [{ value: { n: [{ 'anything-but': dropped }] } }] : [];
    const onFailureTopic = retries === undefined ? undefined : uniqueName('on-failure');
    const config = sourceConfig({
      topic,
      batchSize,
      maximumBatchingWindowMs: 300,
      filterPatterns,
      ...(onFailureTopic ? { onFailureTopic, maximumRetryAttempts: retries } : {}),
    });
    const trigger = await startTrigger(config, handler.invoke, {
      ...fastTuning,
      maxBytesPerPartition: randomInt(random, 120, 500),
    });
    for (const batch of sends.slice(16)) {
      await new Promise((resolve) => setTimeout(resolve, randomInt(random, 0, 150)));
      await send(batch);
    }
    const succeeded = () => handler.deliveries.filter((_delivery, index) => !failedCalls.has(index + 1));
    const expected = total - dropped.length;
    const settled = () => recordsIn(succeeded()).length + trigger.stats().sentToDestination;
    await waitFor(`${expected} records`, () => settled() >= expected, 30_000);
    // A repeat would show here, after everything has arrived once.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const numberIn = (record: KafkaEventRecord): number =>
      (JSON.parse(Buffer.from(record.value ?? '', 'base64').toString('utf8')) as { n: number }).n;
    const delivered = [0, 1].map((partition) =>
      recordsIn(succeeded())
        .filter((record) => record.partition === partition)
        .map(numberIn),
    );
    const sent = trigger.stats().sentToDestination;
    const failed = onFailureTopic
      ? (await readTopic(onFailureTopic, sent)).flatMap(({ value }) =>
          Object.values((JSON.parse(value) as FailureDocument).payload.records).flat(),
        )
      : [];
    const sentAway = [0, 1].map((partition) =>
      failed.filter((record) => record.partition === partition).map(numberIn),
    );
    const largest = Math.max(...handler.deliveries.map((delivery) => recordsIn([delivery]).length));
    return {
      produced,
      delivered,
      sentAway,
      batchSize,
      largest,
      failures: failedCalls.size,
      dropped: dropped.length,
    };
  };

  it.each([7, 21, 1234])(
    'delivers each record once and in order across random fetch cuts (seed %i)',
    async (seed) => {
      const { produced, delivered, batchSize, largest } = await randomCuts(seed);
      expect(delivered).toEqual(produced);
      expect(largest).toBeLessThanOrEqual(batchSize);
    },
  );

  it.each([3, 21, 99])(
    'retries failed invocations across random fetch cuts: each record succeeds once, in order (seed %i)',
    async (seed) => {
      const { produced, delivered, failures } = await randomCuts(seed, { failureRate: 0.3 });
      expect(failures).toBeGreaterThan(0);
      expect(delivered).toEqual(produced);
    },
  );

  it.each([4, 50])(
    'filters and retries across random fetch cuts: each kept record succeeds once, in order (seed %i)',
    async (seed) => {
      const { produced, delivered, dropped } = await randomCuts(seed, { failureRate: 0.2, filterRate: 0.2 });
      expect(dropped).toBeGreaterThan(0);
      expect(delivered).toEqual(produced);
    },
  );

  it.each([6, 77])(
    'sends batches that exhaust their retries to the on-failure topic across random fetch cuts (seed %i)',
    async (seed) => {
      const { produced, delivered, sentAway } = await randomCuts(seed, { failureRate: 0.4, retries: 1 });
      expect(sentAway.flat().length).toBeGreaterThan(0);
      // Each record either succeeded once or was sent away once; each list keeps the log's order.
      for (const partition of [0, 1]) {
        const succeeded = delivered[partition] ?? [];
        const away = sentAway[partition] ?? [];
        expect([...succeeded, ...away].sort((a, b) => a - b)).toEqual(produced[partition]);
        expect(succeeded).toEqual([...succeeded].sort((a, b) => a - b));
        expect(away).toEqual([...away].sort((a, b) => a - b));
      }
    },
  );

  it('loses nothing when partitions move to a second member of the group mid-stream', async () => {
    // Small fetches keep batches carried across fetches while the group rebalances twice (a
    // member joins, then the first one leaves): records may be delivered again (at least once),
    // never skipped.
    const random = createSeededRandom(11);
    const topic = uniqueName('rebalance');
    await createTopic(topic, 2);
    let total = 0;
    const sendSome = async (): Promise<void> => {
      const count = randomInt(random, 1, 9);
      await produce(
        topic,
        values(count, total).map((message) => ({ ...message, partition: randomInt(random, 0, 1) })),
      );
      total += count;
    };
    for (let send = 0; send < 30; send += 1) await sendSome();
    const slow = async (): Promise<undefined> => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return undefined;
    };
    const first = recordingHandler(slow);
    const second = recordingHandler(slow);
    const config = sourceConfig({ topic, batchSize: 7, maximumBatchingWindowMs: 300 });
    const tuning = { ...fastTuning, maxBytesPerPartition: 300 };
    const leaving = await startTrigger(config, first.invoke, tuning);
    for (let send = 0; send < 10; send += 1) await sendSome();
    await startTrigger(config, second.invoke, tuning);
    for (let send = 0; send < 10; send += 1) await sendSome();
    await leaving.stop();
    for (let send = 0; send < 10; send += 1) await sendSome();

    const seen = () =>
      new Set(
        valuesIn([...first.deliveries, ...second.deliveries]).map((value) => (value as { n: number }).n),
      );
    await waitFor(`all ${total} records`, () => seen().size >= total, 45_000);
    expect([...seen()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_unused, n) => n));
    expect(second.deliveries.length).toBeGreaterThan(0);
  });

  it('invokes a partial batch after the window when the rest of the log is an open transaction', async () => {
    const topic = uniqueName('open-tx');
    await createTopic(topic);
    await produce(topic, values(15));
    // Records past the last stable offset are not fetched (read committed) until it commits.
    const transactional = kafka.producer({
      transactionalId: uniqueName('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await transactional.connect();
    const transaction = await transactional.transaction();
    try {
      await transaction.send({ topic, messages: values(5, 15) });
      const handler = recordingHandler();
      const started = Date.now();
      await startTrigger(
        sourceConfig({ topic, batchSize: 10, maximumBatchingWindowMs: 2000 }),
        handler.invoke,
      );

      await waitFor('15 records', () => recordsIn(handler.deliveries).length === 15);
      expect(handler.deliveries.map((delivery) => recordsIn([delivery]).length)).toEqual([10, 5]);
      expect((handler.deliveries[1]?.at ?? 0) - started).toBeGreaterThanOrEqual(2000);
      expect(valuesIn(handler.deliveries)).toEqual(Array.from({ length: 15 }, (_unused, n) => ({ n })));
    } finally {
      await transaction.abort();
      await transactional.disconnect();
    }
  });

  /**
   * A topic of `records` in record batches of 15, read by fetches of ~200 bytes (one record batch
   * each) in batches of 10, with a first invocation that lasts until `release()`.
   */
  const startWithFirstInvocationHeld = async (prefix: string, records: number, fetchAhead: boolean) => {
    const topic = uniqueName(prefix);
    await createTopic(topic);
    for (let from = 0; from < records; from += 15) await produce(topic, values(15, from));
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handler = recordingHandler(async (_event, call) => {
      if (call === 1) await gate;
    });
    const trigger = await startTrigger(
      sourceConfig({ topic, batchSize: 10, maximumBatchingWindowMs: 1000 }),
      handler.invoke,
      { ...fastTuning, maxBytesPerPartition: 200, fetchAhead },
    );
    return { handler, trigger, release };
  };

  it('reads the next records of a partition while its batch is invoked, one fetch ahead at most', async () => {
    const { handler, trigger, release } = await startWithFirstInvocationHeld('ahead', 45, true);

    // While 0..9 are invoked, 15..29 are read; 30..44 wait until that fetch is consumed.
    await waitFor('the next fetch during the first invocation', () => trigger.stats().fetched >= 30);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(trigger.stats().fetched).toBe(30);
    expect(handler.deliveries).toHaveLength(1);
    release();
    await waitFor('45 records', () => recordsIn(handler.deliveries).length >= 45);
    expect(valuesIn(handler.deliveries)).toEqual(Array.from({ length: 45 }, (_unused, n) => ({ n })));
    expect(handler.deliveries.map((delivery) => recordsIn([delivery]).length)).toEqual([10, 10, 10, 10, 5]);
  });

  it('reads no further while a batch is invoked with fetchAhead off', async () => {
    const { handler, trigger, release } = await startWithFirstInvocationHeld('no-ahead', 30, false);

    await waitFor('the first invocation', () => handler.deliveries.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(trigger.stats().fetched).toBe(15);
    release();
    await waitFor('30 records', () => recordsIn(handler.deliveries).length >= 30);
    expect(valuesIn(handler.deliveries)).toEqual(Array.from({ length: 30 }, (_unused, n) => ({ n })));
  });

  it.each([true, false])(
    'keeps carried records when a transaction marker follows them and the log goes on (fetchAhead %s)',
    async (fetchAhead) => {
      const topic = uniqueName('tx-marker');
      await createTopic(topic);
      const transactional = kafka.producer({
        transactionalId: uniqueName('tx'),
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await transactional.connect();
      try {
        // Offsets 0..14, the commit marker at 15, then 16..30. Fetches of ~200 bytes return one record
        // batch at a time: 10..14 are carried, the marker comes alone (kafkajs resolves it without an
        // eachBatch), and the fetch that brings 16.. starts past the marker, not right after 14.
        const transaction = await transactional.transaction();
        await transaction.send({ topic, messages: values(15) });
        await transaction.commit();
        await produce(topic, values(15, 15));
      } finally {
        await transactional.disconnect();
      }
      const handler = recordingHandler();
      await startTrigger(
        sourceConfig({ topic, batchSize: 10, maximumBatchingWindowMs: 1000 }),
        handler.invoke,
        { ...fastTuning, maxBytesPerPartition: 200, fetchAhead },
      );

      await waitFor('30 records', () => recordsIn(handler.deliveries).length >= 30);
      expect(valuesIn(handler.deliveries)).toEqual(Array.from({ length: 30 }, (_unused, n) => ({ n })));
      expect(handler.deliveries.map((delivery) => recordsIn([delivery]).length)).toEqual([10, 10, 10]);
    },
  );

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

  it('builds an aws:kafka event with the eventSourceArn and the brokers for msk events', async () => {
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
    // Current MSK events name the brokers too (AWS's example event); locally, the ones read.
    expect(handler.deliveries[0]?.event.bootstrapServers).toBe(brokers.join(','));
  });
});
