// The `npm start` heartbeat: events on the biometrics_* topics that this stage's sink reads, rows in
// their tables, and the lag of the live consumer groups reading them; a line whenever one changes.
// Topics nobody here reads (`medstream produce --wards …`, tests) are not counted: their events
// would never become rows. Those that received records during the run are named, with what to do.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AssignerProtocol } from 'kafkajs';
import { Client } from 'pg';
import { loadConfig } from '../lib/config';
import { createKafka } from '../lib/kafka/client';
import {
  parseSinkConnectorConfig,
  type SinkConnectorConfig,
  tableNameOf,
} from '../lib/sinks/postgres/config';
import { parseTableRef, qualifiedName } from '../lib/sinks/postgres/ddl';
import {
  countDeadLetters,
  createStatusReader,
  type DeadLetterCounts,
  type GroupSubscriptions,
  type KafkaFigures,
  type SunkRows,
  statusLine,
  type TopicRecords,
  topicsRead,
  type UnreadState,
  unavailableLine,
  unreadNotes,
  unreadTopics,
} from './monitor-status';

const INTERVAL_MS = 5000;
const TOPIC_PATTERN = /^biometrics_/;
// The pipeline's own topics (tests prefix theirs, and remove their biometrics_ ones): records there
// that no function reads would never be transformed, loaded or sunk, e.g. a mapping added since
// start, whose events need a restart, or a ward `medstream produce` writes and the sink does not read.
const UNREAD_PATTERN = /^(raw\.|fhir\.|biometrics_)/;
// MEDSTREAM_MONITOR_GRACE_MS: tests shorten it.
const UNREAD_GRACE_MS = Number(process.env.MEDSTREAM_MONITOR_GRACE_MS ?? 30_000);
// Only the consumer groups of this stage's functions (medstream-<stage>-<function>-<topic>): groups left
// behind by tests or other stages are not this run's lag.
const GROUP_PART = `medstream-${process.env.MEDSTREAM_STAGE ?? 'local'}-`;

const config = loadConfig();
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'medstream-monitor' });
let admin = kafka.admin();
// What each group read at the last look, for while its members rejoin.
const rememberedTopics = new Map<string, string[]>();
const unreadState: UnreadState = { since: new Map() };
const deadLetters: DeadLetterCounts = { functionPrefix: GROUP_PART, bySource: new Map(), next: new Map() };

/**
 * Counts the dead letters of every source topic, from the dead-letter topic's start and then as it
 * grows: a consumer of its own that commits nothing (its group is dropped once it leaves).
 */
const followDeadLetters = async (): Promise<void> => {
  const consumer = kafka.consumer({ groupId: `medstream-monitor-${randomUUID()}`, maxWaitTimeInMs: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic: config.DLQ_TOPIC, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => countDeadLetters(deadLetters, batch.partition, batch.messages),
  });
};

/** The topics a group member subscribes to; none while it joins (its metadata is still empty). */
const topicsOf = (memberMetadata: Buffer): string[] => {
  if (memberMetadata.length === 0) return [];
  try {
    return AssignerProtocol.MemberMetadata.decode(memberMetadata)?.topics ?? [];
  } catch {
    return [];
  }
};

const recordsIn = async (topic: string): Promise<number> =>
  (await admin.fetchTopicOffsets(topic)).reduce(
    (sum, partition) => sum + Number(partition.high) - Number(partition.low),
    0,
  );

/** The pipeline topics that received records no live group reads (`read`: what they read). */
const topicsUnread = async (read: ReadonlySet<string>): Promise<TopicRecords[]> => {
  const candidates = (await admin.listTopics()).filter(
    (topic) => UNREAD_PATTERN.test(topic) && !read.has(topic),
  );
  const topics: TopicRecords[] = [];
  for (const topic of candidates) topics.push({ topic, records: await recordsIn(topic) });
  return unreadTopics(topics, read, unreadState, Date.now(), UNREAD_GRACE_MS);
};

