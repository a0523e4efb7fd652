// The `npm start` heartbeat: every few seconds, events produced to biometrics_* topics, rows sunk
// into biometrics_* tables and the lag of every live consumer group reading those topics.
import { Client } from 'pg';
import { loadConfig } from '../lib/config';
import { createKafka } from '../lib/kafka/client';

const INTERVAL_MS = 5000;
const TOPIC_PATTERN = /^biometrics_/;
// Only the consumer groups of this stage's functions (medstream-<stage>-<function>-<topic>): groups left
// behind by tests or other stages are not this run's lag.
const GROUP_PART = `medstream-${process.env.MEDSTREAM_STAGE ?? 'local'}-`;

const config = loadConfig();
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'medstream-monitor' });
let admin = kafka.admin();

type Figures = { produced: number; sunk: number; lag: number };

const kafkaFigures = async (): Promise<{ produced: number; lag: number }> => {
  const topics = (await admin.listTopics()).filter((topic) => TOPIC_PATTERN.test(topic));
  let produced = 0;
  const highWater = new Map<string, number>();
  for (const topic of topics) {
    for (const partition of await admin.fetchTopicOffsets(topic)) {
      produced += Number(partition.high) - Number(partition.low);
      highWater.set(`${topic}-${partition.partition}`, Number(partition.high));
    }
  }
  let lag = 0;
  const { groups } = await admin.listGroups();
  const ours = groups.map((group) => group.groupId).filter((groupId) => groupId.includes(GROUP_PART));
  // Only groups with members: a group nobody reads any more (a mapping since removed or renamed)
  // keeps its offsets, and its lag would grow forever without being anyone's.
  const live =
    ours.length === 0
      ? []
      : (await admin.describeGroups(ours)).groups.filter((group) => group.members.length > 0);
  for (const { groupId } of live) {
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics })) {
      for (const { partition, offset } of partitions) {
        const high = highWater.get(`${topic}-${partition}`) ?? 0;
        const committed = Number(offset);
        lag += committed < 0 ? 0 : Math.max(0, high - committed);
      }
    }
  }
  return { produced, lag };
};

const sunkRows = async (): Promise<number> => {
  const db = new Client({ connectionString: config.DATABASE_URL });
  await db.connect();
  try {
    const { rows } = await db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'biometrics\\_%'",
    );
    let total = 0;
    for (const { table_name } of rows) {
      const result = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${table_name.replaceAll('"', '""')}"`,
      );
      total += Number(result.rows[0]?.n ?? 0);
    }
    return total;
  } finally {
    await db.end();
  }
};

const report = async (): Promise<Figures> => {
  const [{ produced, lag }, sunk] = await Promise.all([kafkaFigures(), sunkRows()]);
  return { produced, sunk, lag };
};

const main = async (): Promise<void> => {
  await admin.connect();
  let stopping = false;
  const stop = (): void => {
    stopping = true;
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  while (!stopping) {
    try {
      const { produced, sunk, lag } = await report();
      console.log(`medstream: ${produced} events produced · ${sunk} rows sunk · consumer lag ${lag}`);
    } catch (error) {
      console.log(`medstream: status unavailable (${(error as Error).message})`);
      // A kafkajs admin keeps asking for the metadata of every topic it has read: one deleted since
      // (`medstream test producer` removes its own) fails each later call. A fresh client forgets it.
      await admin.disconnect().catch(() => undefined);
      admin = kafka.admin();
      await admin.connect().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
  }
  await admin.disconnect();
};

void main();
