/**
 * The event a Lambda Kafka event source mapping delivers (MSK: `aws:kafka`, self-managed:
 * `SelfManagedKafka`). Records are grouped under `topic-partition`; key and value are base64; each
 * header is a one-key object whose value is the header's bytes as an array of numbers.
 */
export type KafkaHeader = Record<string, number[]>;

export type KafkaEventRecord = {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME';
  /** Absent when the Kafka record has no key. */
  key?: string;
  /**
   * Base64 of the record's bytes. With a schema registry and EventRecordFormat JSON, the bytes are
   * the record decoded to JSON text (Powertools reads it so); with SOURCE, the payload without the
   * registry's header.
   */
  value: string | null;
  headers: KafkaHeader[];
  /** Present when the ESM validated the value (or key) against a schema registry. */
  valueSchemaMetadata?: { dataFormat: string; schemaId: string };
  keySchemaMetadata?: { dataFormat: string; schemaId: string };
};

export type KafkaEvent = {
  eventSource: 'aws:kafka' | 'SelfManagedKafka';
  eventSourceArn?: string;
  bootstrapServers?: string;
  records: Record<string, KafkaEventRecord[]>;
};

/** The partial-batch response a handler returns when ReportBatchItemFailures is enabled. */
export type KafkaBatchResponse = {
  batchItemFailures: { itemIdentifier: { partition: string; offset: number } }[];
};

/** The key of a record group: `topic-partition`. */
export const partitionKeyOf = (topic: string, partition: number): string => `${topic}-${partition}`;

/** All records of an event in delivery order (partition by partition, offsets ascending). */
export const recordsOf = (event: KafkaEvent): KafkaEventRecord[] => Object.values(event.records).flat();

/** Decodes a record's headers into a map of UTF-8 strings (the last value wins for a repeated key). */
export const headersOf = (record: KafkaEventRecord): Record<string, string> => {
  const headers: Record<string, string> = {};
  for (const header of record.headers) {
    for (const [name, bytes] of Object.entries(header)) headers[name] = Buffer.from(bytes).toString('utf8');
  }
  return headers;
};
