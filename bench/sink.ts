// `npx tsx bench/sink.ts [--n 1000000] [--partitions 3] [--batch 10000] [--rate 10000] [--latency-seconds 20]
//   [--repeat 1] [--only consume,copy,pgkafka,pgupsert,connect,connectupsert,noop,none,kafka,upsert,latency]`
// (or `npm run bench -- sink ...`). Produces N Avro readings, then measures in one run:
//   - the ceilings: kafkajs consume + Avro decode rate, and PostgreSQL COPY rate of the same rows;
//     beside them PostgreSQL alone doing the database work of pk.mode kafka (COPY into the
//     primary-keyed table) and of upsert (staged COPY + merge), each mode's own lower ceiling;
//   - the sink's sustained rows/s through the real local trigger (plugins/serverless-offline-kafka,
//     one invocation per partition at a time, as Lambda does) in insert mode (pk.mode kafka) and
//     upsert mode (pk.mode record_key). Sustained: full batches, from the first fetch (after the
//     consumer group join, as for the consume ceiling) to the end of the last full batch; the log's
//     last records of each partition make a smaller batch that waits out the batching window (500 ms,
//     Lambda's default) before it is invoked, a fixed wait that is not throughput (the rate with it
//     is printed beside, as withTailPerSecond);
//   - produce→row latency p50/p99 at a fixed offered rate (insert mode);
//   - the reference the issue's targets are set against, in the same run: the stack's Kafka Connect
//     3.9 worker with Debezium's JDBC sink over the same topic, in insert and upsert mode
//     (bench/connect-reference.ts; not measured, and said so, when the worker lacks the plugin).
// For context it also measures the local trigger delivering to a no-op handler (what the trigger
// itself costs on this machine). With --repeat N every throughput measure (ceilings included) runs N
// times and the median is kept: runs on this machine kind vary by ±20 %. The consume ceiling and the
// trigger runs go in rounds (consume, no-op, none, kafka, upsert; N times), and a mode's share of the
// lower ceiling is the median of its rounds' shares, each run against its own round's ceiling: the
// machine's speed drifts over minutes, so a share is taken between runs a minute apart.
// Prints a table and writes bench/results/sink.json. Asserts nothing.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { connectUrlOf } from '../cli/settings';
import { createAvroRegistry } from '../lib/avro/registry';
import {
  BIOMETRICS_KEY_SCHEMA,
  BIOMETRICS_VALUE_SCHEMA,
  subjectsOf,
  toBiometricsKey,
  toBiometricsValue,
} from '../lib/biometrics/schema';
import { createPopulation, simulateTick } from '../lib/biometrics/simulator';
import { loadConfig } from '../lib/config';
import { createDeadLetterPublisher, createKafka, createProducer } from '../lib/kafka/client';
import type { KafkaEvent } from '../lib/kafka/event';
import { logger } from '../lib/logger';
import { createSeededRandom } from '../lib/random';
import { parseSinkConnectorConfig, TOPIC_PLACEHOLDER } from '../lib/sinks/postgres/config';
import { toConnectSchema } from '../lib/sinks/postgres/connect-schema';
import { CopyRows } from '../lib/sinks/postgres/copy-rows';
import { sinkDecoders } from '../lib/sinks/postgres/decoders';
import { extractFieldsMetadata } from '../lib/sinks/postgres/fields';
import { createSinkHandler } from '../lib/sinks/postgres/handler';
import { createSinkPool } from '../lib/sinks/postgres/pg-pool';
import { createPgChunkWriter, createPgTableStore } from '../lib/sinks/postgres/pg-store';
import { createRowWriter, type RowSource } from '../lib/sinks/postgres/row-writer';
import { columnTypesOf } from '../lib/sinks/postgres/sink';
import { CHUNK_KIND, planWriteStatements } from '../lib/sinks/postgres/statements';
import { defaultTuning } from '../plugins/serverless-offline-kafka/src/config';
import { createTrigger } from '../plugins/serverless-offline-kafka/src/engine';
import { type ConnectMode, measureConnectSink } from './connect-reference';
import { type StackService, startServiceCpu } from './service-cpu';

// One log line per batch would dominate the measurement.
logger.setLogLevel('WARN');

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

const N = argument('n', 1_000_000);
const partitions = argument('partitions', 3);
const batchSize = argument('batch', 10_000);
const offeredRate = argument('rate', 10_000);
const latencySeconds = argument('latency-seconds', 20);
const patients = argument('patients', 10_000);
const repeat = argument('repeat', 1);
const onlyIndex = process.argv.indexOf('--only');
/** --only limits the run to some measures (while working on one of them); the targets need all. */
const only = onlyIndex >= 0 ? new Set((process.argv[onlyIndex + 1] ?? '').split(',')) : undefined;
const wanted = (measure: string) => only === undefined || only.has(measure);

const config = loadConfig();
const kafka = new Kafka({ clientId: 'bench-sink', brokers: config.KAFKA_BROKERS, logLevel: logLevel.ERROR });
const registry = createAvroRegistry(config.SCHEMA_REGISTRY_URL);
const runId = randomUUID().replaceAll('-', '').slice(0, 8);
const topic = `biometrics_bench_${runId}`;
const dlqTopic = `medstream_bench_dlq_${runId}`;
const tables: string[] = [];
const topics: string[] = [];