const kafkaFigures = async (): Promise<KafkaFigures> => {
  const { groups } = await admin.listGroups();
  const ours = groups.map((group) => group.groupId).filter((groupId) => groupId.includes(GROUP_PART));
  // Only groups with members: a group nobody reads any more (a mapping since removed or renamed)
  // keeps its offsets, and its lag would grow forever without being anyone's.
  const live =
    ours.length === 0
      ? []
      : (await admin.describeGroups(ours)).groups.filter((group) => group.members.length > 0);
  // The topics their members subscribe to (from each member's join metadata).
  const subscriptions: GroupSubscriptions[] = live.map((group) => ({
    groupId: group.groupId,
    memberTopics: group.members.map((member) => topicsOf(member.memberMetadata)),
  }));
  // Every pipeline topic read; the biometrics ones among them are the sink's.
  const read = topicsRead(subscriptions, UNREAD_PATTERN, rememberedTopics);
  const topics = read.filter((topic) => TOPIC_PATTERN.test(topic));
  const unread = await topicsUnread(new Set(read));
  let produced = 0;
  const highWater = new Map<string, number>();
  for (const topic of topics) {
    for (const partition of await admin.fetchTopicOffsets(topic)) {
      produced += Number(partition.high) - Number(partition.low);
      highWater.set(`${topic}-${partition.partition}`, Number(partition.high));
    }
  }
  let lag = 0;
  for (const { groupId } of live) {
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics })) {
      for (const { partition, offset } of partitions) {
        const high = highWater.get(`${topic}-${partition}`) ?? 0;
        const committed = Number(offset);
        lag += committed < 0 ? 0 : Math.max(0, high - committed);
      }
    }
  }
  const deadLettered = topics.reduce((sum, topic) => sum + (deadLetters.bySource.get(topic) ?? 0), 0);
  return { topics, produced, lag, deadLettered, unread };
};

let db: Client | undefined;

const CONNECTOR_FILE = path.join(__dirname, '..', 'connectors', 'sinks', 'biometrics-postgres.json');

/**
 * The sink's table of each topic, by the connector file as it is now (an edit is picked up by the
 * sink at its rebuild, and here at the next count); the topic's name when the file does not parse.
 */
const tablesOf = (topics: string[]): { name: string; sql: string }[] => {
  let connector: SinkConnectorConfig | undefined;
  try {
    connector = parseSinkConnectorConfig(JSON.parse(readFileSync(CONNECTOR_FILE, 'utf8')), CONNECTOR_FILE);
  } catch {
    connector = undefined;
  }
  return topics.map((topic) => {
    const name = connector === undefined ? topic : tableNameOf(connector, topic);
    return { name, sql: qualifiedName(parseTableRef(name), connector?.quoteIdentifiers ?? true) };
  });
};

/** Rows in the sink's tables of `topics`; one connection, kept. */
const sunkRows = async (topics: string[]): Promise<SunkRows> => {
  const tables = tablesOf(topics);
  const names = tables.map((table) => table.name);
  if (topics.length === 0) return { rows: 0, tables: names };
  if (db === undefined) {
    const client = new Client({ connectionString: config.DATABASE_URL });
    client.on('error', () => undefined); // a dropped connection fails the next query, which replaces it
    await client.connect();
    db = client;
  }
  try {
    let total = 0;
    for (const { sql } of tables) {
      const exists = await db.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [sql]);
      if (exists.rows[0]?.t === null) continue;
      const result = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`);
      total += Number(result.rows[0]?.n ?? 0);
    }
    return { rows: total, tables: names };
  } catch (error) {
    await db.end().catch(() => undefined);
    db = undefined;
    throw error;
  }
};

const report = createStatusReader({ kafkaFigures, sunkRows });

const main = async (): Promise<void> => {
  // Nothing here to save: a signal ends the monitor at once, even with a call to a service hanging.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
  await admin.connect().catch(() => undefined);
  // Without it the line lacks the dead-letter count; the rest is the status all the same.
  followDeadLetters().catch((error: Error) =>
    console.log(`medstream: dead letters are not counted (${error.message})`),
  );
  /** The status lines, or why there are none. */
  const look = async (): Promise<string> => {
    const figures = await report();
    return [statusLine(figures), ...unreadNotes(figures.unread ?? [], config.SIMULATOR_WARDS)].join('\n');
  };
  // A kafkajs admin keeps asking for the metadata of every topic it has read: one deleted since
  // (`medstream test producer` and the tests remove theirs) fails each later call. A fresh client
  // forgets it, so a failed look is tried again once with one before the line says so.
  const renewAdmin = async () => {
    await admin.disconnect().catch(() => undefined);
    admin = kafka.admin();
    await admin.connect().catch(() => undefined);
  };
  let last = '';
  for (;;) {
    let line: string;
    try {
      line = await look().catch(async () => {
        await renewAdmin();
        return look();
      });
    } catch (error) {
      line = unavailableLine(error);
      await renewAdmin();
    }
    if (line !== last) console.log(line);
    last = line;
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
  }
};

void main();
