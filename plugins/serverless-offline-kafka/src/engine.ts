import { randomUUID } from 'node:crypto';
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  Kafka,
  type KafkaMessage,
  logLevel,
  Partitioners,
  type Producer,
} from 'kafkajs';
import { MedstreamError } from '../../../lib/errors';
import type { KafkaEvent, KafkaEventRecord } from '../../../lib/kafka/event';
import { createRepeatFilter, kafkajsLogCreator } from '../../../lib/kafka/logs';
import { defaultTuning, type EngineTuning, type EventSourceConfig } from './config';
import { filterViewOf, type RawRecord, type RecordOrigin, toEventRecord } from './event';
import { buildFailureMessages, chunkBySize } from './failure';
import { matchesAnyPattern } from './filter';
import { backoffDelayMs, type FailedRecords, type InvokeOutcome, processPartitionBatch } from './processor';
import { applySchemaRegistry, createRegistryDecoder, type SchemaDecoder } from './schema-registry';

/** The narrow logging port of the engine (serverless' log, powertools Logger or console fit it). */
export type Log = {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
};

/** Invokes the function once with an event; resolves with its response, rejects with its error. */
export type Invoke = (event: KafkaEvent, options: { timeoutMs: number }) => Promise<unknown>;

export type TriggerState =
  | 'idle'
  | 'starting'
  | 'waiting-for-topic'
  | 'running'
  | 'disabled'
  | 'stopped'
  | 'crashed';

export type TriggerStats = {
  functionKey: string;
  topic: string;
  groupId: string;
  state: TriggerState;
  /** Records in invocations that succeeded (fully or partly). */
  delivered: number;
  invocations: number;
  failedInvocations: number;
  filtered: number;
  sentToDestination: number;
  /** Failed records dropped because no on-failure destination is configured. */
  discarded: number;
  /** Sum over partitions of (high watermark - committed offset), as last seen. */
  lag: number;
  /** When the consumer first asked the broker for records since start (ISO), once it has joined. */
  fetchingSince: string | null;
  /** Records read from the broker (a record read again, e.g. after a retry from a rejoin, counts again). */
  fetched: number;
};

export type TriggerOptions = {
  config: EventSourceConfig;
  invoke: Invoke;
  tuning?: Partial<EngineTuning>;
  log?: Log;
  region?: string;
  clientId?: string;
  now?: () => number;
  random?: () => number;
  newRequestId?: () => string;
  /** Defaults to a registry client on config.schemaRegistry.uri. */
  schemaDecoder?: SchemaDecoder;
};

export type Trigger = {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): TriggerStats;
};

/** A timed-out invocation is a failed invocation, retried like any other error. */
export class FunctionTimeoutError extends MedstreamError {
  constructor(functionKey: string, timeoutMs: number) {
    super(`function ${functionKey} timed out after ${timeoutMs} ms`, { retryable: true });
  }
}

/** Crashes of every mapping's consumer in this process, the same error written once per window. */
const crashReports = createRepeatFilter();

const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };

const LOG_APPEND_TIME = 1;

const originOf = (topic: string, partition: number, message: KafkaMessage): RecordOrigin => ({
  topic,
  partition,
  // kafkajs keeps the batch's timestamp type on the decoded record but does not type it.
  logAppendTime:
    (message as { batchContext?: { timestampType?: number } }).batchContext?.timestampType ===
    LOG_APPEND_TIME,
});

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries an admin call through transient broker states (coordinator moving, leader election). */
const withRetries = async <T>(operation: () => Promise<T>, attempts = 20): Promise<T> => {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      const retriable = (error as { retriable?: boolean }).retriable === true;
      if (!retriable || attempt >= attempts) throw error;
      await delay(250);
    }
  }
};

type Carried = { records: KafkaEventRecord[]; coveredUpTo: number; timer: NodeJS.Timeout };

type Prepared =
  | { kind: 'deliver'; record: KafkaEventRecord }
  | { kind: 'filtered' }
  | { kind: 'invalid'; record: KafkaEventRecord; reason: string };

/**
 * Runs one Kafka event source mapping against a real broker with kafkajs: one consumer group per
 * mapping, batches per partition (one in flight per partition, so order holds), offsets committed
 * only behind records the function processed (or that were filtered or sent to the destination).
 */
