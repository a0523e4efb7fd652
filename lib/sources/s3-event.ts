import type { S3Event } from 'aws-lambda';
import { ParseError } from '../errors';

/** An object an S3 ObjectCreated notification names, its key decoded. */
export type CreatedObject = { bucket: string; key: string; size: number | undefined; eventName: string };

/**
 * S3 notification keys are URL-encoded with spaces as `+` (AWS: "The s3 key provided in the
 * event notification is URL encoded"), so `incoming/a b.csv` arrives as `incoming/a+b.csv`.
 */
export const decodeS3Key = (key: string): string => {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch (cause) {
    throw new ParseError('S3 event object key is not URL-encoded', { cause });
  }
};

/** The created objects of an S3 event, in record order; other event types are skipped. */
export const createdObjectsOf = (event: S3Event): CreatedObject[] => {
  if (!Array.isArray(event?.Records)) throw new ParseError('not an S3 event: no Records');
  return event.Records.filter((record) => record.eventName?.startsWith('ObjectCreated:')).map((record) => {
    const bucket = record.s3?.bucket?.name;
    const key = record.s3?.object?.key;
    if (typeof bucket !== 'string' || typeof key !== 'string')
      throw new ParseError('S3 record without bucket or key');
    return { bucket, key: decodeS3Key(key), size: record.s3.object.size, eventName: record.eventName };
  });
};

/** The URL encoding S3 applies to keys in notifications (the inverse of decodeS3Key). */
export const encodeS3Key = (key: string): string =>
  encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');

/**
 * The notification S3 sends for a created object (event version 2.1), for local delivery and
 * tests: the same fields a Lambda receives on AWS, with placeholder principal and request ids.
 */
export const buildObjectCreatedEvent = (
  objects: readonly { bucket: string; key: string; size: number; eTag: string; sequencer?: string }[],
  context: { region: string; now: Date; eventName?: string },
): S3Event => ({
  Records: objects.map((object, index) => ({
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: context.region,
    eventTime: context.now.toISOString(),
    eventName: context.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:LOCAL' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'LOCAL', 'x-amz-id-2': 'LOCAL' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'medstream-local',
      bucket: {
        name: object.bucket,
        ownerIdentity: { principalId: 'LOCAL' },
        arn: `arn:aws:s3:::${object.bucket}`,
      },
      object: {
        key: encodeS3Key(object.key),
        size: object.size,
        eTag: object.eTag.replace(/"/g, ''),
        sequencer: object.sequencer ?? (context.now.getTime() * 1000 + index).toString(16).toUpperCase(),
      },
    },
  })),
});
