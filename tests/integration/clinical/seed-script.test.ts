import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '../../../lib/config';

// scripts/seed-clinical.ts as `npm run seed:clinical` and `npm start` run it, against a database of
// its own (which the script creates, as it would the stack's `clinical` on a first run).

const root = path.join(__dirname, '../../..');
const name = `clinical_seedtest_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
const url = new URL(loadConfig().CLINICAL_DATABASE_URL);
url.pathname = `/${name}`;

const seed = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/seed-clinical.ts', ...args], {
    cwd: root,
    env: { ...process.env, CLINICAL_DATABASE_URL: url.toString() },
    encoding: 'utf8',
  });

const patients = async () => {
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return Number((await client.query('SELECT count(*) AS n FROM patients')).rows[0]?.n);
  } finally {
    await client.end();
  }
};

afterAll(async () => {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name}"`);
  await client.end();
});

it('seeds an empty database once with --if-empty, and reseeds without it', async () => {
  expect(seed('--patients', '4', '--if-empty')).toMatch(/seeded 4 patients/);
  expect(await patients()).toBe(4);

  expect(seed('--patients', '7', '--if-empty')).toBe(
    'clinical database already seeded (npm run seed:clinical seeds it again)\n',
  );
  expect(await patients()).toBe(4);

  expect(seed('--patients', '7')).toMatch(/seeded 7 patients/);
  expect(await patients()).toBe(7);
}, 60_000);
