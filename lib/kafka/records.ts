import type { AvroRegistry, AvroSchema, EncodedAvro } from '../avro/registry';
import { describeError, isRetryable, ParseError } from '../errors';
import { correlationIdOf, logger } from '../logger';
import { headersOf, type KafkaBatchResponse, type KafkaEvent, type KafkaEventRecord } from './event';

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

/** A decoded key or value, and its writer schema when it has one. */
export type Decoded = { value: unknown; schema?: AvroSchema };

const NULL_FIELD: Decoded = { value: null };

/**
 * Turns the bytes of a key or value into a domain value (and its writer schema, if any). A decoder
 * may answer synchronously: a batch of records then decodes without a microtask per record.
 */
export type Decoder = (bytes: Buffer) => Decoded | Promise<Decoded>;

/** Confluent wire-format Avro through the registry (synchronous once the schema id is known). */
export const avroDecoder =
  (registry: Pick<AvroRegistry, 'decode'>): Decoder =>
  (bytes) =>
    registry.decode(bytes);

const toDecodedEncoded = (encoded: EncodedAvro): Decoded => ({ value: encoded, schema: encoded.schema });

/**
 * Confluent wire-format Avro left encoded (an EncodedAvro as the value): the writer schema is
 * resolved through the registry, the body is decoded only by whoever needs the JavaScript value.
 */
export const encodedAvroDecoder =
  (registry: Pick<AvroRegistry, 'resolve'>): Decoder =>
  (bytes) => {
    const resolved = registry.resolve(bytes);
    return resolved instanceof Promise ? resolved.then(toDecodedEncoded) : toDecodedEncoded(resolved);
  };

/** UTF-8 JSON; a parse failure is a poison record (non-retryable). */
export const jsonDecoder: Decoder = (bytes) => {
  try {
    return { value: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch (cause) {
    throw new ParseError('value is not valid JSON', { cause });
  }
};

/** UTF-8 text, as is. */
export const textDecoder: Decoder = (bytes) => ({ value: bytes.toString('utf8') });

/** The bytes, as is. */
export const rawDecoder: Decoder = (bytes) => ({ value: bytes });

/** Leaves a key or value unread (null) without even decoding its base64. */
export const unreadDecoder: Decoder = () => NULL_FIELD;

export type Decoders = { key?: Decoder; value: Decoder };

const decodeField = (
  field: string | null | undefined | object,
  decoder: Decoder,
): Decoded | Promise<Decoded> => {
  if (field === null || field === undefined || decoder === unreadDecoder) return NULL_FIELD;
  // With EventRecordFormat JSON the ESM has already decoded the value through its schema registry.
  if (typeof field === 'object') return { value: field };
  return decoder(Buffer.from(field, 'base64'));
};

/** A decoded record; its correlation id and headers are computed when first read (sinks never do). */
class DecodedKafkaRecord implements DecodedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: unknown | null;
  readonly value: unknown | null;
  readonly keySchema?: AvroSchema;
  readonly valueSchema?: AvroSchema;
  private decodedHeaders: Record<string, string> | undefined;

  constructor(
    readonly source: KafkaEventRecord,
    key: Decoded,
    value: Decoded,
  ) {
    this.topic = source.topic;
    this.partition = source.partition;
    this.offset = Number(source.offset);
    this.timestamp = source.timestamp;
    this.key = key.value;
    this.value = value.value;
    if (key.schema !== undefined) this.keySchema = key.schema;
    if (value.schema !== undefined) this.valueSchema = value.schema;
  }

  get correlationId(): string {
    return correlationIdOf(this.source);
  }

  get headers(): Record<string, string> {
    this.decodedHeaders ??= headersOf(this.source);
    return this.decodedHeaders;
  }
}

/**
 * Decodes every record of an event; records that cannot be decoded are returned as failures.
 * Decoders that answer synchronously are not awaited (a sink decodes 10,000 records per batch).
 */
export const decodeKafkaEvent = async (
  event: KafkaEvent,
  decoders: Decoders,
): Promise<{ records: DecodedRecord[]; failures: RecordFailure[] }> => {
  const records: DecodedRecord[] = [];
  const failures: RecordFailure[] = [];
  const keyDecoder = decoders.key ?? textDecoder;
  for (const group of Object.values(event.records)) {
    for (const record of group) {
      try {
        let key = decodeField(record.key, keyDecoder);
        if (key instanceof Promise) key = await key;
        let value = decodeField(record.value, decoders.value);
        if (value instanceof Promise) value = await value;
        records.push(new DecodedKafkaRecord(record, key, value));
      } catch (error) {
        failures.push({ record, error });
      }
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

const logByCause = (message: string, failures: readonly RecordFailure[], retryable: boolean): void => {
  const causes = new Map<string, { error: ReturnType<typeof describeError>; records: KafkaEventRecord[] }>();
  for (const failure of failures) {
    const error = describeError(failure.error);
    const key = `${error.type}: ${error.message}`;
    const cause = causes.get(key) ?? { error, records: [] };
    cause.records.push(failure.record);
    causes.set(key, cause);
  }
  for (const { error, records } of causes.values()) {
    const first = records[0] as KafkaEventRecord;
    logger.warn(message, {
      records: records.length,
      first: correlationIdOf(first),
      ...(records.length > 1
        ? { last: correlationIdOf(records[records.length - 1] as KafkaEventRecord) }
        : {}),
      retryable,
      error,
    });
  }
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
  // Failures mostly share one cause (the database is down, or a table the configuration does not
  // fit: every record of the batch): one line per cause, not a thousand. Each dead letter carries
  // its own reason (`medstream dlq show`).
  logByCause('records failed, to be retried', retry, true);
  if (poison.length > 0) {
    await options.deadLetters.deadLetter(
      poison.map((failure) => ({
        record: failure.record,
        reason: describeError(failure.error),
        functionName: options.functionName,
      })),
    );
    logByCause('records dead-lettered', poison, false);
  }
  return {
    batchItemFailures: retry.map(({ record }) => ({
      itemIdentifier: { partition: `${record.topic}-${record.partition}`, offset: Number(record.offset) },
    })),
  };
};