const seconds = (startedMs: number) => (performance.now() - startedMs) / 1000;

/**
 * The stack services' CPU per record since `read` started counting, read once the measure's
 * connections are closed (their backends' time reaches the postmaster as they are reaped).
 */
const serviceCpuPerRecord = async (read: () => Record<StackService, number>, records: number) => {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const used = read();
  const perRecord = (cpuSeconds: number) => (records === 0 ? Number.NaN : (cpuSeconds * 1e6) / records);
  return {
    postgresCpuMicrosPerRecord: perRecord(used.postgres),
    brokerCpuMicrosPerRecord: perRecord(used.kafka),
  };
};

/** The item whose score is the median (the lower middle one of an even count); undefined if none. */
const medianBy = <T>(items: readonly T[], score: (item: T) => number): T | undefined =>
  [...items].sort((a, b) => score(a) - score(b))[Math.floor((items.length - 1) / 2)];

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

type Ids = { key: number; value: number };

const registerSchemas = async (forTopic: string): Promise<Ids> => {
  const subjects = subjectsOf(forTopic);
  return {
    key: await registry.register(subjects.key, BIOMETRICS_KEY_SCHEMA),
    value: await registry.register(subjects.value, BIOMETRICS_VALUE_SCHEMA),
  };
};

/** Simulated readings, encoded once: `count` readings of `patients` patients, one tick per second. */
const encodeReadings = async (ids: Ids, count: number, start: number) => {
  const random = createSeededRandom(7);
  let population = createPopulation({ patients, wards: ['bench'] }, random);
  const messages: { key: Buffer; value: Buffer }[] = [];
  for (let tick = 0; messages.length < count; tick += 1) {
    const result = simulateTick(population, start + tick * 1000, random);
    population = result.population;
    for (const reading of result.readings.slice(0, count - messages.length)) {
      messages.push({
        key: await registry.encode(ids.key, toBiometricsKey(reading)),
        value: await registry.encode(ids.value, toBiometricsValue(reading)),
      });
    }
  }
  return messages;
};

const createTopic = async (name: string, count: number) => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: name, numPartitions: count }], waitForLeaders: true });
  topics.push(name);
  await admin.disconnect();
};

