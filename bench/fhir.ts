// `npx tsx bench/fhir.ts [--patients 1000] [--transform-patients 2000] [--load-docs 50000] [--batch 1000]`
// (or `npm run bench -- fhir ...`). Measures, in one run against the local stack:
//   - transform rows/s on one core: the mapping engine alone (bench/fhir-transform.ts), and the
//     whole transform function (ESM event decode → transform → JSON encode, publishing stubbed);
//   - load docs/s of the load-fhir function (ESM events → bulk upserts) against the same server's
//     raw bulkWrite rate in the same run, same documents, batches and indexes (target ≥ 70 %);
//   - end to end: a seeded database of N patients → POST /extract for every mapping → Kafka →
//     transform → Kafka → load-fhir → MongoDB, driven by an ESM-like pump (a consumer group per
//     function, one invocation per partition at a time), until every document is in the store.
// Prints a table and writes bench/results/fhir.json. Asserts nothing.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { type AnyBulkWriteOperation, type Document, MongoClient } from 'mongodb';
import { Client } from 'pg';
import { makeHandler as makeExtractHandler } from '../functions/extract';
import { makeHandler as makeLoadHandler } from '../functions/load-fhir';
import { makeHandler as makeTransformHandler } from '../functions/transform';
import { generateClinicalDataset } from '../lib/clinical/generate';
import { loadClinicalDataset } from '../lib/clinical/load';
import type { ClinicalDataset } from '../lib/clinical/schema';
import { loadConfig } from '../lib/config';
import { toRawMessage } from '../lib/extract/extract-batch';
import { createPgSource } from '../lib/extract/pg-source';
import { type FhirResource, groupRowsByKey, selectRowsInMemory, transformRows } from '../lib/fhir';
import {
  createDeadLetterPublisher,
  createKafka,
  createProducer,
  type OutgoingMessage,
} from '../lib/kafka/client';
import type { KafkaEvent, KafkaEventRecord } from '../lib/kafka/event';
import type { DeadLetterSink } from '../lib/kafka/records';
import { logger } from '../lib/logger';
import { createMongoFhirStore, FHIR_INDEXES } from '../lib/mongo/fhir-store';
import { createSeededRandom } from '../lib/random';
import { createTopicNames } from '../lib/transform/messages';
import { loadShippedMappings } from '../lib/transform/shipped-mappings';
import { measureFhirTransform } from './fhir-transform';

// One log line per batch would dominate the measurement.
logger.setLogLevel('WARN');

