import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { UnavailableError } from '../errors';
import type { ObjectStore } from './csv-drop';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Whether an endpoint is an emulator on this machine (moto, LocalStack), which accepts any credentials. */
export const isLoopbackEndpoint = (endpoint: string): boolean => LOOPBACK.has(new URL(endpoint).hostname);

/**
 * An S3 client for AWS or a local emulator. With an endpoint (AWS_ENDPOINT_URL) requests are
 * path-style, since `bucket.127.0.0.1` does not resolve. `placeholderCredentials` is for a
 * loopback emulator when the environment has none (moto accepts any).
 */
export const createS3Client = (options: {
  region: string;
  endpoint?: string;
  placeholderCredentials?: boolean;
}): S3Client =>
  new S3Client({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint, forcePathStyle: true }),
    ...(options.placeholderCredentials
      ? { credentials: { accessKeyId: 'medstream-local', secretAccessKey: 'medstream-local' } }
      : {}),
  });

// CopySource is `bucket/key` with the key URL-encoded segment by segment.
const copySourceOf = (bucket: string, key: string): string =>
  `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

const unavailable = (what: string) => (cause: unknown) => {
  throw new UnavailableError(`S3: cannot ${what}`, { cause });
};

/** The object store port over S3. */
export const createS3ObjectStore = (client: S3Client): ObjectStore => ({
  async open(bucket, key) {
    try {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return response.Body as Readable;
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      return unavailable('read an object')(error);
    }
  },
  async move(bucket, from, to) {
    await client
      .send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: copySourceOf(bucket, from) }))
      .catch(unavailable('copy an object'));
    await client
      .send(new DeleteObjectCommand({ Bucket: bucket, Key: from }))
      .catch(unavailable('delete an object'));
  },
  async putJson(bucket, key, body) {
    await client
      .send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: `${JSON.stringify(body, null, 2)}\n`,
          ContentType: 'application/json',
        }),
      )
      .catch(unavailable('write a report'));
  },
});
