import type { KafkaEvent, KafkaEventRecord } from '../../../lib/kafka/event';
import type { EventSourceConfig } from './config';
import { buildEvent } from './event';
import type { FailedRecords } from './processor';

/** The JSON document written to the on-failure topic for one failed record. */
export type FailureDocument = {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailedRecords['condition'];
    approximateInvokeCount: number;
  };
  responseContext: {
    statusCode: number;
    executedVersion: string;
    functionError: string;
    /** Local addition: the error's type and message (never its stack), for debugging. */
    errorType?: string;
    errorMessage?: string;
  };
  version: '1.0';
  timestamp: string;
  KafkaBatchInfo: {
    batchSize: number;
    startOffset: number;
    endOffset: number;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    topic: string;
    partition: number;
  };
  /** The failed record itself, in the exact shape the function receives. */
  payload: KafkaEvent;
};

export type FailureMessage = { key: Buffer | null; value: string; headers: Record<string, string> };

export type FailureContext = Pick<
  EventSourceConfig,
  'kind' | 'bootstrapServers' | 'eventSourceArn' | 'functionName'
> & {
  region: string;
};

/** The ARN a deployed function would have; the account is a placeholder locally. */
export const functionArnOf = (context: FailureContext): string =>
  `arn:aws:lambda:${context.region}:000000000000:function:${context.functionName}`;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Builds the on-failure messages: one per failed record, keyed by the record's original key (so it
 * lands with its siblings), whose value is the Lambda invocation record (requestContext,
 * responseContext, KafkaBatchInfo) with the actual record in `payload`, plus headers naming the
 * origin so a consumer can route without parsing.
 */
export const buildFailureMessages = (
  failed: FailedRecords,
  context: FailureContext,
  now: number,
  newRequestId: () => string,
): FailureMessage[] => {
  const requestId = newRequestId();
  return failed.records.map((record: KafkaEventRecord) => {
    const document: FailureDocument = {
      requestContext: {
        requestId,
        functionArn: functionArnOf(context),
        condition: failed.condition,
        approximateInvokeCount: failed.attempts,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        functionError: failed.condition === 'RetryAttemptsExhausted' ? 'Unhandled' : '',
        ...(failed.error ? { errorType: failed.error.type, errorMessage: failed.error.message } : {}),
      },
      version: '1.0',
      timestamp: iso(now),
      KafkaBatchInfo: {
        batchSize: 1,
        startOffset: record.offset,
        endOffset: record.offset,
        approximateArrivalOfFirstRecord: iso(record.timestamp),
        approximateArrivalOfLastRecord: iso(record.timestamp),
        topic: record.topic,
        partition: record.partition,
      },
      payload: buildEvent(context, [record]),
    };
    return {
      key: record.key === undefined ? null : Buffer.from(record.key, 'base64'),
      value: JSON.stringify(document),
      headers: {
        'lambda-esm-function-arn': functionArnOf(context),
        'lambda-esm-condition': failed.condition,
        'lambda-esm-source-topic': record.topic,
        'lambda-esm-source-partition': String(record.partition),
        'lambda-esm-source-offset': String(record.offset),
        'lambda-esm-attempts': String(failed.attempts),
      },
    };
  });
};

/**
 * A broker refuses a produce request whose record batch for a partition exceeds its
 * `max.message.bytes` (1 MB by default): the failure messages of a whole batch (a thousand records,
 * each carrying its event) are sent in requests of at most this many bytes.
 */
export const FAILURE_SEND_BYTES = 512 * 1024;

const sizeOf = (message: FailureMessage): number => {
  let size = Buffer.byteLength(message.value) + (message.key?.length ?? 0);
  for (const name in message.headers) size += name.length + Buffer.byteLength(message.headers[name] ?? '');
  return size;
};

/** Splits messages, in order, into sends of at most `maxBytes` each (a larger message goes alone). */
export const chunkBySize = (
  messages: FailureMessage[],
  maxBytes = FAILURE_SEND_BYTES,
): FailureMessage[][] => {
  const chunks: FailureMessage[][] = [];
  let chunk: FailureMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = sizeOf(message);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
};
