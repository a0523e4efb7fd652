import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  brokers,
  committedOffset,
  createTopic,
  disconnectClients,
  produce,
  uniqueName,
  values,
  waitFor,
} from './helpers';

jest.setTimeout(90_000);

const root = resolve(__dirname, '../../..');
const fixture = join(__dirname, 'fixtures', 'run-trigger.ts');
const children: ChildProcess[] = [];
let workDir: string | undefined;

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});
afterAll(disconnectClients);

const startRunner = (env: Record<string, string>): ChildProcess => {
  // node --require tsx/cjs runs the fixture in this very process, so SIGKILL hits the trigger itself.
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', fixture], {
    cwd: root,
    env: { ...process.env, KAFKA_BROKERS: brokers.join(','), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
};

const offsetsWritten = (file: string): number[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : [];

describe('crash recovery', () => {
  it('resumes from the committed offsets after a SIGKILL mid-batch, losing nothing', async () => {
    const total = 300;
    const batchSize = 20;
    const topic = uniqueName('crash');
    const groupId = uniqueName('group');
    workDir = mkdtempSync(join(tmpdir(), 'trigger-crash-'));
    const outFile = join(workDir, 'offsets.txt');
    await createTopic(topic);
    await produce(topic, values(total));
    const env = {
      TRIGGER_TOPIC: topic,
      TRIGGER_GROUP: groupId,
      TRIGGER_OUT_FILE: outFile,
      TRIGGER_BATCH_SIZE: String(batchSize),
      TRIGGER_PER_RECORD_MS: '10',
    };

    const first = startRunner(env);
    // Kill while a batch is half written: past the first batches and not on a batch boundary.
    await waitFor('a batch in progress', () => {
      const written = offsetsWritten(outFile).length;
      return written > 3 * batchSize && written % batchSize >= 5 && written % batchSize <= 15;
    });
    first.kill('SIGKILL');
    await waitFor('the first runner to die', () => first.signalCode !== null || first.exitCode !== null);
    const writtenBeforeKill = offsetsWritten(outFile).length;
    const committedAtKill = await committedOffset(groupId, topic);
    expect(committedAtKill).toBeGreaterThan(0);
    // The batch in flight was not committed.
    expect(committedAtKill).toBeLessThan(writtenBeforeKill);
    expect(committedAtKill % batchSize).toBe(0);

    startRunner({ ...env, TRIGGER_PER_RECORD_MS: '0' });
    await waitFor(
      'everything committed after the restart',
      async () => (await committedOffset(groupId, topic)) === total,
      60_000,
    );

    const written = offsetsWritten(outFile);
    const counts = new Map<number, number>();
    for (const offset of written) counts.set(offset, (counts.get(offset) ?? 0) + 1);
    // Nothing lost...
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: total }, (_unused, n) => n),
    );
    // ...and only the uncommitted records of the killed batch were delivered twice.
    const twice = [...counts.entries()].filter(([, count]) => count > 1).map(([offset]) => offset);
    expect(twice.every((offset) => offset >= committedAtKill && offset < writtenBeforeKill)).toBe(true);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
  });
});
