import { randomUUID } from 'node:crypto';
import type { Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import {
  INSERT_MODE,
  type SinkConnectorConfig,
  subscribesTo,
  tableNameOf,
} from '../lib/sinks/postgres/config';

/**
 * The dead-letter topic as the functions write it (lib/kafka/client.ts createDeadLetterPublisher):
 * the original key, value and headers, and the reason and origin in `medstream.dlq.*` headers.
 */
export type DeadLetter = {
  partition: number;
  offset: string;
  /** When the record was dead-lettered (the DLQ record's timestamp, ms). */
  at: number;
  function: string;
  reason: { type: string; message: string };
  source: { topic: string; partition: number; offset: string; timestamp: number } | undefined;
  key: Buffer | null;
  value: Buffer | null;
  /** The original record's headers (the `medstream.dlq.*` ones removed). */
  headers: Record<string, Buffer>;
  /** Where the record was in the dead-letter topic before a replay sent it back (it failed again). */
  replayedFrom?: string;
};

const DLQ_HEADER = 'medstream.dlq.';

const text = (value: IHeaders[string]): string | undefined => {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : String(first);
};

/** Reads one DLQ record; a record without the headers (written by hand) still shows, as "unknown". */
export const toDeadLetter = (partition: number, message: KafkaMessage): DeadLetter => {
  const headers: Record<string, Buffer> = {};
  const dlq: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (name.startsWith(DLQ_HEADER)) dlq[name.slice(DLQ_HEADER.length)] = text(value) ?? '';
    else {
      const first = Array.isArray(value) ? value[0] : value;
      if (first !== undefined) headers[name] = Buffer.from(first);
    }
  }
  const sourceTopic = dlq['source.topic'];
  return {
    partition,
    offset: message.offset,
    at: Number(message.timestamp),
    function: dlq.function ?? 'unknown',
    reason: { type: dlq['reason.type'] ?? 'unknown', message: dlq['reason.message'] ?? '' },
    source:
      sourceTopic === undefined
        ? undefined
        : {
            topic: sourceTopic,
            partition: Number(dlq['source.partition']),
            offset: dlq['source.offset'] ?? '',
            timestamp: Number(dlq['source.timestamp']),
          },
    key: message.key,
    value: message.value,
    headers,
    ...(dlq['replayed-from'] === undefined ? {} : { replayedFrom: dlq['replayed-from'] }),
  };
};

/** A payload for a terminal: UTF-8 text when it is printable, else its size and leading bytes in hex. */
export const describeBytes = (bytes: Buffer | null, max = 120): string => {
  if (bytes === null) return 'null';
  const asText = bytes.toString('utf8');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: what makes bytes unprintable
  const printable = !asText.includes('\uFFFD') && !/[\u0000-\u0008\u000e-\u001f\u007f]/.test(asText);
  if (printable) return JSON.stringify(asText.length > max ? `${asText.slice(0, max)}…` : asText);
  const head = bytes.subarray(0, 16).toString('hex');
  return `${bytes.length} bytes (${head}${bytes.length > 16 ? '…' : ''})`;
};

/** One dead letter in two lines: where it came from and why; then what it held. */
export const formatDeadLetter = (letter: DeadLetter): string[] => {
  const origin =
    letter.source === undefined
      ? 'source unknown'
      : `${letter.source.topic}[${letter.source.partition}]@${letter.source.offset}`;
  const replay = letter.replayedFrom === undefined ? '' : ` (replayed from ${letter.replayedFrom})`;
  return [
    `${new Date(letter.at).toISOString()} ${letter.partition}@${letter.offset} ${letter.function} ← ${origin}${replay}: ${letter.reason.type}: ${letter.reason.message}`,
    `    key ${describeBytes(letter.key)} value ${describeBytes(letter.value)}${Object.keys(letter.headers).length > 0 ? ` headers ${Object.keys(letter.headers).join(', ')}` : ''}`,
  ];
};

/** One dead letter as a JSON object (key, value and headers base64, as in a Lambda Kafka event). */
export const deadLetterJson = (letter: DeadLetter) => ({
  dlqPartition: letter.partition,
  dlqOffset: letter.offset,
  at: new Date(letter.at).toISOString(),
  function: letter.function,
  reason: letter.reason,
  source: letter.source ?? null,
  key: letter.key?.toString('base64') ?? null,
  value: letter.value?.toString('base64') ?? null,
  replayedFrom: letter.replayedFrom ?? null,
  headers: Object.fromEntries(
    Object.entries(letter.headers).map(([name, value]) => [name, value.toString('base64')]),
  ),
});