const produceAll = async (messages: { key: Buffer; value: Buffer }[]) => {
  const producer = kafka.producer();
  await producer.connect();
  const started = performance.now();
  const perSend = 5000;
  const inFlight: Promise<unknown>[] = [];
  for (let sent = 0; sent < messages.length; sent += perSend) {
    inFlight.push(producer.send({ topic, acks: 1, messages: messages.slice(sent, sent + perSend) }));
    if (inFlight.length >= 8) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  return seconds(started);
};

/** Ceiling 1: a plain kafkajs consumer reading the topic and decoding every value through the registry. */
const measureConsumeDecode = async () => {
  const consumer = kafka.consumer({
    groupId: `bench-sink-ceiling-${randomUUID()}`,
    // The trigger's fetch sizes, so the two read the log alike (16 MB measured the same ceiling).
    maxBytesPerPartition: defaultTuning.maxBytesPerPartition,
    maxBytes: defaultTuning.maxBytesPerPartition * 4,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  // The clock starts with the first fetch (after the group join), as the trigger's does.
  let started = 0;
  consumer.on(consumer.events.FETCH_START, () => {
    if (started === 0) started = performance.now();
  });
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  await consumer.run({
    partitionsConsumedConcurrently: partitions,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        if (message.value === null) continue;
        // Synchronous once the schema is known: awaiting every record would lower the ceiling.
        const decoded = registry.decode(message.value);
        if (decoded instanceof Promise) await decoded;
      }
      seen += batch.messages.length;
      if (seen >= N) resolveDone();
    },
  });
  await done;
  const elapsed = seconds(started);
  await consumer.disconnect();
  return { rows: seen, seconds: elapsed };
};

/** The database work of one sink mode, done by PostgreSQL alone (ceiling 2). */
type PostgresMode = 'none' | 'kafka' | 'upsert';

const MODE_SETTINGS: Record<PostgresMode, Record<string, string>> = {
  none: { 'pk.mode': 'none', 'insert.mode': 'insert' },
  kafka: { 'pk.mode': 'kafka', 'insert.mode': 'insert' },
  upsert: { 'pk.mode': 'record_key', 'insert.mode': 'upsert' },
};

/** A stable partition per key, as a keyed producer spreads them (FNV-1a of the key's bytes). */
const partitionOfKey = (key: Buffer): number => {
  let hash = 0x811c9dc5;
  for (const byte of key) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash % partitions;
};

/** The sink's connector config for a mode, and the table columns it makes of the readings. */
const columnsOf = (mode: PostgresMode) => {
  const connector = parseSinkConnectorConfig({
    name: 'bench',
    'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
    topics: topic,
    ...MODE_SETTINGS[mode],
  });
  const fields = extractFieldsMetadata(
    topic,
    connector,
    mode === 'upsert' ? toConnectSchema(BIOMETRICS_KEY_SCHEMA) : undefined,
    toConnectSchema(BIOMETRICS_VALUE_SCHEMA),
  ).allFields;
  return { connector, fields };
};

/** Creates the table of a mode with the sink's own DDL (what the JDBC sink's auto.create makes). */
const createTableOf = async (table: string, mode: PostgresMode) => {
  tables.push(table);
  const pool = createSinkPool(config.DATABASE_URL, 1);
  try {
    const { connector, fields } = columnsOf(mode);
    return await createPgTableStore(pool, {
      ...connector,
      autoCreate: true,
      autoEvolve: false,
      quoteIdentifiers: true,
    }).ensureTable({ schema: undefined, name: table }, fields);
  } finally {
    await pool.end();
  }
};

/**
 * The reference: Kafka Connect with Debezium's JDBC sink (bench/connect-reference.ts) over the same
 * topic, into a table made beforehand by the same DDL as ours (its two tasks would race to create it).
 */
const measureConnect = async (mode: ConnectMode, round: number) => {
  const table = `${topic}_connect_${mode}${round}`;
  await createTableOf(table, mode === 'insert' ? 'none' : 'upsert');
  const admin = kafka.admin();
  await admin.connect();
  const services = startServiceCpu(['postgres', 'kafka', 'connect']);
  try {
    const run = await measureConnectSink({
      connectUrl: connectUrlOf(process.env),
      admin,
      name: `bench-${runId}-${mode}${round}`,
      topic,
      table,
      mode,
      n: N,
      databaseUrl: config.DATABASE_URL,
      schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
    });
    const used = services();
    const perRecord = (cpuSeconds: number) => (cpuSeconds * 1e6) / N;
    return {
      ...run,
      connectCpuMicrosPerRecord: perRecord(used.connect),
      postgresCpuMicrosPerRecord: perRecord(used.postgres),
      brokerCpuMicrosPerRecord: perRecord(used.kafka),
    };
  } finally {
    await admin.disconnect();
  }
};

/**
 * Ceiling 2: PostgreSQL alone writing the same rows as the sink in `mode`, into a table the sink's
 * own DDL creates, through the sink's own writer and statements: one connection per partition,
 * concurrently, one transaction per batch of `batchSize` records, upserts folded to the last
 * reading per key within a batch. The rows are made before the clock starts by the sink's own row
 * writer, in the format the sink writes them (COPY binary for appended rows into the auto-created
 * table; upserts are folded, in text); rows/s counts records, as the sink's figures do.
 * pk.mode none is a plain COPY: the "PostgreSQL COPY rate of the same rows" of the issue.
 */
const measurePostgres = async (
  messages: { key: Buffer; value: Buffer }[],
  round: number,
  mode: PostgresMode,
) => {
  const { connector, fields } = columnsOf(mode);
  const table = `${topic}_pg_${mode}${round}`;
  const existing = await createTableOf(table, mode);
  const folded = mode === 'upsert';
  // Per partition: its records, then its batches of rows.
  const sources: RowSource[][] = Array.from({ length: partitions }, () => []);
  const offsets = new Array<number>(partitions).fill(0);
  for (const message of messages) {
    const partition = partitionOfKey(message.key);
    const offset = offsets[partition] as number;
    offsets[partition] = offset + 1;
    sources[partition]?.push({
      topic,
      partition,
      offset,
      key: folded ? await registry.resolve(message.key) : null,
      value: await registry.resolve(message.value),
    });
  }
  // As the sink decides: binary when the table's column types allow it.
  const typeOf = existing === undefined ? undefined : columnTypesOf(existing);
  let binary = false;
  const batches = sources.map((records) => {
    const writer = createRowWriter(fields, folded);
    binary = typeOf !== undefined && writer.binaryFor(records, typeOf);
    const made: CopyRows[] = [];
    for (let start = 0; start < records.length; start += batchSize) {
      const rows = binary ? CopyRows.binary(fields.length) : CopyRows.text();
      const index = new Map<string, number>();
      for (const record of records.slice(start, start + batchSize)) {
        // The sink's fold: a key keeps its first position and takes the last reading.
        const rowKey = writer.read(record, binary);
        const row = writer.emit(rows, rowKey === undefined ? -1 : (index.get(rowKey) ?? -1));
        if (rowKey !== undefined && !index.has(rowKey)) index.set(rowKey, row);
      }
      made.push(rows);
    }
    return made;
  });

  const ref = { schema: undefined, name: table };
  const pool = createSinkPool(config.DATABASE_URL, partitions);
  const statements = planWriteStatements({
    table: ref,
    columns: fields,
    kind: CHUNK_KIND.write,
    insertMode: connector.insertMode,
    pkMode: connector.pkMode,
    quote: true,
  });
  const writer = createPgChunkWriter(pool);
  const services = startServiceCpu(['postgres', 'kafka']);
  const started = performance.now();
  await Promise.all(
    batches.map(async (partitionBatches) => {
      for (const rows of partitionBatches) {
        const chunk = { table: ref, kind: CHUNK_KIND.write, statements, rows, records: [], recordRows: [] };
        const refused = await writer.writeChunks([chunk]);
        if (refused.length > 0) throw new Error(`PostgreSQL refused ${refused.length} rows of ${table}`);
      }
    }),
  );
  const elapsed = seconds(started);
  await pool.end();
  const { postgresCpuMicrosPerRecord } = await serviceCpuPerRecord(services, messages.length);
  return {
    rows: messages.length,
    seconds: elapsed,
    postgresCpuMicrosPerRecord,
    copyFormat: binary ? 'binary' : 'text',
  };
};

/**
 * Every measure starts from the same database state: a checkpoint writes out what the previous
 * measure left dirty, which would otherwise be flushed during this one (best effort: it needs a
 * superuser or pg_checkpoint, as the local stack's user is).
 */
const settleDatabase = async (): Promise<void> => {
  const client = new Client({ connectionString: config.DATABASE_URL });
  await client.connect();
  try {
    await client.query('CHECKPOINT');
  } catch {
    // Not allowed: measures run as they come.
  } finally {
    await client.end();
  }
};

/** The sink handler as deployed (real registry, pool, DLQ), for a connector config. */
const sinkFor = (connectorOverrides: Record<string, string>) => {
  const connector = parseSinkConnectorConfig({
    name: 'bench',
    'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
    'topics.regex': 'biometrics_(.*)',
    'auto.create': 'true',
    'auto.evolve': 'true',
    'batch.size': String(batchSize),
    ...connectorOverrides,
  });
  // One connection per partition in flight (each concurrent invocation is its own container in
  // Lambda, and its own worker under serverless-offline), plus one for DDL.
  const pool = createSinkPool(config.DATABASE_URL, partitions + 1);
  const tables = createPgTableStore(pool, connector);
  const handler = createSinkHandler({
    connector,
    decoders: sinkDecoders(registry, connector.pkMode),
    tables,
    writer: createPgChunkWriter(pool, tables),
    deadLetters: createDeadLetterPublisher(
      createProducer(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'bench-dlq' })),
      dlqTopic,
    ),
    functionName: 'sink-postgres-bench',
  });
  return { handler, pool };
};