export const createTrigger = (options: TriggerOptions): Trigger => {
  const { config, invoke } = options;
  const tuning: EngineTuning = { ...defaultTuning, ...options.tuning };
  const log = options.log ?? silentLog;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const newRequestId = options.newRequestId ?? randomUUID;
  const region = options.region ?? 'us-east-1';
  const decoder =
    options.schemaDecoder ??
    (config.schemaRegistry ? createRegistryDecoder(config.schemaRegistry.uri) : undefined);

  const stats: TriggerStats = {
    functionKey: config.functionKey,
    topic: config.topic,
    groupId: config.consumerGroupId,
    state: 'idle',
    delivered: 0,
    invocations: 0,
    failedInvocations: 0,
    filtered: 0,
    sentToDestination: 0,
    discarded: 0,
    lag: 0,
    fetchingSince: null,
    fetched: 0,
  };
  const highWatermarks = new Map<number, number>();
  const committed = new Map<number, number>();
  // Where consumption started per partition: the lag baseline until the first commit.
  const firstSeen = new Map<number, number>();
  const pendingSince = new Map<number, { offset: number; at: number }>();
  // A partly filled batch a fetch ended in, while the log already holds what follows: kept for the
  // next fetch of its partition (which continues right after it) instead of being fetched and
  // decoded again. Never committed before it is invoked.
  const carried = new Map<number, Carried>();

  const kafka = new Kafka({
    clientId: options.clientId ?? `serverless-offline-kafka-${config.functionKey}`,
    brokers: config.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator((severity, message, extra) => log[severity](message, extra)),
  });
  let admin: Admin | undefined;
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let stopping = false;

  /**
   * A failure every mapping meets alike while the broker is down (a consumer crash, a start that
   * cannot connect): written once per window across this process, the next with `heldBack`.
   */
  const reportOutage = (
    level: 'warn' | 'error',
    message: string,
    error: unknown,
    extra: Record<string, unknown> = {},
  ): void => {
    const text = String(error);
    const verdict = crashReports(text);
    if (!verdict.write) return;
    log[level](message, {
      function: config.functionKey,
      topic: config.topic,
      error: text,
      ...extra,
      ...(verdict.heldBack > 0 ? { heldBack: verdict.heldBack } : {}),
    });
  };

  /** Carried records are only ever uncommitted: dropping them means reading them again. */
  const dropCarried = (): void => {
    for (const entry of carried.values()) clearTimeout(entry.timer);
    carried.clear();
  };

  const updateLag = (): void => {
    let lag = 0;
    for (const [partition, highWatermark] of highWatermarks) {
      lag += Math.max(
        0,
        highWatermark - (committed.get(partition) ?? firstSeen.get(partition) ?? highWatermark),
      );
    }
    stats.lag = lag;
  };

  const invokeWithTimeout = async (event: KafkaEvent, heartbeat: () => Promise<void>): Promise<unknown> => {
    let timer: NodeJS.Timeout | undefined;
    // Keep the group membership alive while a long invocation runs.
    const beat = setInterval(() => heartbeat().catch(() => undefined), 3000);
    try {
      return await Promise.race([
        invoke(event, { timeoutMs: config.timeoutMs }),
        new Promise((_resolve, reject) => {
          timer = setTimeout(
            () => reject(new FunctionTimeoutError(config.functionKey, config.timeoutMs)),
            config.timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      clearInterval(beat);
    }
  };

  const sendToDestination = async (failed: FailedRecords): Promise<void> => {
    if (failed.records.length === 0) return;
    const first = failed.records[0];
    const where = first ? `${first.topic}-${first.partition}-${first.offset}` : '';
    if (!config.onFailureTopic || !producer) {
      stats.discarded += failed.records.length;
      log.warn('records dropped: no on-failure destination', {
        function: config.functionKey,
        condition: failed.condition,
        records: failed.records.length,
        firstRecord: where,
      });
      return;
    }
    const messages = buildFailureMessages(failed, { ...config, region }, now(), newRequestId);
    for (const chunk of chunkBySize(messages))
      await producer.send({ topic: config.onFailureTopic, acks: -1, messages: chunk });
    stats.sentToDestination += messages.length;
    log.warn('records sent to the on-failure destination', {
      function: config.functionKey,
      destination: `kafka://${config.onFailureTopic}`,
      condition: failed.condition,
      records: failed.records.length,
      firstRecord: where,
    });
  };

  const filtering = config.filterPatterns.length > 0;

  const prepare = (origin: RecordOrigin, raw: RawRecord): Prepared | Promise<Prepared> => {
    if (config.schemaRegistry && decoder) {
      const settings = config.schemaRegistry;
      return applySchemaRegistry(raw, settings, decoder).then((result): Prepared => {
        if (!result.ok) return { kind: 'invalid', record: toEventRecord(origin, raw), reason: result.reason };
        return select(toEventRecord(origin, raw, result.decoded));
      });
    }
    return select(toEventRecord(origin, raw));
  };

  const select = (record: KafkaEventRecord): Prepared =>
    filtering && !matchesAnyPattern(config.filterPatterns, filterViewOf(record))
      ? { kind: 'filtered' }
      : { kind: 'deliver', record };

  const onInvocation = (records: number, outcome: InvokeOutcome): void => {
    stats.invocations += 1;
    if (outcome.kind === 'error') {
      stats.failedInvocations += 1;
      const error = outcome.error;
      log.warn('invocation failed', {
        function: config.functionKey,
        records,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    } else {
      if (outcome.kind === 'partial') stats.failedInvocations += 1;
      stats.delivered += outcome.kind === 'success' ? records : records - outcome.failedOffsets.length;
      log.debug('batch delivered', { function: config.functionKey, records, outcome: outcome.kind });
    }
  };

  /** Whether the partition's log holds records after `offset` (as of this fetch). */
  const logContinuesAfter = (batch: EachBatchPayload['batch'], offset: string): boolean =>
    Number(offset) + 1 < Number(batch.highWatermark);

  // Batches still being invoked after their eachBatch returned (fetch-ahead), by partition.
  const invoking = new Map<number, Promise<void>>();

  /**
   * kafkajs fetches again only once every eachBatch of the last fetch has returned. With fetch-ahead,
   * a batch the log continues after is invoked in the background: its records are resolved at once,
   * so the next fetch starts after them and is read and decoded while they are invoked. The
   * partition's next batch waits for it, so at most one fetched batch per partition waits, and
   * invocations stay one at a time per partition, in offset order, with commits behind them. A
   * failure of the background work (a commit) is thrown by the partition's next batch, which is
   * coming since the log continues: kafkajs then restarts the consumer from the committed offsets.
   */
  const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    stats.fetched += batch.messages.length;
    const previous = invoking.get(batch.partition);
    if (previous !== undefined) {
      invoking.delete(batch.partition);
      await previous;
    }
    const lastMessage = batch.messages[batch.messages.length - 1];
    const ahead =
      tuning.fetchAhead && lastMessage !== undefined && logContinuesAfter(batch, lastMessage.offset);
    if (!ahead) return consumePartitionBatch(payload, false);
    const work = consumePartitionBatch(payload, true);
    payload.resolveOffset(lastMessage.offset);
    work.catch((error: unknown) =>
      log.warn('batch failed after its records were fetched past', {
        function: config.functionKey,
        partition: batch.partition,
        error: String(error),
      }),
    );
    invoking.set(batch.partition, work);
  };

  /**
   * Invokes the records of one fetched batch of a partition. `resolvedAhead`: the batch's records are
   * already resolved (fetch-ahead), so nothing here moves kafkajs' position.
   */
  const consumePartitionBatch = async (payload: EachBatchPayload, resolvedAhead: boolean): Promise<void> => {
    const { batch, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const resolveOffset = (offset: string): void => {
      if (!resolvedAhead) payload.resolveOffset(offset);
    };
    const { topic, partition } = batch;
    highWatermarks.set(partition, Number(batch.highWatermark));
    const firstMessage = batch.messages[0];
    if (!firstSeen.has(partition) && firstMessage) firstSeen.set(partition, Number(firstMessage.offset));
    const running = (): boolean => !stopping && isRunning() && !isStale();

    // Commits of a partition are not awaited one by one: the next batch is invoked while the
    // previous commit travels, commits that queue up meanwhile collapse into one for the highest
    // offset, and eachBatch returns only once the last one has landed.
    let requested = committed.get(partition) ?? -1;
    let sent = requested;
    let commitChain: Promise<void> = Promise.resolve();
    let committing = false;
    let commitFailure: unknown;
    const drainCommits = async (): Promise<void> => {
      committing = true;
      try {
        while (sent < requested && commitFailure === undefined) {
          const next = requested;
          await commitOffsetsIfNecessary({
            topics: [{ topic, partitions: [{ partition, offset: String(next) }] }],
          });
          sent = next;
          committed.set(partition, next);
          updateLag();
        }
      } catch (error) {
        // Surfaced when eachBatch ends: kafkajs then rejoins and the uncommitted records replay.
        commitFailure = error;
      } finally {
        committing = false;
      }
    };
    const commitUpTo = async (offset: number): Promise<void> => {
      if (offset + 1 <= requested) return;
      requested = offset + 1;
      resolveOffset(String(offset));
      if (!committing) commitChain = drainCommits();
    };
    const sleep = async (ms: number): Promise<void> => {
      const until = now() + ms;
      while (running() && now() < until) {
        await delay(Math.min(500, Math.max(0, until - now())));
        await heartbeat();
      }
    };
    const settings = { ...config, ...tuning };
    // The first record read but not yet invoked (null when there is none).
    let pendingStart: number | null = null;
    try {
      try {
        await consumeBatch();
      } finally {
        await commitChain;
      }
      if (commitFailure !== undefined) throw commitFailure;
    } finally {
      // Records read but neither invoked nor carried are read again, whatever ended this batch (the
      // end of the log short of a full batch, an error): kafkajs fetches from this partition's
      // resolved offset, which a carried batch moved past them, so move it back to them.
      if (pendingStart !== null && !carried.has(partition)) resolveOffset(String(pendingStart - 1));
    }

    async function consumeBatch(): Promise<void> {
      let chunk: KafkaEventRecord[] = [];
      // Highest offset whose record is done or part of `chunk`; everything up to it can be committed
      // once the chunk is.
      let coveredUpTo: number | null = null;
      const held = carried.get(partition);
      if (held !== undefined) {
        carried.delete(partition);
        clearTimeout(held.timer);
        // Only a fetch that continues after the carried records extends them: right after them, or
        // past control records that followed them (a transaction marker, which kafkajs resolves
        // without an eachBatch). After a seek back or a rebalance (the fetch starts at or before
        // them: they are uncommitted) they are dropped, and read again from there.
        const fetchedOffset = (batch as { fetchedOffset?: string }).fetchedOffset;
        if (Number(fetchedOffset) > held.coveredUpTo) {
          chunk = held.records;
          coveredUpTo = held.coveredUpTo;
          pendingStart = held.records[0]?.offset ?? null;
        }
      }

      const flush = async (): Promise<boolean> => {
        const records = chunk;
        const cover = coveredUpTo;
        chunk = [];
        pendingSince.delete(partition);
        const result = await processPartitionBatch(records, settings, {
          invoke: (event) => invokeWithTimeout(event, heartbeat),
          now,
          sleep,
          random,
          sendToDestination,
          commit: commitUpTo,
          isRunning: running,
          onInvocation,
        });
        if (result === 'stopped') return false;
        pendingStart = null;
        if (cover !== null) await commitUpTo(cover);
        return true;
      };

      if (!running()) return;
      const firstInBatch = batch.messages[0];
      const origin = firstInBatch
        ? originOf(topic, partition, firstInBatch)
        : { topic, partition, logAppendTime: false };
      // Without a schema registry or filters every record is delivered as is: the hot path of a sink.
      const plain = !config.schemaRegistry && !filtering;
      for (const message of batch.messages) {
        // isStale() is costly per message; a seek or stop is also caught before every invocation.
        if (stopping) return;
        const prepared = plain ? undefined : prepare(origin, message);
        const outcome = prepared instanceof Promise ? await prepared : prepared;
        if (outcome === undefined || outcome.kind === 'deliver') {
          const record = outcome === undefined ? toEventRecord(origin, message) : outcome.record;
          if (chunk.length === 0) pendingStart = record.offset;
          chunk.push(record);
          coveredUpTo = record.offset;
          if (chunk.length >= config.batchSize && !(await flush())) return;
          continue;
        }
        const offset = Number(message.offset);
        if (outcome.kind === 'invalid') {
          // Records that fail schema validation never reach the function.
          await sendToDestination({
            records: [outcome.record],
            condition: 'SchemaValidationFailed',
            attempts: 0,
            error: { type: 'SchemaValidationError', message: outcome.reason },
          });
        } else {
          stats.filtered += 1;
        }
        coveredUpTo = offset;
        if (chunk.length === 0) await commitUpTo(offset);
      }

      if (chunk.length === 0) return;
      const first = chunk[0] as KafkaEventRecord;
      const since = pendingSince.get(partition);
      const startedAt = since && since.offset === first.offset ? since.at : now();
      pendingSince.set(partition, { offset: first.offset, at: startedAt });
      const waited = now() - startedAt;
      if (waited >= config.maximumBatchingWindowMs) {
        await flush();
        return;
      }
      if (logContinuesAfter(batch, batch.lastOffset()) && coveredUpTo !== null) {
        // The log holds more: the next fetch continues after these records, which wait for it here.
        // Should it bring nothing (records past the last stable offset of an open transaction), the
        // window's end seeks back to them, and that fetch invokes them at once.
        const firstOffset = String(first.offset);
        const entry: Carried = {
          records: chunk,
          coveredUpTo,
          timer: setTimeout(() => {
            if (carried.get(partition) !== entry) return;
            carried.delete(partition);
            consumer?.seek({ topic, partition, offset: firstOffset });
          }, config.maximumBatchingWindowMs - waited),
        };
        carried.set(partition, entry);
        resolveOffset(String(coveredUpTo));
        return;
      }
      // Not resolved: kafkajs fetches again from the first pending record (see the end of
      // eachBatch), with whatever arrived meanwhile, until the batch is full or the batching window
      // has passed.
      await delay(Math.min(100, config.maximumBatchingWindowMs - waited));
    }
  };

  const waitForTopic = async (client: Admin): Promise<boolean> => {
    let announced = false;
    while (!stopping) {
      const topics = await client.listTopics();
      if (topics.includes(config.topic)) return true;
      if (!announced) {
        stats.state = 'waiting-for-topic';
        log.info('waiting for the topic to exist', { function: config.functionKey, topic: config.topic });
        announced = true;
      }
      await delay(1000);
    }
    return false;
  };

  /**
   * Where a new consumer group starts, fixed at the moment the mapping starts (as an ESM does when it
   * is created). Partitions of a group that already committed offsets resume from them: the starting
   * position is ignored, as on AWS.
   */
  const startingOffsets = async (client: Admin): Promise<Map<number, string>> => {
    const [groupOffsets] = await withRetries(() =>
      client.fetchOffsets({ groupId: config.consumerGroupId, topics: [config.topic] }),
    );
    const fresh = new Set(
      (groupOffsets?.partitions ?? [])
        .filter((entry) => entry.offset === '-1')
        .map((entry) => entry.partition),
    );
    const pins = new Map<number, string>();
    if (fresh.size === 0) return pins;
    const ends = await withRetries(() => client.fetchTopicOffsets(config.topic));
    const byTime =
      config.startingPosition === 'AT_TIMESTAMP'
        ? await withRetries(() =>
            client.fetchTopicOffsetsByTimestamp(config.topic, config.startingPositionTimestampMs),
          )
        : [];
    for (const end of ends) {
      if (!fresh.has(end.partition)) continue;
      const atTime = byTime.find((entry) => entry.partition === end.partition)?.offset;
      const offset =
        config.startingPosition === 'TRIM_HORIZON'
          ? end.low
          : config.startingPosition === 'LATEST'
            ? end.high
            : // No record at or after the timestamp: start at the end.
              atTime === undefined || atTime === '-1'
              ? end.high
              : atTime;
      pins.set(end.partition, offset);
    }
    return pins;
  };

  const concurrency = (): number => {
    const maximum = config.provisionedPollers?.maximum;
    return Math.max(
      1,
      maximum
        ? Math.min(maximum, tuning.partitionsConsumedConcurrently)
        : tuning.partitionsConsumedConcurrently,
    );
  };

  /** Starting positions of the partitions without a commit (read at start). */
  let pins = new Map<number, string>();
  let restartTimer: NodeJS.Timeout | undefined;
  let restartAttempts = 0;

  /**
   * kafkajs gives up on a consumer for good after some errors (a group coordinator not found while
   * the broker restarts): Lambda's pollers never do, so the mapping is restarted after a backoff,
   * again until it runs. Uncommitted records are read again from the committed offsets.
   */
  const scheduleRestart = (): void => {
    if (stopping || restartTimer !== undefined) return;
    const delay = backoffDelayMs(
      restartAttempts,
      tuning.retryBackoffBaseMs,
      tuning.retryBackoffMaxMs,
      random(),
    );
    restartAttempts += 1;
    restartTimer = setTimeout(async () => {
      restartTimer = undefined;
      if (stopping) return;
      try {
        await consumer?.disconnect().catch(() => undefined);
        await runConsumer();
        restartAttempts = 0;
        log.info('consumer restarted', { function: config.functionKey, topic: config.topic });
      } catch (error) {
        log.warn('consumer restart failed; trying again', {
          function: config.functionKey,
          error: String(error),
        });
        stats.state = 'crashed';
        scheduleRestart();
      }
    }, delay);
  };

  const runConsumer = async (): Promise<void> => {
    consumer = kafka.consumer({
      groupId: config.consumerGroupId,
      sessionTimeout: tuning.sessionTimeoutMs,
      maxBytesPerPartition: tuning.maxBytesPerPartition,
      maxBytes: tuning.maxBytesPerPartition * 4,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
    });
    const client = consumer;
    // Seeking while the group join is reported happens before the first fetch of the assignment.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      dropCarried();
      for (const partition of payload.memberAssignment[config.topic] ?? []) {
        const offset = pins.get(partition);
        if (offset !== undefined && !committed.has(partition))
          client.seek({ topic: config.topic, partition, offset });
      }
    });
    consumer.on(consumer.events.FETCH_START, () => {
      stats.fetchingSince ??= new Date().toISOString();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      reportOutage('error', 'consumer crashed', payload.error, { restart: payload.restart });
      // kafkajs restarts it itself when it says so; otherwise this mapping does.
      if (payload.restart || stopping) return;
      stats.state = 'crashed';
      scheduleRestart();
    });
    await consumer.connect();
    await consumer.subscribe({
      topics: [config.topic],
      fromBeginning: config.startingPosition !== 'LATEST',
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: concurrency(),
      eachBatch,
    });
    stats.state = 'running';
    log.info('consuming', {
      function: config.functionKey,
      topic: config.topic,
      groupId: config.consumerGroupId,
      batchSize: config.batchSize,
      maximumBatchingWindowMs: config.maximumBatchingWindowMs,
    });
  };

  /** Connects, waits for the topic, fixes the starting positions and runs the consumer. */
  const startOnce = async (): Promise<void> => {
    // After a failed attempt the mapping stays "crashed" until one succeeds.
    if (stats.state !== 'crashed') stats.state = 'starting';
    admin = kafka.admin();
    await admin.connect();
    if (!(await waitForTopic(admin))) return;
    pins = await startingOffsets(admin);
    if (config.onFailureTopic) {
      producer = kafka.producer({
        allowAutoTopicCreation: true,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
    }
    // Stopped meanwhile: no consumer may start after stop() has run.
    if (stopping) return;
    await runConsumer();
  };

  return {
    stats: () => {
      updateLag();
      return { ...stats };
    },

    start: async () => {
      if (!config.enabled) {
        stats.state = 'disabled';
        log.info('event source mapping disabled', { function: config.functionKey, topic: config.topic });
        return;
      }
      stats.fetchingSince = null;
      stopping = false;
      // Lambda's pollers never give up on a mapping: a broker that is down at start, or that goes
      // down while the topic is awaited, delays the start (with backoff) until it answers again.
      for (let attempt = 1; !stopping; attempt += 1) {
        try {
          await startOnce();
          return;
        } catch (error) {
          if (stopping) return;
          stats.state = 'crashed';
          reportOutage('warn', 'could not start; trying again', error);
          await Promise.allSettled([admin?.disconnect(), producer?.disconnect(), consumer?.disconnect()]);
          producer = undefined;
          await delay(backoffDelayMs(attempt, tuning.retryBackoffBaseMs, tuning.retryBackoffMaxMs, random()));
        }
      }
    },

    stop: async () => {
      stopping = true;
      clearTimeout(restartTimer);
      restartTimer = undefined;
      dropCarried();
      // An invocation in flight finishes (disconnect() waits for eachBatch, fetch-ahead's background
      // work is waited for here); anything not processed stays uncommitted.
      await Promise.allSettled(invoking.values());
      invoking.clear();
      await consumer?.disconnect();
      await producer?.disconnect();
      await admin?.disconnect();
      if (stats.state !== 'disabled') stats.state = 'stopped';
    },
  };
};
