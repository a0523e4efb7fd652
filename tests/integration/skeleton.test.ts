import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { Client } from 'pg';
import { loadConfig } from '../../lib/config';
import { pollUntil as poll } from '../support/poll';

// The walking skeleton on real services: `serverless offline start` runs the functions and the
// project's Kafka trigger; simulate publishes Avro biometrics to biometrics_default through the
// registry; the trigger delivers the exact ESM event to sink-postgres, whose rows must appear.
// The clinical half too: rows extracted over HTTP from a MIMIC-shaped database (one of its own,
// seeded here) go through transform and load-fhir, each fed by its events of serverless.yml.
// A stage of its own keeps its consumer groups and ports apart from a developer's `npm start`.
const root = path.resolve(__dirname, '../..');
const stage = 'skeleton';
const httpPort = 3100;
const lambdaPort = 3102;
const table = 'biometrics_default';

const config = loadConfig();
const suffix = randomUUID().replaceAll('-', '').slice(0, 10);
// Its own clinical database and FHIR store database, so a developer's data is left alone.
const clinicalName = `clinical_skeleton_${suffix}`;
const fhirDatabase = `medstream_skeleton_${suffix}`;
const clinicalUrl = new URL(config.CLINICAL_DATABASE_URL);
clinicalUrl.pathname = `/${clinicalName}`;
// serverless-esbuild's build folder of its own: ending this run must not remove a running
// `npm start`'s handlers (serverless.yml, outputWorkFolder).
const esbuildFolder = `.esbuild-skeleton-${suffix}`;
let offline: ChildProcess | undefined;
let output = '';
const db = new Client({ connectionString: config.DATABASE_URL });

/** The shared poll, failing with what serverless offline said. */
const pollUntil = async <T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> =>
  poll(what, probe, timeoutMs).catch((error: Error) => {
    // What the functions did (their batch and failure lines), then the end of the output.
    const notable = output
      .split('\n')
      .filter((line) =>
        /sink batch|record failed|records failed|transform batch|load batch|crashed|ERROR/.test(line),
      )
      .slice(-30)
      .map((line) => line.slice(0, 400));
    throw new Error(
      `${error.message}; serverless offline's batch and failure lines:\n${notable.join('\n')}\n…and its last output:\n${output.slice(-3000)}`,
    );
  });

const invoke = async (functionName: string, payload: unknown): Promise<Response> =>
  fetch(
    `http://127.0.0.1:${lambdaPort}/2015-03-31/functions/medstream-${stage}-${functionName}/invocations`,
    {
      method: 'POST',
      body: JSON.stringify(payload),
    },
  );

const rowCount = async (): Promise<number> => {
  const exists = await db.query('SELECT to_regclass($1) AS t', [`public.${table}`]);
  if (exists.rows[0]?.t === null) return 0;
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
  return Number(rows[0]?.n ?? 0);
};

beforeAll(async () => {
  await db.connect();
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/seed-clinical.ts', '--patients', '3'], {
    cwd: root,
    env: { ...process.env, CLINICAL_DATABASE_URL: clinicalUrl.toString() },
  });
  offline = spawn(
    'npx',
    [
      'sls',
      'offline',
      'start',
      '--stage',
      stage,
      '--httpPort',
      String(httpPort),
      '--lambdaPort',
      String(lambdaPort),
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        MEDSTREAM_ESBUILD_FOLDER: esbuildFolder,
        SIMULATOR_TICKS: '1',
        CLINICAL_DATABASE_URL: clinicalUrl.toString(),
        MONGODB_DATABASE: fhirDatabase,
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  offline.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  offline.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await pollUntil(
    'the local Lambda endpoint',
    async () => ((await fetch(`http://127.0.0.1:${lambdaPort}/`).catch(() => undefined)) ? true : undefined),
    120_000,
  );
}, 180_000);

afterAll(async () => {
  const child = offline;
  if (child?.pid !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGINT');
    const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(path.join(root, esbuildFolder), { recursive: true, force: true });
  await db.query(`DROP DATABASE IF EXISTS "${clinicalName}" WITH (FORCE)`);
  await db.end();
  const mongo = await MongoClient.connect(config.MONGODB_URI);
  await mongo.db(fhirDatabase).dropDatabase();
  await mongo.close();
});

it('carries simulated biometrics from simulate through Kafka and the local trigger into PostgreSQL', async () => {
  const before = await rowCount();

  const response = await invoke('simulate', { source: 'aws.events', 'detail-type': 'Scheduled Event' });
  expect(response.status).toBe(200);
  const run = (await response.json()) as { published: number };
  expect(run.published).toBeGreaterThan(0);

  const after = await pollUntil(
    `${run.published} new rows in ${table}`,
    async () => {
      const count = await rowCount();
      return count >= before + run.published ? count : undefined;
    },
    60_000,
  );
  expect(after).toBeGreaterThanOrEqual(before + run.published);

  const { rows } = await db.query(`SELECT * FROM "${table}" ORDER BY "time" DESC LIMIT 1`);
  expect(rows[0]).toMatchObject({ patient_id: expect.any(String), heart_rate: expect.any(Number) });
}, 120_000);

type BatchCounts = { extracted: number; transformed: number; loaded: number; failed: number };

it('carries clinical rows from the extract API through transform and load-fhir, every mapping its own trigger', async () => {
  // Two mappings whose topics are the first and the last of transform's events: each event source
  // mapping must read its own topic (one consumer group each, as Lambda gives them).
  const batches: { id: string; resources: number }[] = [];
  for (const mapping of ['mimic-condition', 'mimic-patient']) {
    const response = await fetch(`http://127.0.0.1:${httpPort}/extract/${mapping}`, { method: 'POST' });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { batchId: string; resources: number };
    expect(body.resources).toBeGreaterThan(0);
    batches.push({ id: body.batchId, resources: body.resources });
  }
  for (const batch of batches) {
    const done = await pollUntil(
      `batch ${batch.id} completed`,
      async () => {
        const response = await fetch(`http://127.0.0.1:${httpPort}/batches/${batch.id}`);
        const body = (await response.json()) as { state: string; totals: BatchCounts };
        return body.state === 'completed' ? body.totals : undefined;
      },
      90_000,
    );
    expect(done).toMatchObject({
      extracted: batch.resources,
      transformed: batch.resources,
      loaded: batch.resources,
      failed: 0,
    });
  }
}, 200_000);
