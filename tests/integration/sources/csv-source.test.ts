import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Kafka, logLevel } from 'kafkajs';
import { makeHandler } from '../../../functions/csv-source';
import { createKafka, createProducer } from '../../../lib/kafka/client';
import { parseCsvSourceConfig } from '../../../lib/sources/csv-config';
import type { DropReport } from '../../../lib/sources/csv-drop';
import { resolveCsvSource } from '../../../lib/sources/csv-ingest';
import { createRawPublisher } from '../../../lib/sources/raw-messages';
import { buildObjectCreatedEvent } from '../../../lib/sources/s3-event';
import { createS3Client, createS3ObjectStore } from '../../../lib/sources/s3-objects';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';
import { cleanUp, config, registerCleanup, uniqueId, waitFor, watchTopic } from './support';

afterAll(cleanUp, 60_000);

const execFileAsync = promisify(execFile);

const BUCKET = 'medstream-drops';
const s3 = createS3Client({
  region: config.AWS_REGION,
  endpoint: config.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566',
  placeholderCredentials: true,
});
registerCleanup(async () => s3.destroy());
const producer = createProducer(
  createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'sources-csv-tests' }),
);
registerCleanup(() => producer.disconnect());
const registry = loadShippedMappings();

/** A connector of the test's own: a unique key prefix in the drops bucket and a unique topic. */
const startCsvSource = (extra: Record<string, string> = {}) => {
  const root = `it-${uniqueId()}/`;
  const topic = `it-${uniqueId()}.raw.mimic-patient`;
  const document = {
    name: `it-csv-${root.slice(0, -1)}`,
    config: {
      'connector.class': 'io.medstream.connect.s3.CsvSourceConnector',
      'medstream.s3.bucket': BUCKET,
      'input.path': `${root}incoming/`,
      'finished.path': `${root}finished/`,
      'error.path': `${root}error/`,
      topic,
      'batch.size': '50',
      'medstream.mapping': 'mimic-patient',
      'medstream.csv.columns': 'subject_id:integer,gender,dob:timestamp,dod:timestamp',
      ...extra,
    },
  };
  const connector = parseCsvSourceConfig(document);
  registerCleanup(async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: root }));
    for (const object of listed.Contents ?? []) {
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: object.Key }));
    }
  });
  const handler = makeHandler({
    sources: [resolveCsvSource(connector, registry)],
    objects: createS3ObjectStore(s3),
    publisher: createRawPublisher(producer),
    clock: () => new Date(),
    newBatchId: () => `${root}batch`,
  });
  return { root, topic, handler, connector: document };
};

/** Puts an object and returns the exact S3 event AWS would deliver for it. */
const drop = async (key: string, body: string | { path: string }) => {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : (await stat(body.path)).size;
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: typeof body === 'string' ? body : createReadStream(body.path),
      ContentLength: size,
    }),
  );
  return buildObjectCreatedEvent([{ bucket: BUCKET, key, size, eTag: put.ETag ?? '' }], {
    region: config.AWS_REGION,
    now: new Date(),
  });
};

const keysUnder = async (prefix: string): Promise<string[]> => {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
};

const readReport = async (key: string): Promise<DropReport> => {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse((await object.Body?.transformToString()) ?? 'null') as DropReport;
};

