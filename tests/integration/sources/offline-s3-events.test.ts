import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { createS3Client } from '../../../lib/sources/s3-objects';
import { startOffline } from '../../support/offline';
import { cleanUp, config, registerCleanup, uniqueId, waitFor } from './support';

afterAll(cleanUp, 60_000);

const serviceDir = join(__dirname, 'fixtures', 'offline-s3-service');
const BUCKET = 'medstream-drops';
const endpoint = config.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566';
const s3 = createS3Client({ region: config.AWS_REGION, endpoint, placeholderCredentials: true });
registerCleanup(async () => s3.destroy());

const put = async (key: string, body: string): Promise<string> =>
  (await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))).ETag ?? '';

describe('serverless-offline-s3-events under serverless offline start', () => {
  it('delivers the S3 event of each object created under the prefix, once, through the lambda runner', async () => {
    const prefix = `it-${uniqueId()}/incoming/`;
    registerCleanup(async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
      for (const object of listed.Contents ?? [])
        await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: object.Key }));
    });
    const workDir = mkdtempSync(join(tmpdir(), 's3-events-offline-'));
    registerCleanup(async () => rmSync(workDir, { recursive: true, force: true }));
    const outFile = join(workDir, 'events.jsonl');
    // There before the start: S3 only notifies of objects created later.
    await put(`${prefix}before.csv`, 'a\n1\n');

    const { offline, output } = await startOffline(serviceDir, {
      AWS_ENDPOINT_URL: endpoint,
      S3_OUT_FILE: outFile,
      S3_PREFIX: prefix,
    });
    registerCleanup(async () => {
      if (offline.exitCode === null && offline.signalCode === null) offline.kill('SIGKILL');
    });
    // After the first listing, `before.csv` is known as existing and every new drop is delivered.
    await waitFor(
      'the first listing',
      async () => (output().includes('first listing done') ? true : undefined),
      60_000,
    );

    const eTag = await put(`${prefix}drop one.csv`, 'subject_id\n1\n');
    await put(`${prefix}notes.txt`, 'not a csv');
    await put(`${prefix}fail.csv`, 'subject_id\n2\n');

    const read = (): { event: S3Event; endpoint: string | null }[] =>
      existsSync(outFile)
        ? readFileSync(outFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line))
        : [];
    // fail.csv: the first attempt and two retries, as Lambda's asynchronous invocation does.
    const delivered = await waitFor(
      '4 invocations',
      async () => {
        const lines = read();
        return lines.length >= 4 ? lines : undefined;
      },
      30_000,
    );
    const keys = delivered.map((line) => line.event.Records[0]?.s3.object.key);
    expect(keys.filter((key) => key?.endsWith('drop+one.csv'))).toHaveLength(1);
    expect(keys.filter((key) => key?.endsWith('fail.csv'))).toHaveLength(3);
    expect(keys.some((key) => key?.includes('before') || key?.includes('notes'))).toBe(false);

    const event = delivered.find((line) => line.event.Records[0]?.s3.object.key.endsWith('drop+one.csv'));
    expect(event?.endpoint).toBe(endpoint);
    expect(event?.event.Records).toHaveLength(1);
    expect(event?.event.Records[0]).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` },
        object: {
          key: `${prefix}drop+one.csv`,
          size: 'subject_id\n1\n'.length,
          eTag: eTag.replaceAll('"', ''),
        },
      },
    });
    expect(Date.parse(event?.event.Records[0]?.eventTime ?? '')).not.toBeNaN();

    // Still listed, already delivered: nothing more arrives over further polls.
    const count = read().length;
    await put(`${prefix}marker.csv`, 'subject_id\n3\n');
    await waitFor('the marker', async () =>
      read().some((line) => line.event.Records[0]?.s3.object.key.endsWith('marker.csv')) ? true : undefined,
    );
    expect(read()).toHaveLength(count + 1);

    offline.kill('SIGINT');
    await waitFor('serverless offline to exit', async () =>
      offline.exitCode !== null || offline.signalCode !== null ? true : undefined,
    );
  });
});
