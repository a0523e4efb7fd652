import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOffline } from '../../support/offline';
import { brokers, createTopic, disconnectClients, produce, uniqueName, waitFor } from './helpers';

jest.setTimeout(120_000);

const serviceDir = join(__dirname, 'fixtures', 'reload-service');
const tagFile = join(serviceDir, 'build-tag', 'current.json');
const buildFolder = `.esbuild-reload-${process.pid}`;
let offline: ChildProcess | undefined;
let workDir: string | undefined;

afterEach(async () => {
  if (offline && offline.exitCode === null && offline.signalCode === null) {
    offline.kill('SIGINT');
    await waitFor(
      'serverless offline to exit',
      () => offline?.exitCode !== null || offline?.signalCode !== null,
      20_000,
    ).catch(() => offline?.kill('SIGKILL'));
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  rmSync(join(serviceDir, 'build-tag'), { recursive: true, force: true });
  rmSync(join(serviceDir, buildFolder), { recursive: true, force: true });
});
afterAll(disconnectClients);

const writeTag = (build: number) => {
  mkdirSync(join(serviceDir, 'build-tag'), { recursive: true });
  writeFileSync(tagFile, JSON.stringify({ build }));
};

describe('a Kafka-triggered function under serverless offline start', () => {
  it('runs the rebuilt handler after serverless-esbuild rebuilds it, as HTTP functions do', async () => {
    const topic = uniqueName('reload');
    workDir = mkdtempSync(join(tmpdir(), 'trigger-reload-'));
    const outFile = join(workDir, 'lines.txt');
    await createTopic(topic);
    writeTag(1);

    const started = await startOffline(serviceDir, {
      KAFKA_BROKERS: brokers.join(','),
      RELOAD_BUILD_FOLDER: buildFolder,
      TRIGGER_OUT_FILE: outFile,
      TRIGGER_TOPIC: topic,
      TRIGGER_GROUP: uniqueName('group'),
    });
    offline = started.offline;
    const output = started.output;
    const lines = () =>
      existsSync(outFile) ? readFileSync(outFile, 'utf8').split('\n').filter(Boolean) : [];

    await produce(topic, [{ value: 'first' }]);
    await waitFor('the first record', () => lines().length > 0, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${output()}`);
    });
    expect(lines()).toEqual(['1 first']);

    // A source change: serverless-esbuild rebuilds and tells serverless-offline's plugins. A record
    // invoked between the new bundle and the reload may still run on build 1; once build 2 ran,
    // none may run on build 1 again.
    writeTag(2);
    let sent = 0;
    await waitFor(
      'a record handled by the rebuilt handler',
      async () => {
        if (lines().some((line) => line.startsWith('2 '))) return true;
        sent += 1;
        await produce(topic, [{ value: `after-${sent}` }]);
        await new Promise((resolveWait) => setTimeout(resolveWait, 500));
        return false;
      },
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(lines())}\n${output()}`);
    });
    await produce(topic, [{ value: 'last' }]);
    await waitFor('the last record', () => lines().some((line) => line.endsWith(' last')));
    const all = lines();
    const firstOfBuild2 = all.findIndex((line) => line.startsWith('2 '));
    expect(all.slice(firstOfBuild2).every((line) => line.startsWith('2 '))).toBe(true);
    expect(all.at(-1)).toBe('2 last');
    // Every record handled once, in order.
    expect(all.map((line) => line.split(' ')[1])).toEqual([
      'first',
      ...Array.from({ length: sent }, (_, index) => `after-${index + 1}`),
      'last',
    ]);
  });
});