const argument = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} needs a positive integer`);
  return value;
};

const PATIENTS = argument('patients', 1_000);
const TRANSFORM_PATIENTS = argument('transform-patients', 2_000);
const LOAD_DOCS = argument('load-docs', 50_000);
const BATCH = argument('batch', 1_000);
const PARTITIONS = argument('partitions', 4);
const onlyIndex = process.argv.indexOf('--only');
/** `--only transform|load|e2e` runs one part (for iterating); the default runs all three. */
const ONLY = onlyIndex === -1 ? undefined : process.argv[onlyIndex + 1];
// Ctrl-C stops the end-to-end run, which then removes what it made (database, schema, topics, a few
// hundred MB); the measures before it end on their own within seconds. A second Ctrl-C exits at once.
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.log('interrupted: removing what the benchmark made (Ctrl-C again to exit at once)…');
});
const runs = (part: string): boolean => !interrupted && (ONLY === undefined || ONLY === part);

const config = loadConfig();
const registry = loadShippedMappings();
const noDeadLetters: DeadLetterSink = {
  deadLetter: async (letters) => {
    throw new Error(`bench: ${letters.length} unexpected dead letters`);
  },
};
const id = randomUUID().replaceAll('-', '').slice(0, 10);
const nowMs = (): number => performance.now();
const perSecond = (count: number, ms: number): number => Math.round((count / ms) * 1000);

/** An ESM event of one topic-partition built from outgoing messages (as the ESM would deliver them). */
const eventOf = (topic: string, messages: readonly OutgoingMessage[], firstOffset = 0): KafkaEvent => {
  const records: KafkaEventRecord[] = messages.map((message, index) => ({
    topic,
    partition: 0,
    offset: firstOffset + index,
    timestamp: Date.now(),
    timestampType: 'CREATE_TIME',
    ...(message.key === null ? {} : { key: Buffer.from(message.key).toString('base64') }),
    value: message.value === null ? null : Buffer.from(message.value).toString('base64'),
    headers: Object.entries(message.headers ?? {}).map(([name, value]) => ({
      [name]: [...Buffer.from(String(value))],
    })),
  }));
  return { eventSource: 'SelfManagedKafka', records: { [`${topic}-0`]: records } };
};

const chunksOf = <T>(items: readonly T[], size: number): T[][] => {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
};

/** The transform function on one core: raw ESM events in, FHIR messages out (publishing stubbed). */
const measureTransformFunction = async (dataset: ClinicalDataset) => {
  const handler = makeTransformHandler({
    registry,
    topics: createTopicNames(),
    producer: { send: async () => undefined },
    deadLetters: noDeadLetters,
    clock: () => new Date(),
    functionName: 'bench-transform',
  });
  const events: KafkaEvent[] = [];
  let rows = 0;
  let resources = 0;
  for (const compiled of registry.values()) {
    const groups = groupRowsByKey(compiled, selectRowsInMemory(compiled, dataset));
    for (const chunk of chunksOf(groups, 500)) {
      const messages = chunk.map((group) =>
        toRawMessage(compiled.mapping.id, 'bench', group.key, group.rows),
      );
      events.push(eventOf(`raw.${compiled.mapping.id}`, messages));
      rows += chunk.reduce((sum, group) => sum + group.rows.length, 0);
      resources += chunk.length;
    }
  }
  for (const event of events.slice(0, 20)) await handler(event); // warm-up
  const started = nowMs();
  for (const event of events) await handler(event);
  const ms = nowMs() - started;
  return { rows, resources, ms: Math.round(ms), rowsPerSecond: perSecond(rows, ms) };
};

/** FHIR resources of a dataset, every type, interleaved, at most `limit`. */
const resourcesOf = (dataset: ClinicalDataset, limit: number): FhirResource[] => {
  const now = new Date();
  const perMapping = [...registry.values()].map((compiled) =>
    groupRowsByKey(compiled, selectRowsInMemory(compiled, dataset)).map((group) =>
      transformRows(compiled, group.rows, now),
    ),
  );
  const mixed: FhirResource[] = [];
  for (let index = 0; mixed.length < limit; index += 1) {
    let added = false;
    for (const list of perMapping) {
      const resource = list[index];
      if (resource !== undefined && mixed.length < limit) {
        mixed.push(resource);
        added = true;
      }
    }
    if (!added) break;
  }
  return mixed;
};

/**
 * load-fhir against the server's raw bulkWrite. Same documents, same batches (sequential, one per
 * resource type per batch as an ESM batch of one topic holds), same indexes created first. Raw:
 * the driver's bulkWrite of the same replaceOne upserts, documents already in memory. Load: the
 * function from ESM events (base64 decode, JSON parse, dedupe, upsert). Two rounds, best of each.
 */
const measureLoad = async (mongo: MongoClient, resources: readonly FhirResource[]) => {
  const byType = new Map<string, FhirResource[]>();
  for (const resource of resources) {
    const list = byType.get(resource.resourceType) ?? [];
    list.push(resource);
    byType.set(resource.resourceType, list);
  }
  const batches = [...byType].flatMap(([type, list]) =>
    chunksOf(list, BATCH).map((chunk) => ({ type, chunk })),
  );
  const events = batches.map(({ type, chunk }) =>
    eventOf(
      `fhir.${type}`,
      chunk.map((resource) => ({ key: resource.id, value: JSON.stringify(resource) })),
    ),
  );
  const rounds: { raw: number; load: number; reload: number; rawInsertNoIndexes: number }[] = [];
  for (let round = 0; round < 2; round += 1) {
    const rawDb = mongo.db(`bench_fhir_raw_${id}_${round}`);
    const insertDb = mongo.db(`bench_fhir_ins_${id}_${round}`);
    const loadDb = mongo.db(`bench_fhir_load_${id}_${round}`);
    for (const type of byType.keys()) {
      await rawDb
        .collection(type)
        .createIndexes(FHIR_INDEXES.map((index) => ({ name: index.name, key: { ...index.key } })));
      await insertDb.createCollection(type);
    }
    let started = nowMs();
    for (const { type, chunk } of batches) {
      const operations: AnyBulkWriteOperation<Document>[] = chunk.map((resource) => ({
        replaceOne: {
          filter: { _id: resource.id as unknown as Document['_id'] },
          replacement: resource,
          upsert: true,
        },
      }));
      await rawDb.collection(type).bulkWrite(operations, { ordered: false });
    }
    const raw = perSecond(resources.length, nowMs() - started);
    started = nowMs();
    for (const { type, chunk } of batches) {
      await insertDb.collection(type).bulkWrite(
        chunk.map((resource) => ({ insertOne: { document: { _id: resource.id, ...resource } as Document } })),
        {
          ordered: false,
        },
      );
    }
    const rawInsertNoIndexes = perSecond(resources.length, nowMs() - started);
    const handler = makeLoadHandler({
      store: createMongoFhirStore(loadDb),
      deadLetters: noDeadLetters,
      functionName: 'bench-load',
    });
    await createMongoFhirStore(loadDb).upsertResources(resources[0]?.resourceType ?? 'Patient', []); // connect
    for (const type of byType.keys()) {
      await loadDb
        .collection(type)
        .createIndexes(FHIR_INDEXES.map((index) => ({ name: index.name, key: { ...index.key } })));
    }
    started = nowMs();
    for (const event of events) {
      const response = await handler(event);
      if (response.batchItemFailures.length > 0) throw new Error('bench: load reported failures');
    }
    const load = perSecond(resources.length, nowMs() - started);
    started = nowMs();
    for (const event of events) await handler(event);
    const reload = perSecond(resources.length, nowMs() - started);
    const stored = (
      await Promise.all([...byType.keys()].map((type) => loadDb.collection(type).countDocuments()))
    ).reduce((sum, count) => sum + count, 0);
    if (stored !== resources.length)
      throw new Error(`bench: ${stored} documents stored, ${resources.length} expected`);
    for (const db of [rawDb, insertDb, loadDb]) await db.dropDatabase();
    rounds.push({ raw, load, reload, rawInsertNoIndexes });
    console.log(`load round ${round + 1}: ${JSON.stringify(rounds.at(-1))}`);
  }
  const best = (key: keyof (typeof rounds)[number]) => Math.max(...rounds.map((round) => round[key]));
  return {
    documents: resources.length,
    batch: BATCH,
    rawBulkWriteDocsPerSecond: best('raw'),
    rawInsertNoSecondaryIndexesDocsPerSecond: best('rawInsertNoIndexes'),
    loadDocsPerSecond: best('load'),
    reloadDocsPerSecond: best('reload'),
    ratio: Math.round((best('load') / best('raw')) * 1000) / 1000,
    rounds,
  };
};

type Pump = { stop(): Promise<void> };

/**
 * What an ESM does for one function: a consumer group on its topics, each partition's records
 * handed to the function in batches of at most `batchSize`, one invocation per partition at a time,
 * offsets committed after the function answered. Records it reports are retried from the first
 * failed offset. (The project's local trigger, plugins/serverless-offline-kafka, does the same with
 * every ESM option; it is not used here so the figures do not move with its development.)
 */
const startPump = async (
  kafka: Kafka,
  name: string,
  topics: readonly string[],
  batchSize: number,
  handler: (event: KafkaEvent) => Promise<{ batchItemFailures: { itemIdentifier: { offset: number } }[] }>,
  counters: { invocations: number; failedBatches: number },
): Promise<Pump> => {
  const consumer = kafka.consumer({
    groupId: `bench-fhir-${name}-${id}`,
    maxBytesPerPartition: 16 * 1024 * 1024,
    sessionTimeout: 60_000,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: PARTITIONS * topics.length,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning }) => {
      const records: KafkaEventRecord[] = batch.messages.map((message) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: Number(message.offset),
        timestamp: Number(message.timestamp),
        timestampType: 'CREATE_TIME',
        ...(message.key === null ? {} : { key: message.key.toString('base64') }),
        value: message.value === null ? null : message.value.toString('base64'),
        headers: Object.entries(message.headers ?? {}).map(([header, value]) => ({
          [header]: [...(Buffer.isBuffer(value) ? value : Buffer.from(String(value)))],
        })),
      }));
      for (const chunk of chunksOf(records, batchSize)) {
        if (!isRunning()) return;
        const response = await handler({
          eventSource: 'SelfManagedKafka',
          records: { [`${batch.topic}-${batch.partition}`]: chunk },
        });
        counters.invocations += 1;
        const failed = response.batchItemFailures.map((failure) => failure.itemIdentifier.offset);
        if (failed.length > 0) {
          counters.failedBatches += 1;
          // Retry from the first failed offset, as the ESM does: stop here, commit what is before it.
          const first = Math.min(...failed);
          if (first > Number(batch.firstOffset())) resolveOffset(String(first - 1));
          throw new Error(`${name}: records reported for retry`);
        }
        const last = chunk.at(-1);
        if (last !== undefined) resolveOffset(String(last.offset));
        await heartbeat();
      }
    },
  });
  return { stop: () => consumer.disconnect() };
};

/** Seeded database → extract every mapping → transform → load, until every document is stored. */
const measureEndToEnd = async (mongo: MongoClient) => {
  const schema = `bench_fhir_${id}`;
  const sql = new Client({ connectionString: config.CLINICAL_DATABASE_URL });
  await sql.connect();
  const kafka = new Kafka({
    clientId: 'bench-fhir',
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const topics = createTopicNames(`bench-fhir-${id}.`);
  const dlqTopic = `bench-fhir-dlq-${id}`;
  const rawTopics = [...registry.keys()].map(topics.raw);
  const types = [...new Set([...registry.values()].map((compiled) => compiled.mapping.resourceType))];
  const fhirTopics = types.map(topics.fhir);
  const db = mongo.db(`bench_fhir_e2e_${id}`);
  const source = createPgSource({
    connectionString: config.CLINICAL_DATABASE_URL,
    schema,
    maxConnections: 12,
  });
  const producer = createProducer(
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: `bench-fhir-${id}` }),
  );
  const pumps: Pump[] = [];
  try {
    const generated = nowMs();
    const dataset = generateClinicalDataset({ patients: PATIENTS }, createSeededRandom(10_000));
    await sql.query(`CREATE SCHEMA "${schema}"`);
    await sql.query(`SET search_path TO "${schema}"`);
    const seeded = await loadClinicalDataset(sql, dataset);
    const sourceRows = seeded.reduce((sum, entry) => sum + entry.rows, 0);
    const seedMs = nowMs() - generated;
    await admin.createTopics({
      topics: [...rawTopics, ...fhirTopics]
        .map((topic) => ({ topic, numPartitions: PARTITIONS }))
        .concat({ topic: dlqTopic, numPartitions: 1 }),
      waitForLeaders: true,
    });
    const deadLetters = createDeadLetterPublisher(producer, dlqTopic);
    const transform = makeTransformHandler({
      registry,
      topics,
      producer,
      deadLetters,
      clock: () => new Date(),
      functionName: 'bench-transform',
    });
    const load = makeLoadHandler({
      store: createMongoFhirStore(db),
      deadLetters,
      functionName: 'bench-load',
    });
    const counters = {
      transform: { invocations: 0, failedBatches: 0 },
      load: { invocations: 0, failedBatches: 0 },
    };
    pumps.push(await startPump(kafka, 'transform', rawTopics, 500, transform, counters.transform));
    pumps.push(await startPump(kafka, 'load', fhirTopics, BATCH, load, counters.load));
    const extract = makeExtractHandler({
      registry,
      source,
      producer,
      topics,
      pageSize: BATCH,
      clock: () => new Date(),
      newBatchId: randomUUID,
    });

    console.log(`end to end: ${sourceRows} source rows seeded in ${Math.round(seedMs)} ms; pumps started`);
    const started = nowMs();
    // One POST per mapping, all at once, as a user starting a full load would.
    const responses = await Promise.all(
      [...registry.keys()].map((resource) =>
        extract({ pathParameters: { resource } } as unknown as Parameters<typeof extract>[0]),
      ),
    );
    const extractMs = nowMs() - started;
    const summaries = responses.map((response) => {
      if (response.statusCode !== 202) throw new Error(`bench: extract answered ${response.statusCode}`);
      return JSON.parse(response.body ?? '{}') as { resources: number; rows: number };
    });
    const expected = summaries.reduce((sum, summary) => sum + summary.resources, 0);
    const rows = summaries.reduce((sum, summary) => sum + summary.rows, 0);
    const deadline = Date.now() + 60 * 60_000;
    let stored = 0;
    let lastReport = Date.now();
    while (Date.now() < deadline) {
      if (interrupted) throw new Error('interrupted');
      stored = (await Promise.all(types.map((type) => db.collection(type).estimatedDocumentCount()))).reduce(
        (sum, count) => sum + count,
        0,
      );
      if (stored >= expected) break;
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        console.log(`end to end: ${stored}/${expected} documents after ${Math.round(nowMs() - started)} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const totalMs = nowMs() - started;
    return {
      patients: PATIENTS,
      sourceRows,
      seedSeconds: Math.round(seedMs / 100) / 10,
      extractedRows: rows,
      resources: expected,
      stored,
      extractSeconds: Math.round(extractMs / 100) / 10,
      endToEndSeconds: Math.round(totalMs / 100) / 10,
      documentsPerSecond: perSecond(stored, totalMs),
      transformInvocations: counters.transform.invocations,
      loadInvocations: counters.load.invocations,
      failedBatches: counters.transform.failedBatches + counters.load.failedBatches,
    };
  } finally {
    await Promise.all(pumps.map((pump) => pump.stop().catch(() => undefined)));
    await producer.disconnect().catch(() => undefined);
    await source.end().catch(() => undefined);
    await admin.deleteTopics({ topics: [...rawTopics, ...fhirTopics, dlqTopic] }).catch(() => undefined);
    await admin.disconnect();
    await db.dropDatabase().catch(() => undefined);
    await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await sql.end();
  }
};

