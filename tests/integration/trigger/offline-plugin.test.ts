import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { KafkaEvent } from '../../../lib/kafka/event';
import {
  brokers,
  committedOffset,
  createTopic,
  disconnectClients,
  freePort,
  produce,
  readTopic,
  uniqueName,
  waitFor,
} from './helpers';

jest.setTimeout(120_000);

const root = resolve(__dirname, '../../..');
const serviceDir = join(__dirname, 'fixtures', 'offline-service');
let offline: ChildProcess | undefined;
let workDir: string | undefined;

afterEach(async () => {
  if (offline && offline.exitCode === null && offline.signalCode === null) offline.kill('SIGKILL');
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});
afterAll(disconnectClients);

describe('the plugin under serverless offline start', () => {
  it('feeds a Kafka-triggered function through serverless-offline and honours resources.extensions', async () => {
    const topic = uniqueName('offline');
    const destination = `${topic}-dlt`;
    const groupId = uniqueName('group');
    workDir = mkdtempSync(join(tmpdir(), 'trigger-offline-'));
    const outFile = join(workDir, 'events.jsonl');
    const statusFile = join(workDir, 'status.json');
    await createTopic(topic);
    await createTopic(destination);
    await produce(topic, [{ value: 'a' }, { value: 'poison' }, { value: 'b' }]);

    let output = '';
    offline = spawn(join(root, 'node_modules', '.bin', 'serverless'), ['offline', 'start'], {
      cwd: serviceDir,
      env: {
        ...process.env,
        KAFKA_BROKERS: brokers.join(','),
        OFFLINE_LAMBDA_PORT: String(await freePort()),
        OFFLINE_HTTP_PORT: String(await freePort()),
        TRIGGER_STATUS_FILE: statusFile,
        TRIGGER_OUT_FILE: outFile,
        TRIGGER_TOPIC: topic,
        TRIGGER_GROUP: groupId,
        TRIGGER_DLT: destination,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    offline.stdout?.on('data', (chunk) => {
      output += String(chunk);
    });
    offline.stderr?.on('data', (chunk) => {
      output += String(chunk);
    });

    // MaximumRetryAttempts 1 and ReportBatchItemFailures come from resources.extensions.
    const [failed] = await readTopic(destination, 1, 60_000);
    expect(JSON.parse(failed?.value ?? '{}').requestContext).toMatchObject({
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 2,
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:trigger-offline-test-local-recorder',
    });
    await waitFor('all 3 committed', async () => (await committedOffset(groupId, topic)) === 3, 30_000);

    const events = readFileSync(outFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as KafkaEvent);
    expect(events[0]?.eventSource).toBe('SelfManagedKafka');
    const offsets = events.map((event) =>
      Object.values(event.records)
        .flat()
        .map((record) => record.offset),
    );
    // The first attempt reports offset 1 failed; the retry starts there.
    expect(offsets).toEqual([
      [0, 1, 2],
      [1, 2],
    ]);
    await waitFor('the status file', () => existsSync(statusFile));
    await waitFor('the summary line', () => output.includes('kafka trigger: recorder<-'));

    offline.kill('SIGINT');
    await waitFor(
      'serverless offline to exit',
      () => offline?.exitCode !== null || offline?.signalCode !== null,
      20_000,
    );
  });
});