/** Runs the real local trigger over `forTopic` into the sink until `expected` records were delivered. */
const runTrigger = async (
  forTopic: string | { noop: string },
  connectorOverrides: Record<string, string>,
  expected: number,
  onInvoked?: (event: KafkaEvent, at: number) => void,
  // Lambda's default for Kafka (500 ms); MaximumBatchingWindowInSeconds 0 for the latency run.
  batchingWindowMs = 500,
) => {
  const noop = typeof forTopic === 'object';
  const triggerTopic = typeof forTopic === 'object' ? forTopic.noop : forTopic;
  const { handler, pool } = sinkFor(connectorOverrides);
  let failedBatches = 0;
  let sunk = 0;
  let firstInvokedAt = 0;
  let lastDoneAt = 0;
  // The last records of each partition make a batch smaller than batchSize, which waits out the
  // batching window before it is invoked (as on Lambda): a fixed wait at the end of a finite log,
  // not throughput. The sustained rate counts full batches only.
  let fullBatchRows = 0;
  let lastFullBatchDoneAt = 0;
  const trigger = createTrigger({
    config: {
      functionKey: 'sinkPostgres',
      functionName: 'medstream-bench-sinkPostgres',
      logicalId: 'SinkPostgresEventSourceMappingKafka',
      kind: 'kafka',
      brokers: config.KAFKA_BROKERS,
      bootstrapServers: config.KAFKA_BROKERS.join(','),
      consumerGroupId: `bench-sink-${randomUUID()}`,
      enabled: true,
      batchSize,
      maximumBatchingWindowMs: batchingWindowMs,
      startingPosition: 'TRIM_HORIZON',
      filterPatterns: [],
      maximumRetryAttempts: -1,
      maximumRecordAgeMs: null,
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: true,
      topic: triggerTopic,
      timeoutMs: 120_000,
    },
    // Lambda runs one invocation per partition at a time: so does the trigger.
    // Otherwise the trigger as shipped (fetch sizes, fetch-ahead).
    tuning: { partitionsConsumedConcurrently: partitions },
    invoke: async (event) => {
      if (firstInvokedAt === 0) firstInvokedAt = performance.now();
      const response = noop ? { batchItemFailures: [] } : await handler(event);
      lastDoneAt = performance.now();
      const records = Object.values(event.records).reduce((sum, list) => sum + list.length, 0);
      if (response.batchItemFailures.length > 0) failedBatches += 1;
      else sunk += records;
      if (response.batchItemFailures.length === 0 && records >= batchSize) {
        fullBatchRows += records;
        lastFullBatchDoneAt = lastDoneAt;
      }
      onInvoked?.(event, Date.now());
      return response;
    },
  });
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const services = startServiceCpu(['postgres', 'kafka']);
  await trigger.start();
  const deadline = Date.now() + 30 * 60_000;
  while (sunk < expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Sustained: the full batches, from the trigger's first fetch (after the group join) to the end of
  // the last full batch (the final batching window excluded). With the tail: every record, to the
  // end of the last invocation.
  const fetchingSince = trigger.stats().fetchingSince;
  const clockStart =
    fetchingSince === null ? firstInvokedAt : Date.parse(fetchingSince) - performance.timeOrigin;
  const withTailSeconds = (lastDoneAt - clockStart) / 1000;
  const sustained =
    fullBatchRows > 0
      ? { rows: fullBatchRows, seconds: (lastFullBatchDoneAt - clockStart) / 1000 }
      : { rows: sunk, seconds: withTailSeconds };
  // This process's CPU (every thread: GC helpers included) per record, from start to the last record.
  const cpu = process.cpuUsage(cpuBefore);
  const total = seconds(started);
  const stats = trigger.stats();
  await trigger.stop();
  await pool.end();
  return {
    ...(await serviceCpuPerRecord(services, sunk)),
    rows: sustained.rows,
    seconds: sustained.seconds,
    withTailPerSecond: Math.round(sunk / withTailSeconds),
    totalSeconds: total,
    invocations: stats.invocations,
    failedBatches,
    nodeCpuMicrosPerRecord: sunk === 0 ? Number.NaN : (cpu.user + cpu.system) / sunk,
  };
};

/** Produce at a fixed rate while the trigger sinks; latency = row committed − record produced. */
const measureLatency = async (ids: Ids) => {
  const latencyTopic = `biometrics_benchlat_${runId}`;
  await createTopic(latencyTopic, partitions);
  tables.push(latencyTopic);
  const total = offeredRate * latencySeconds;
  const messages = await encodeReadings(ids, total, Date.now());
  const latencies: number[] = [];
  const triggerRun = runTrigger(
    latencyTopic,
    { 'pk.mode': 'kafka', 'insert.mode': 'insert' },
    total,
    (event, at) => {
      for (const records of Object.values(event.records))
        for (const record of records) latencies.push(at - record.timestamp);
    },
    0,
  );
  // Give the consumer group time to join before producing, so start-up is not counted as latency.
  await new Promise((resolve) => setTimeout(resolve, 6000));
  const producer = kafka.producer();
  await producer.connect();
  const tickMs = 100;
  const perTick = Math.round((offeredRate * tickMs) / 1000);
  const started = Date.now();
  for (let sent = 0, tick = 0; sent < total; tick += 1) {
    const due = started + tick * tickMs;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const slice = messages.slice(sent, sent + perTick);
    // CreateTime is stamped here, at send: the latency clock starts when the producer sends.
    await producer.send({
      topic: latencyTopic,
      acks: 1,
      messages: slice.map((message) => ({ ...message, timestamp: String(Date.now()) })),
    });
    sent += slice.length;
  }
  const achieved = total / ((Date.now() - started) / 1000);
  await producer.disconnect();
  await triggerRun;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    offered: offeredRate,
    achieved,
    records: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
};

const dropTables = async () => {
  const client = new Client({ connectionString: config.DATABASE_URL });
  await client.connect();
  for (const table of tables) await client.query(`DROP TABLE IF EXISTS "${table}"`);
  await client.end();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
};

const main = async () => {
  console.log(
    `bench sink: N=${N}, ${partitions} partitions, batch ${batchSize}, ${patients} patients; topic ${topic}; NODE_OPTIONS=${process.env.NODE_OPTIONS ?? ''}`,
  );
  await createTopic(topic, partitions);
  await createTopic(dlqTopic, 1);
  const ids = await registerSchemas(topic);
  const started = performance.now();
  const messages = await encodeReadings(ids, N, Date.UTC(2026, 10, 22));
  const encodeSeconds = seconds(started);
  const produceSeconds = await produceAll(messages);
  console.log(
    `produced ${N} readings (encode ${encodeSeconds.toFixed(1)} s, produce ${produceSeconds.toFixed(1)} s)`,
  );

  const rate = (run: { rows: number; seconds: number }) => Math.round(run.rows / run.seconds);
  const skipped = {
    rows: 0,
    seconds: Number.NaN,
    invocations: 0,
    failedBatches: 0,
    withTailPerSecond: Number.NaN,
    nodeCpuMicrosPerRecord: Number.NaN,
    postgresCpuMicrosPerRecord: Number.NaN,
    brokerCpuMicrosPerRecord: Number.NaN,
    connectCpuMicrosPerRecord: Number.NaN,
  };
  /** A throughput measure run `repeat` times; its figure is the run with the median rate. */
  const series = <T extends { rows: number; seconds: number }>(
    name: string,
    label: string,
    measure: (round: number) => Promise<T>,
  ) => {
    const runs: T[] = [];
    return {
      runs,
      async run(round: number): Promise<void> {
        if (!wanted(name)) return;
        await settleDatabase();
        const result = await measure(round);
        const skippedBecause = (result as { skipped?: string }).skipped;
        if (skippedBecause !== undefined) {
          console.log(`${label}: not measured (${skippedBecause})`);
          return;
        }
        const cpu = (result as { nodeCpuMicrosPerRecord?: number }).nodeCpuMicrosPerRecord;
        console.log(
          `${label}: ${rate(result)} rows/s${cpu === undefined ? '' : ` (node CPU ${cpu.toFixed(2)} µs/record)`}`,
        );
        runs.push(result);
      },
      median(): T & { rates: number[] } {
        const middle = medianBy(runs, rate);
        if (middle === undefined) return { ...skipped, rates: [] } as unknown as T & { rates: number[] };
        return { ...middle, rates: runs.map(rate) };
      },
    };
  };
  const tableCounts = new Map<string, string[]>();
  /** A sink run into a fresh table per round (pk.mode kafka must not meet the rows of a previous round). */
  const sinkRun = (mode: string, overrides: Record<string, string>) => (round: number) => {
    const suffix = `_${mode}${round}`;
    tables.push(`${topic}${suffix}`);
    tableCounts.set(mode, [...(tableCounts.get(mode) ?? []), `${topic}${suffix}`]);
    return runTrigger(topic, { ...overrides, 'table.name.format': `${TOPIC_PLACEHOLDER}${suffix}` }, N);
  };

  const consumeSeries = series('consume', 'ceiling: kafkajs consume + Avro decode', () =>
    measureConsumeDecode(),
  );
  const copySeries = series('copy', 'ceiling: PostgreSQL COPY (pk.mode none)', (round) =>
    measurePostgres(messages, round, 'none'),
  );
  const pgKafkaSeries = series('pgkafka', 'ceiling: PostgreSQL alone, pk.mode kafka', (round) =>
    measurePostgres(messages, round, 'kafka'),
  );
  const pgUpsertSeries = series('pgupsert', 'ceiling: PostgreSQL alone, upsert record_key', (round) =>
    measurePostgres(messages, round, 'upsert'),
  );
  const connectInsertSeries = series(
    'connect',
    'reference: Kafka Connect + Debezium JDBC sink, insert',
    (round) => measureConnect('insert', round),
  );
  const connectUpsertSeries = series(
    'connectupsert',
    'reference: Kafka Connect + Debezium JDBC sink, upsert',
    (round) => measureConnect('upsert', round),
  );
  const noopSeries = series('noop', 'local trigger → no-op handler', () =>
    runTrigger({ noop: topic }, {}, N),
  );
  const plainSeries = series(
    'none',
    'sink insert (pk.mode none)',
    sinkRun('plain', { 'pk.mode': 'none', 'insert.mode': 'insert' }),
  );
  const insertSeries = series(
    'kafka',
    'sink insert (pk.mode kafka)',
    sinkRun('insert', { 'pk.mode': 'kafka', 'insert.mode': 'insert' }),
  );
  const upsertSeries = series(
    'upsert',
    'sink upsert (pk.mode record_key)',
    sinkRun('upsert', { 'pk.mode': 'record_key', 'insert.mode': 'upsert' }),
  );

  // PostgreSQL alone first: it needs the encoded rows, which are then let go (they would weigh on the
  // trigger runs' garbage collection).
  for (const measure of [copySeries, pgKafkaSeries, pgUpsertSeries])
    for (let round = 0; round < repeat; round += 1) await measure.run(round);
  messages.length = 0;
  // The reference sink reads the topic itself.
  for (const measure of [connectInsertSeries, connectUpsertSeries])
    for (let round = 0; round < repeat; round += 1) await measure.run(round);
  // Then round after round the consume ceiling and the trigger runs, so that a sink run and the
  // ceiling it is compared with are measured a minute apart, not several: the machine's speed drifts.
  for (let round = 0; round < repeat; round += 1)
    for (const measure of [consumeSeries, noopSeries, plainSeries, insertSeries, upsertSeries])
      await measure.run(round);

  const consume = consumeSeries.median();
  const copy = copySeries.median();
  const pgKafka = pgKafkaSeries.median();
  const pgUpsert = pgUpsertSeries.median();
  const connectInsert = connectInsertSeries.median();
  const connectUpsert = connectUpsertSeries.median();
  const noop = noopSeries.median();
  const plain = plainSeries.median();
  const insert = insertSeries.median();
  const upsert = upsertSeries.median();
  const latency = wanted('latency')
    ? await measureLatency(ids)
    : { offered: offeredRate, achieved: 0, records: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  console.log(`latency at ${latency.offered}/s: p50 ${latency.p50} ms, p99 ${latency.p99} ms`);

  const check = new Client({ connectionString: config.DATABASE_URL });
  await check.connect();
  const counted = async (table: string) =>
    Number((await check.query(`SELECT count(*) AS n FROM "${table}"`)).rows[0]?.n ?? 0);
  // Every round's table must hold its rows (N, or one row per patient after upserts).
  const rowsOf = async (mode: string) => {
    const counts: number[] = [];
    for (const table of tableCounts.get(mode) ?? []) counts.push(await counted(table));
    return counts.length === 0 ? 0 : Math.min(...counts);
  };
  const plainRows = await rowsOf('plain');
  const insertRows = await rowsOf('insert');
  const upsertRows = await rowsOf('upsert');
  await check.end();

  // The issue's lower ceiling: consume + decode, or a plain COPY of the rows (pk.mode none). Each
  // mode's own: consume + decode, or PostgreSQL alone doing that mode's writes (pk.mode kafka adds a
  // primary-key index, an upsert a merge: work no sink of that mode can skip).
  const measured = (ceiling: { rows: number; seconds: number }) =>
    ceiling.rows > 0 ? rate(ceiling) : Number.POSITIVE_INFINITY;
  /**
   * A sink mode's share of a lower ceiling, round by round: each run against the consume ceiling of
   * its own round (and PostgreSQL's figure for that mode), the median of the shares kept.
   */
  const pairedShare = (
    runs: { rows: number; seconds: number }[],
    postgres: { rows: number; seconds: number },
  ) => {
    const shares = runs.map((run, round) => {
      const ceiling = consumeSeries.runs[round];
      return ceiling === undefined ? Number.NaN : rate(run) / Math.min(rate(ceiling), measured(postgres));
    });
    return { share: medianBy(shares, (share) => share) ?? Number.NaN, shares };
  };
  /** A mode's shares of the issue's lower ceiling and of its own. */
  const sharesOf = (runs: { rows: number; seconds: number }[], own: { rows: number; seconds: number }) => ({
    lower: pairedShare(runs, copy),
    own: pairedShare(runs, own),
  });
  const shareOf = {
    none: sharesOf(plainSeries.runs, copy),
    kafka: sharesOf(insertSeries.runs, pgKafka),
    upsert: sharesOf(upsertSeries.runs, pgUpsert),
  };
  const round2 = (value: number) => Number(value.toFixed(2));
  /**
   * Where a trigger run's CPU went, per record: this process (trigger and handler, counted from the
   * trigger's start), PostgreSQL and the broker; and the rate at which that much CPU per record
   * keeps every core of this machine busy: a run below it left cores idle (waiting on a fetch, or on
   * the slowest partition).
   */
  const cpuColumns = (run: typeof noop) => {
    const total = run.nodeCpuMicrosPerRecord + run.postgresCpuMicrosPerRecord + run.brokerCpuMicrosPerRecord;
    return {
      nodeCpuMicrosPerRecord: round2(run.nodeCpuMicrosPerRecord),
      postgresCpuMicrosPerRecord: round2(run.postgresCpuMicrosPerRecord),
      brokerCpuMicrosPerRecord: round2(run.brokerCpuMicrosPerRecord),
      cpuMicrosPerRecord: round2(total),
      cpuBoundPerSecond: Math.round((os.cpus().length * 1e6) / total),
    };
  };
  const sinkRow = (
    measure: string,
    run: typeof plain,
    shares: ReturnType<typeof sharesOf>,
    tableRows: number,
  ) => ({
    measure,
    rowsPerSecond: rate(run),
    runs: run.rates,
    seconds: run.seconds,
    withTailPerSecond: run.withTailPerSecond,
    ...cpuColumns(run),
    ofLowerCeiling: shares.lower.share,
    ofOwnCeiling: shares.own.share,
    sharesByRound: { ofLowerCeiling: shares.lower.shares, ofOwnCeiling: shares.own.shares },
    tableRows,
    invocations: run.invocations,
    failedBatches: run.failedBatches,
  });
  type ResultRow = {
    measure: string;
    rowsPerSecond: number;
    runs: number[];
    seconds: number;
    ofLowerCeiling?: number;
    ofOwnCeiling?: number;
  } & Record<string, unknown>;
  const rows: ResultRow[] = [
    {
      measure: 'ceiling: kafkajs consume + Avro decode',
      rowsPerSecond: rate(consume),
      runs: consume.rates,
      seconds: consume.seconds,
    },
    {
      measure: 'ceiling: PostgreSQL COPY (same rows)',
      rowsPerSecond: rate(copy),
      runs: copy.rates,
      seconds: copy.seconds,
      postgresCpuMicrosPerRecord: round2(copy.postgresCpuMicrosPerRecord),
      copyFormat: copy.copyFormat,
    },
    {
      measure: 'ceiling: PostgreSQL alone, pk.mode kafka',
      rowsPerSecond: rate(pgKafka),
      runs: pgKafka.rates,
      seconds: pgKafka.seconds,
      postgresCpuMicrosPerRecord: round2(pgKafka.postgresCpuMicrosPerRecord),
      copyFormat: pgKafka.copyFormat,
    },
    {
      measure: 'ceiling: PostgreSQL alone, upsert',
      rowsPerSecond: rate(pgUpsert),
      runs: pgUpsert.rates,
      seconds: pgUpsert.seconds,
      postgresCpuMicrosPerRecord: round2(pgUpsert.postgresCpuMicrosPerRecord),
      copyFormat: pgUpsert.copyFormat,
    },
    ...[
      ['insert (pk none, 2 tasks, batch 10,000)', connectInsert] as const,
      ['upsert (record_key, 2 tasks, batch 10,000)', connectUpsert] as const,
    ].map(([what, run]) => ({
      measure: `reference: Kafka Connect 3.9 + Debezium JDBC sink, ${what}`,
      rowsPerSecond: rate(run),
      runs: run.rates,
      seconds: run.seconds,
      connectCpuMicrosPerRecord: round2(run.connectCpuMicrosPerRecord),
      postgresCpuMicrosPerRecord: round2(run.postgresCpuMicrosPerRecord),
      brokerCpuMicrosPerRecord: round2(run.brokerCpuMicrosPerRecord),
    })),
    {
      measure: 'context: local trigger → no-op handler',
      rowsPerSecond: rate(noop),
      runs: noop.rates,
      seconds: noop.seconds,
      withTailPerSecond: noop.withTailPerSecond,
      ...cpuColumns(noop),
    },
    sinkRow('sink insert via local trigger (pk.mode none)', plain, shareOf.none, plainRows),
    sinkRow('sink insert via local trigger (pk.mode kafka)', insert, shareOf.kafka, insertRows),
    sinkRow('sink upsert via local trigger (pk.mode record_key)', upsert, shareOf.upsert, upsertRows),
  ];
  const shown = rows.map(({ runs: _runs, ...row }) => ({
    ...row,
    seconds: Number(row.seconds.toFixed(2)),
    ofLowerCeiling: row.ofLowerCeiling === undefined ? '' : `${(row.ofLowerCeiling * 100).toFixed(0)} %`,
    ofOwnCeiling: row.ofOwnCeiling === undefined ? '' : `${(row.ofOwnCeiling * 100).toFixed(0)} %`,
  }));
  console.table(shown, [
    'measure',
    'rowsPerSecond',
    'seconds',
    'withTailPerSecond',
    'ofLowerCeiling',
    'ofOwnCeiling',
    'tableRows',
    'invocations',
    'failedBatches',
  ]);
  // Where the CPU went (Linux /proc; NaN elsewhere).
  console.table(
    shown.filter((row) => 'postgresCpuMicrosPerRecord' in row),
    [
      'measure',
      'rowsPerSecond',
      'nodeCpuMicrosPerRecord',
      'connectCpuMicrosPerRecord',
      'postgresCpuMicrosPerRecord',
      'brokerCpuMicrosPerRecord',
      'cpuMicrosPerRecord',
      'cpuBoundPerSecond',
    ],
  );
  console.table([
    {
      offeredPerSecond: latency.offered,
      achievedPerSecond: Math.round(latency.achieved),
      records: latency.records,
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      maxMs: latency.max,
    },
  ]);
  const targets = {
    insertAtLeastConnectBest90k: Math.max(rate(plain), rate(insert)) >= 90_000,
    upsertAtLeast1_5xConnect37k: rate(upsert) >= 1.5 * 37_000,
    // Shares are paired round by round (a sink run against the consume ceiling of its own round).
    atLeastHalfOfLowerCeiling:
      Math.min(shareOf.none.lower.share, shareOf.kafka.lower.share, shareOf.upsert.lower.share) >= 0.5,
    // The same target mode by mode (the line above asks it of every mode).
    halfOfLowerCeilingByMode: {
      insertPkNone: shareOf.none.lower.share >= 0.5,
      insertPkKafka: shareOf.kafka.lower.share >= 0.5,
      upsertPkRecordKey: shareOf.upsert.lower.share >= 0.5,
    },
    // Each mode against its own lower ceiling (its database work done by PostgreSQL alone).
    halfOfOwnLowerCeilingByMode: {
      insertPkNone: shareOf.none.own.share >= 0.5,
      insertPkKafka: shareOf.kafka.own.share >= 0.5,
      upsertPkRecordKey: shareOf.upsert.own.share >= 0.5,
    },
    p99Under1sAt10k: latency.p99 < 1000 && latency.offered >= 10_000,
    // The same two comparisons against the reference connector measured in this run (like for
    // like: its insert has no primary key, as our pk.mode none); null when it was not measured.
    insertAtLeastConnectMeasured: connectInsert.rows > 0 ? rate(plain) >= rate(connectInsert) : null,
    upsertAtLeast1_5xConnectMeasured:
      connectUpsert.rows > 0 ? rate(upsert) >= 1.5 * rate(connectUpsert) : null,
  };
  console.log('targets:', targets);
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    // A partial run (--only) must not pass for the full one.
    path.join(__dirname, only === undefined ? 'results/sink.json' : 'results/sink.partial.json'),
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: { cpus: os.cpus().length, memoryGb: Math.round(os.totalmem() / 2 ** 30) },
        parameters: { n: N, partitions, batchSize, patients, offeredRate, latencySeconds, repeat },
        nodeOptions: process.env.NODE_OPTIONS ?? '',
        prefill: { encodeSeconds, produceSeconds },
        results: rows,
        latency,
        targets,
        driver:
          'plugins/serverless-offline-kafka createTrigger (in-process), one invocation per partition at a time',
      },
      null,
      2,
    )}\n`,
  );
  await dropTables();
};

main().then(
  () => process.exit(0),
  async (error) => {
    console.error(error);
    await dropTables().catch(() => undefined);
    process.exit(1);
  },
);
