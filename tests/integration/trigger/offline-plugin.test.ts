import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaEvent } from '../../../lib/kafka/event';
import { startOffline } from '../../support/offline';
import {
  brokers,
  committedOffset,
  createTopic,
  disconnectClients,
  produce,
  readTopic,
  uniqueName,
  waitFor,
} from './helpers';

jest.setTimeout(120_000);

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

    const started = await startOffline(serviceDir, {
      KAFKA_BROKERS: brokers.join(','),
      TRIGGER_STATUS_FILE: statusFile,
      TRIGGER_OUT_FILE: outFile,
      TRIGGER_TOPIC: topic,
      TRIGGER_GROUP: groupId,
      TRIGGER_DLT: destination,
    });
    offline = started.offline;

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
    await waitFor('the summary line', () => started.output().includes('kafka trigger: recorder<-'));

    offline.kill('SIGINT');
    await waitFor(
      'serverless offline to exit',
      () => offline?.exitCode !== null || offline?.signalCode !== null,
      20_000,
    );
  });
});