describe('csv source', () => {
  it('publishes a dropped CSV as raw resources and files it under finished/ with its report', async () => {
    const { root, topic, handler } = startCsvSource();
    const watched = await watchTopic(topic);
    const csv = [
      'subject_id,gender,dob,dod',
      '301,F,2080-01-01 00:00:00,',
      '302,M,2075-05-05 00:00:00,2150-01-01 10:00:00',
      '',
      '303,"F",2090-12-31 00:00:00,',
    ].join('\r\n');
    // A space in the key: S3 notifications URL-encode it as `+`.
    const key = `${root}incoming/patients drop 1.csv`;
    const event = await drop(key, csv);
    expect(event.Records[0]?.s3.object.key).toBe(`${root}incoming/patients+drop+1.csv`);

    const result = await handler(event);
    expect(result.objects).toEqual([
      { status: 'finished', key, destination: `${root}finished/patients drop 1.csv` },
    ]);
    expect(await keysUnder(root)).toEqual([
      `${root}finished/patients drop 1.csv`,
      `${root}finished/patients drop 1.csv.report.json`,
    ]);
    const report = await readReport(`${root}finished/patients drop 1.csv.report.json`);
    expect(report).toMatchObject({
      outcome: 'finished',
      rowsRead: 3,
      rowsPublished: 3,
      rowsRejected: 0,
      rejected: [],
      connector: expect.stringMatching(/^it-csv-/),
      source: { bucket: BUCKET, key },
    });

    const records = await waitFor('3 records', async () => {
      const seen = watched.records();
      return seen.length >= 3 ? seen : undefined;
    });
    expect(records.map((record) => record.key)).toEqual(['301', '302', '303']);
    expect(records[1]?.value).toEqual({
      mapping: 'mimic-patient',
      key: 302,
      rows: [
        {
          'patients.subject_id': 302,
          'patients.gender': 'M',
          'patients.dob': '2075-05-05 00:00:00',
          'patients.dod': '2150-01-01 10:00:00',
        },
      ],
    });
    expect(records[0]?.value.rows[0]?.['patients.dod']).toBeNull();
    expect(
      records.every((record) => record.batchId === `${root}batch` && record.mapping === 'mimic-patient'),
    ).toBe(true);

    // S3 delivers notifications at least once: the same event again finds nothing to do.
    expect((await handler(event)).objects).toEqual([{ status: 'gone', key }]);
  });

  it('files a malformed CSV under error/ with each bad line and its reason, never a value', async () => {
    const { root, topic, handler } = startCsvSource();
    const watched = await watchTopic(topic);
    const csv = [
      'subject_id,gender,dob,dod', // line 1
      '401,F,2080-01-01 00:00:00,', // 2 ok
      'SECRET-MRN,F,2080-01-01 00:00:00,', // 3 bad integer
      '403,M,2080-01-01 00:00:00', // 4 three fields
      '404,M,not-a-date-SECRET,', // 5 bad timestamp
      ',F,2080-01-01 00:00:00,', // 6 empty key
      '406,M,2080-01-01 00:00:00,', // 7 ok
      '407,"F"SECRET,2080-01-01 00:00:00,', // 8 text after a closing quote
    ].join('\n');
    const key = `${root}incoming/patients-bad.csv`;
    const result = await handler(await drop(key, `${csv}\n`));
    expect(result.objects).toEqual([{ status: 'error', key, destination: `${root}error/patients-bad.csv` }]);
    const report = await readReport(`${root}error/patients-bad.csv.report.json`);
    expect(report).toMatchObject({ outcome: 'error', rowsRead: 7, rowsPublished: 2, rowsRejected: 5 });
    expect(report.rejected).toEqual([
      { line: 3, reason: 'column subject_id: not an integer' },
      { line: 4, reason: 'expected 4 fields, found 3' },
      { line: 5, reason: 'column dob: not a timestamp (YYYY-MM-DD[ HH:MM[:SS]])' },
      { line: 6, reason: 'column subject_id: the key is empty' },
      { line: 8, reason: 'a closing quote is followed by a character other than the separator' },
    ]);
    expect(JSON.stringify(report)).not.toContain('SECRET');
    expect(await keysUnder(`${root}incoming/`)).toEqual([]);
    const records = await waitFor('2 records', async () => {
      const seen = watched.records();
      return seen.length >= 2 ? seen : undefined;
    });
    expect(records.map((record) => record.key)).toEqual(['401', '406']);
  });

  it('files a CSV whose header lacks a declared column under error/, publishing nothing', async () => {
    const { root, handler } = startCsvSource();
    const key = `${root}incoming/patients-header.csv`;
    const result = await handler(await drop(key, 'subject_id,gender\n501,F\n'));
    expect(result.objects).toEqual([
      { status: 'error', key, destination: `${root}error/patients-header.csv` },
    ]);
    const report = await readReport(`${root}error/patients-header.csv.report.json`);
    expect(report).toMatchObject({
      outcome: 'error',
      rowsPublished: 0,
      fileError: 'line 1: the header lacks column(s) dob, dod',
    });
  });

  it('ignores objects outside its input path or file pattern', async () => {
    const { root, handler } = startCsvSource();
    const key = `${root}incoming/notes.txt`;
    expect((await handler(await drop(key, 'x'))).objects).toEqual([
      { status: 'ignored', key, reason: expect.stringMatching(/^its name matches no CSV connector's input/) },
    ]);
    expect(await keysUnder(root)).toEqual([key]);
  });

  it('streams a file larger than its heap in bounded memory', async () => {
    // The handler runs in a process whose V8 heap is capped below the file's size: it can only
    // succeed by streaming. The 100 MB figure in the report comes from the same script, by hand.
    const megabytes = Number(process.env.CSV_SOURCE_LARGE_MB ?? 48);
    const heapMb = 40;
    const { root, topic, connector } = startCsvSource({ 'batch.size': '1000' });
    const directory = await mkdtemp(join(tmpdir(), 'medstream-csv-'));
    registerCleanup(() => rm(directory, { recursive: true, force: true }));
    const path = join(directory, 'patients-large.csv');
    const out = createWriteStream(path);
    out.write('subject_id,gender,dob,dod\n');
    let rows = 0;
    for (let written = 0; written < megabytes * 1024 * 1024; rows += 1) {
      const line = `${1_000_000 + rows},${rows % 2 ? 'F' : 'M'},2080-01-01 00:00:00,\n`;
      written += line.length;
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const key = `${root}incoming/patients-large.csv`;
    const event = await drop(key, { path });

    const { stdout } = await execFileAsync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(__dirname, 'run-csv-drop.ts'),
        JSON.stringify(connector),
        JSON.stringify(event),
      ],
      { env: { ...process.env, NODE_OPTIONS: `--max-old-space-size=${heapMb}` }, maxBuffer: 1024 * 1024 },
    );
    const run = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      result: { objects: { status: string }[] };
      seconds: number;
      baselineRssMb: number;
      peakRssMb: number;
    };
    process.stdout.write(
      `csv source: ${megabytes} MB, ${rows} rows in ${run.seconds.toFixed(1)} s (${Math.round(rows / run.seconds)} rows/s), ` +
        `heap cap ${heapMb} MB, RSS ${run.baselineRssMb.toFixed(0)} -> peak ${run.peakRssMb.toFixed(0)} MB\n`,
    );
    expect(run.result.objects).toEqual([expect.objectContaining({ status: 'finished' })]);
    // Off-heap memory (socket and producer buffers) stays flat too: measured +37 MB at 24 MB, +46 MB
    // at 48 MB and +45 MB at 100 MB; a leak proportional to the file would cross this line.
    expect(run.peakRssMb - run.baselineRssMb).toBeLessThan(72);
    const report = await readReport(`${root}finished/patients-large.csv.report.json`);
    expect(report).toMatchObject({ rowsRead: rows, rowsPublished: rows, rowsRejected: 0 });

    const admin = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
    registerCleanup(async () => {
      const cleaner = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING }).admin();
      await cleaner.connect();
      await cleaner.deleteTopics({ topics: [topic] }).finally(() => cleaner.disconnect());
    });
    expect(offsets.reduce((sum, partition) => sum + Number(partition.high), 0)).toBe(rows);
  }, 300_000);
});
