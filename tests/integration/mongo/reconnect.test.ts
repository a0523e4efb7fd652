import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UnavailableError } from '../../../lib/errors';
import type { FhirResource } from '../../../lib/fhir';
import { createMongoClient, createMongoFhirStore } from '../../../lib/mongo/fhir-store';

// A SecantusDB of its own, started only after the client failed to reach it: the stack's server
// cannot be stopped under the other suites (and MONGODB_URI may point elsewhere). stack.sh installs
// it when missing and says where it is.
const ROOT = path.resolve(__dirname, '../../..');
const secantusd = execFileSync('bash', [path.join(ROOT, 'scripts/stack.sh'), 'secantusd'], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
}).trim();

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const patient = (id: string): FhirResource => ({
  resourceType: 'Patient',
  id,
  meta: { lastUpdated: '2026-11-24T00:00:00Z', tag: [{ system: 'urn:medstream:fhir:source', code: 'it' }] },
  gender: 'female',
});

let server: ChildProcess | undefined;
const storage = mkdtempSync(path.join(tmpdir(), 'medstream-mongo-reconnect-'));
afterAll(async () => {
  if (server !== undefined && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once('exit', resolve));
    server.kill();
    await exited;
  }
  rmSync(storage, { recursive: true, force: true });
});

it('connects again once MongoDB is up, after its first connection failed', async () => {
  expect(existsSync(secantusd)).toBe(true);
  const port = await freePort();
  const client = createMongoClient(`mongodb://127.0.0.1:${port}/?directConnection=true`);
  const store = createMongoFhirStore(client.db('medstream_it_reconnect'));
  try {
    // Down at the container's first use: retryable, as an outage is.
    await expect(store.upsertResources('Patient', [patient('p1')])).rejects.toBeInstanceOf(UnavailableError);

    server = spawn(secantusd, ['--host', '127.0.0.1', '--port', String(port), '--storage-path', storage], {
      stdio: 'ignore',
    });
    // Up: the same client writes (the driver alone would keep failing with "Topology is closed").
    const deadline = Date.now() + 30_000;
    let result: Awaited<ReturnType<typeof store.upsertResources>> | undefined;
    while (result === undefined) {
      result = await store.upsertResources('Patient', [patient('p1'), patient('p2')]).catch((error) => {
        if (Date.now() > deadline) throw error;
        return undefined;
      });
    }
    expect(result).toMatchObject({ inserted: 2, failed: [] });
    expect(await client.db('medstream_it_reconnect').collection('Patient').countDocuments()).toBe(2);
  } finally {
    await client.close();
  }
}, 60_000);
