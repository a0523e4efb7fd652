/**
 * Creates and fills the MIMIC-III-shaped clinical database from a seed:
 *   npx tsx scripts/seed-clinical.ts --patients 100 [--seed 42] [--chart-interval-hours 4] [--if-empty]
 * Idempotent: the tables are dropped and recreated in one transaction. With --if-empty a database
 * that already has the tables is left as it is (what `npm start` runs on the local stack).
 */
import { Client } from 'pg';
import { generateClinicalDataset } from '../lib/clinical/generate';
import { loadClinicalDataset } from '../lib/clinical/load';
import { loadConfig } from '../lib/config';
import { createSeededRandom } from '../lib/random';

const readFlag = (args: readonly string[], name: string, fallback: number): number => {
  const index = args.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
};

/** Connects to the clinical database, creating it first when the server does not have it yet. */
const connect = async (url: string): Promise<Client> => {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    return client;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error;
    const target = new URL(url);
    const name = decodeURIComponent(target.pathname.slice(1));
    const admin = new URL(url);
    admin.pathname = '/postgres';
    const adminClient = new Client({ connectionString: admin.toString() });
    await adminClient.connect();
    await adminClient.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    await adminClient.end();
    const created = new Client({ connectionString: url });
    await created.connect();
    return created;
  }
};

const main = async (): Promise<void> => {
  const args = process.argv.slice(2);
  const patients = readFlag(args, 'patients', 100);
  const seed = readFlag(args, 'seed', loadConfig().SIMULATOR_SEED);
  const chartIntervalHours = readFlag(args, 'chart-interval-hours', 4);
  const started = Date.now();
  const dataset = generateClinicalDataset({ patients, chartIntervalHours }, createSeededRandom(seed));
  const generatedMs = Date.now() - started;
  const client = await connect(loadConfig().CLINICAL_DATABASE_URL);
  try {
    if (args.includes('--if-empty')) {
      const { rows } = await client.query<{ found: string | null }>(
        "SELECT to_regclass('patients') AS found",
      );
      if (rows[0]?.found != null) {
        console.log('clinical database already seeded (npm run seed:clinical seeds it again)');
        return;
      }
    }
    const report = await loadClinicalDataset(client, dataset);
    const total = report.reduce((sum, entry) => sum + entry.rows, 0);
    for (const entry of report) console.log(`${entry.table.padEnd(14)} ${entry.rows}`);
    console.log(
      `seeded ${patients} patients (seed ${seed}): ${total} rows, generated in ${generatedMs} ms, ` +
        `loaded in ${Date.now() - started - generatedMs} ms`,
    );
  } finally {
    await client.end();
  }
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