const main = async (): Promise<void> => {
  console.log(`FHIR pipeline benchmark on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'})`);
  const table: [string, string, string][] = [];
  const results: Record<string, unknown> = { at: new Date().toISOString(), cpus: os.cpus().length };
  const dataset = generateClinicalDataset({ patients: TRANSFORM_PATIENTS }, createSeededRandom(20_000));
  if (runs('transform')) {
    const engine = measureFhirTransform(TRANSFORM_PATIENTS);
    const transformFunction = await measureTransformFunction(dataset);
    results.transform = {
      patients: TRANSFORM_PATIENTS,
      engine: engine.total,
      perMapping: engine.perMapping,
      function: transformFunction,
    };
    table.push(
      [
        'transform, mapping engine (1 core)',
        `${engine.total.rowsPerSecond} rows/s`,
        'target ≥ 20,000 rows/s',
      ],
      [
        'transform function (1 core)',
        `${transformFunction.rowsPerSecond} rows/s`,
        'ESM decode + transform + encode',
      ],
    );
  }
  const mongo = new MongoClient(config.MONGODB_URI, { serverSelectionTimeoutMS: 5_000 });
  await mongo.connect();
  try {
    if (runs('load')) {
      const load = await measureLoad(mongo, resourcesOf(dataset, LOAD_DOCS));
      results.load = load;
      table.push(
        [
          'raw bulkWrite (same docs, indexes)',
          `${load.rawBulkWriteDocsPerSecond} docs/s`,
          `replaceOne upserts, batches of ${BATCH}`,
        ],
        [
          'raw insert, no secondary indexes',
          `${load.rawInsertNoSecondaryIndexesDocsPerSecond} docs/s`,
          'reference only',
        ],
        [
          'load-fhir function',
          `${load.loadDocsPerSecond} docs/s`,
          `${Math.round(load.ratio * 100)} % of raw (target ≥ 70 %)`,
        ],
        ['load-fhir, reload (replace)', `${load.reloadDocsPerSecond} docs/s`, 'same batches again'],
      );
    }
    if (runs('e2e')) {
      const endToEnd = await measureEndToEnd(mongo);
      results.endToEnd = {
        ...endToEnd,
        driver:
          'in-process ESM-like pump (a consumer group per function, one invocation per partition at a time)',
      };
      table.push([
        `end to end, ${PATIENTS} patients`,
        `${endToEnd.endToEndSeconds} s`,
        `${endToEnd.stored}/${endToEnd.resources} docs, ${endToEnd.documentsPerSecond} docs/s`,
      ]);
    }
  } finally {
    await mongo.close();
  }
  for (const [name, figure, note] of table)
    console.log(`${name.padEnd(38)} ${figure.padStart(16)}   ${note}`);
  if (interrupted) return;
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  const file = ONLY === undefined ? 'fhir.json' : `fhir-only-${ONLY}.json`;
  writeFileSync(path.join(__dirname, 'results', file), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote bench/results/${file}`);
};

main().then(
  () => {
    if (interrupted) process.exit(130);
  },
  (error: unknown) => {
    if (interrupted) process.exit(130);
    console.error(error);
    process.exit(1);
  },
);
