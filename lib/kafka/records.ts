import type { AvroRegistry, AvroSchema } from '../avro/registry';
import { describeError, isRetryable, ParseError } from '../errors';
import { correlationIdOf, logger } from '../logger';
import {
  headersOf,
  type KafkaBatchResponse,
  type KafkaEvent,
  type KafkaEventRecord,
  recordsOf,
} from './event';

/** A Kafka record from an ESM event, parsed into domain values where it enters. */
export type DecodedRecord = {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  correlationId: string;
  headers: Record<string, string>;
  key: unknown | null;
  /** null for a tombstone. */
  value: unknown | null;
  keySchema?: AvroSchema;
  valueSchema?: AvroSchema;
  source: KafkaEventRecord;
};

export type RecordFailure = { record: KafkaEventRecord; error: unknown };

/** Turns the bytes of a key or value into a domain value (and its writer schema, if any). */
export type Decoder = (bytes: Buffer) => Promise<{ value: unknown; schema?: AvroSchema }>;

/** Confluent wire-format Avro through the registry. */
export const avroDecoder =
  (registry: Pick<AvroRegistry, 'decode'>): Decoder =>
  async (bytes) => {
    const { value, schema } = await registry.decode(bytes);
    return { value, schema };
  };

/** UTF-8 JSON; a parse failure is a poison record (non-retryable). */
export const jsonDecoder: Decoder = async (bytes) => {
  try {
    return { value: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch (cause) {
    throw new ParseError('value is not valid JSON', { cause });
  }
};

/** UTF-8 text, as is. */
export const textDecoder: Decoder = async (bytes) => ({ value: bytes.toString('utf8') });

/** The bytes, as is. */
export const rawDecoder: Decoder = async (bytes) => ({ value: bytes });

export type Decoders = { key?: Decoder; value: Decoder };

const decodeField = async (
  field: string | null | undefined | object,
  decoder: Decoder,
): Promise<{ value: unknown; schema?: AvroSchema }> => {
  if (field === null || field === undefined) return { value: null };
  // With EventRecordFormat JSON the ESM has already decoded the value through its schema registry.
  if (typeof field === 'object') return { value: field };
  return decoder(Buffer.from(field, 'base64'));
};

/** Decodes every record of an event; records that cannot be decoded are returned as failures. */
export const decodeKafkaEvent = async (
  event: KafkaEvent,
  decoders: Decoders,
): Promise<{ records: DecodedRecord[]; failures: RecordFailure[] }> => {
  const records: DecodedRecord[] = [];
  const failures: RecordFailure[] = [];
  for (const record of recordsOf(event)) {
    try {
      const key = await decodeField(record.key, decoders.key ?? textDecoder);
      const value = await decodeField(record.value, decoders.value);
      records.push({
        topic: record.topic,
        partition: record.partition,
        offset: Number(record.offset),
        timestamp: record.timestamp,
        correlationId: correlationIdOf(record),
        headers: headersOf(record),
        key: key.value,
        value: value.value,
        ...(key.schema === undefined ? {} : { keySchema: key.schema }),
        ...(value.schema === undefined ? {} : { valueSchema: value.schema }),
        source: record,
      });
    } catch (error) {
      failures.push({ record, error });
    }
  }
  return { records, failures };
};

/** Where records that can never be processed go, with the reason. */
export type DeadLetterSink = {
  deadLetter(
    letters: { record: KafkaEventRecord; reason: { type: string; message: string }; functionName: string }[],
  ): Promise<void>;
};

/**
 * The one error policy for Kafka-triggered functions. Non-retryable failures are dead-lettered
 * with their reason and the batch goes on; retryable ones are reported as batch item failures, so
 * the event source mapping retries from the first failed offset of that partition (Lambda ignores
 * this unless the mapping has FunctionResponseTypes ReportBatchItemFailures). If the DLQ itself
 * cannot be written, this throws: the batch fails rather than dropping a record.
 */
export const settleBatch = async (
  failures: RecordFailure[],
  options: { deadLetters: DeadLetterSink; functionName: string },
): Promise<KafkaBatchResponse> => {
  const poison = failures.filter((failure) => !isRetryable(failure.error));
  const retry = failures.filter((failure) => isRetryable(failure.error));
  for (const failure of failures) {
    logger.warn('record failed', {
      correlationId: correlationIdOf(failure.record),
      retryable: isRetryable(failure.error),
      error: describeError(failure.error),
    });
  }
  if (poison.length > 0) {
    await options.deadLetters.deadLetter(
      poison.map((failure) => ({
        record: failure.record,
        reason: describeError(failure.error),
        functionName: options.functionName,
      })),
    );
  }
  return {
    batchItemFailures: retry.map(({ record }) => ({
      itemIdentifier: { partition: `${record.topic}-${record.partition}`, offset: Number(record.offset) },
    })),
  };
};