export type DeadLetterFilter = { source?: string; function?: string };

const matches = (letter: DeadLetter, filter: DeadLetterFilter): boolean =>
  (filter.source === undefined || letter.source?.topic === filter.source) &&
  (filter.function === undefined || letter.function === filter.function);

export type DeadLetterReport = {
  /** Records in the topic when it was read. */
  total: number;
  /** Records that match the filter, by `<function> <reason type>`. */
  counts: Map<string, number>;
  /** The last `limit` matching records, oldest first. */
  latest: DeadLetter[];
  matched: number;
};

/**
 * Runs `consumer` over `topic` until every partition is read up to `ends` (its end when the read
 * began): `onBatch` gets each batch's records below the end. A crashed consumer or `timeoutMs`
 * without reaching the ends fails the read.
 */
const consumeToEnd = async (
  consumer: Consumer,
  topic: string,
  ends: Map<number, bigint>,
  timeoutMs: number,
  onBatch: (partition: number, messages: KafkaMessage[]) => Promise<void>,
): Promise<void> => {
  const waiting = new Set([...ends].filter(([, end]) => end > 0n).map(([partition]) => partition));
  let done: () => void = () => undefined;
  let failed: (error: unknown) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    consumer.on(consumer.events.CRASH, ({ payload }) => failed(payload.error));
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = ends.get(batch.partition) ?? 0n;
        const below = batch.messages.filter((message) => BigInt(message.offset) < end);
        await onBatch(batch.partition, below);
        // Read to the end as of the start (transaction markers and compacted records included).
        if (BigInt(batch.lastOffset()) + 1n >= end) waiting.delete(batch.partition);
        if (waiting.size === 0) done();
      },
    });
    if (waiting.size === 0) done();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      finished.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (timedOut) throw new Error(`${topic} was not read to its end within ${timeoutMs / 1000} s`);
  } finally {
    await consumer.disconnect();
  }
};

/**
 * Reads the dead-letter topic from its start to its end as of now (a throwaway consumer group that
 * commits nothing), keeping the counts and the last `limit` records that match the filter.
 */
export const readDeadLetters = async (
  kafka: Kafka,
  topic: string,
  options: { filter?: DeadLetterFilter; limit: number; timeoutMs: number },
): Promise<DeadLetterReport> => {
  const filter = options.filter ?? {};
  const report: DeadLetterReport = { total: 0, counts: new Map(), latest: [], matched: 0 };
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return report;
    const offsets = await admin.fetchTopicOffsets(topic);
    for (const { high, low } of offsets) report.total += Number(BigInt(high) - BigInt(low));
    if (report.total === 0) return report;
    // The last `limit` of each partition: the last `limit` of the topic are among them.
    const latest = new Map<number, DeadLetter[]>();
    const groupId = `medstream-cli-dlq-${randomUUID()}`;
    try {
      await consumeToEnd(
        kafka.consumer({ groupId, maxWaitTimeInMs: 100 }),
        topic,
        new Map(offsets.map(({ partition, high, low }) => [partition, high === low ? 0n : BigInt(high)])),
        options.timeoutMs,
        async (partition, messages) => {
          const kept = latest.get(partition) ?? [];
          latest.set(partition, kept);
          for (const message of messages) {
            const letter = toDeadLetter(partition, message);
            if (!matches(letter, filter)) continue;
            report.matched += 1;
            const key = `${letter.function} ${letter.reason.type}`;
            report.counts.set(key, (report.counts.get(key) ?? 0) + 1);
            kept.push(letter);
            if (kept.length > 2 * options.limit) kept.splice(0, kept.length - options.limit);
          }
        },
      );
    } finally {
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    // Oldest first, by when they were dead-lettered.
    report.latest = [...latest.values()]
      .flat()
      .sort((a, b) => a.at - b.at)
      .slice(-options.limit);
    return report;
  } finally {
    await admin.disconnect();
  }
};

/**
 * What to know before replaying into a topic the sink writes by key (insert.mode upsert or update):
 * a replayed record is a new record to it, so it replaces its key's row even where a newer record
 * for that key has been written since (as with Kafka Connect's sink). Undefined otherwise.
 */
export const replayCaution = (connector: SinkConnectorConfig, source: string): string | undefined =>
  subscribesTo(connector, source) && connector.insertMode !== INSERT_MODE.insert
    ? `note: ${connector.name} writes ${source} with insert.mode ${connector.insertMode}: a replayed record replaces its key's row in ${tableNameOf(connector, source)}, even where a newer record for that key was written since`
    : undefined;

/** The header a replayed record carries: where in the dead-letter topic it was. */
export const REPLAYED_FROM_HEADER = 'medstream.dlq.replayed-from';

/** The consumer group that remembers how far the dead letters of `source` were replayed. */
export const replayGroupOf = (source: string): string => `medstream-dlq-replay-${source}`;

type OutgoingRecord = { key: Buffer | null; value: Buffer | null; headers: IHeaders };

export type ReplayResult = {
  replayed: number;
  skipped: number;
  alreadyReplayed: number;
  /** Dead letters of a record this replay already sent (it failed in more than one function). */
  duplicates: number;
};

/**
 * Sends the dead letters that came from `source` back to it: the original key, value and headers,
 * plus `medstream.dlq.replayed-from`. How far it got is committed in a consumer group per source
 * topic after each sent batch, so a second replay sends only what was dead-lettered since (`again`
 * starts over); with `dryRun` nothing is sent or committed. Records from other topics are left for
 * their own replay. A record dead-lettered by several functions (each reading its topic) is sent
 * once per replay: every function reads it again. A record sent whose commit then failed is sent
 * again by the next replay: the functions' writes are idempotent.
 */
export const replayDeadLetters = async (
  kafka: Kafka,
  send: (topic: string, messages: OutgoingRecord[]) => Promise<void>,
  topic: string,
  options: { source: string; dryRun: boolean; again: boolean; timeoutMs: number },
): Promise<ReplayResult> => {
  const result: ReplayResult = { replayed: 0, skipped: 0, alreadyReplayed: 0, duplicates: 0 };
  // Where in the source topic each record sent was (partition@offset).
  const sent = new Set<string>();
  const groupId = replayGroupOf(options.source);
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return result;
    if (options.again && !options.dryRun) await admin.resetOffsets({ groupId, topic, earliest: true });
    const offsets = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const startOf = new Map<number, bigint>();
    for (const { partition, low } of offsets) {
      const at = committed?.partitions.find((entry) => entry.partition === partition)?.offset ?? '-1';
      // Never before the log's start: retention may have deleted what a replay left off at.
      const start = options.again || at === '-1' || BigInt(at) < BigInt(low) ? BigInt(low) : BigInt(at);
      startOf.set(partition, start);
      result.alreadyReplayed += Number(start - BigInt(low));
    }
    const ends = new Map(
      offsets.map(({ partition, high }) => [
        partition,
        (startOf.get(partition) ?? 0n) < BigInt(high) ? BigInt(high) : 0n,
      ]),
    );
    if ([...ends.values()].every((end) => end === 0n)) return result;
    // A dry run reads as a group of its own, so it neither moves nor waits for the replay's.
    const dryRunGroup = `medstream-cli-dlq-${randomUUID()}`;
    const consumer = kafka.consumer({
      groupId: options.dryRun ? dryRunGroup : groupId,
      maxWaitTimeInMs: 100,
    });
    try {
      await consumeToEnd(consumer, topic, ends, options.timeoutMs, async (partition, messages) => {
        const start = startOf.get(partition) ?? 0n;
        const outgoing: OutgoingRecord[] = [];
        for (const message of messages) {
          if (BigInt(message.offset) < start) continue;
          const letter = toDeadLetter(partition, message);
          if (letter.source?.topic !== options.source) {
            result.skipped += 1;
            continue;
          }
          const origin = `${letter.source.partition}@${letter.source.offset}`;
          if (letter.source.offset !== '' && sent.has(origin)) {
            result.duplicates += 1;
            continue;
          }
          sent.add(origin);
          outgoing.push({
            key: letter.key,
            value: letter.value,
            headers: { ...letter.headers, [REPLAYED_FROM_HEADER]: `${topic}/${partition}/${message.offset}` },
          });
        }
        const last = messages.at(-1);
        if (!options.dryRun) {
          if (outgoing.length > 0) await send(options.source, outgoing);
          if (last !== undefined) {
            await consumer.commitOffsets([{ topic, partition, offset: String(BigInt(last.offset) + 1n) }]);
          }
        }
        result.replayed += outgoing.length;
      });
    } catch (error) {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)} (${result.replayed} replayed so far; run it again to go on)`,
      );
    } finally {
      if (options.dryRun) await admin.deleteGroups([dryRunGroup]).catch(() => undefined);
    }
    return result;
  } finally {
    await admin.disconnect();
  }
};
