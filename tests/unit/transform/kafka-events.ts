import type { KafkaEvent, KafkaEventRecord } from '../../../lib/kafka/event';
import type { DeadLetterSink } from '../../../lib/kafka/records';

/** A record as the ESM delivers it: base64 key and value, headers as byte arrays. */
export type RecordSpec = {
  topic: string;
  partition?: number;
  offset: number;
  key?: string;
  value: unknown | null;
  headers?: Record<string, string>;
};

const toEventRecord = (spec: RecordSpec): KafkaEventRecord => ({
  topic: spec.topic,
  partition: spec.partition ?? 0,
  offset: spec.offset,
  timestamp: 1_795_000_000_000,
  timestampType: 'CREATE_TIME',
  ...(spec.key === undefined ? {} : { key: Buffer.from(spec.key).toString('base64') }),
  value:
    spec.value === null
      ? null
      : Buffer.from(typeof spec.value === 'string' ? spec.value : JSON.stringify(spec.value)).toString(
          'base64',
        ),
  headers: Object.entries(spec.headers ?? {}).map(([name, value]) => ({ [name]: [...Buffer.from(value)] })),
});

/** A self-managed Kafka event with the records grouped under `topic-partition`. */
export const kafkaEventOf = (specs: readonly RecordSpec[]): KafkaEvent => {
  const records: Record<string, KafkaEventRecord[]> = {};
  for (const spec of specs) {
    const key = `${spec.topic}-${spec.partition ?? 0}`;
    records[key] = [...(records[key] ?? []), toEventRecord(spec)];
  }
  return { eventSource: 'SelfManagedKafka', bootstrapServers: '127.0.0.1:9092', records };
};

/** A DLQ that keeps its letters. */
export const collectingDeadLetters = () => {
  const letters: Parameters<DeadLetterSink['deadLetter']>[0] = [];
  const sink: DeadLetterSink = {
    deadLetter: async (batch) => {
      letters.push(...batch);
    },
  };
  return { letters, sink };
};

/** A producer that keeps what it was asked to send, or fails with `failWith`. */
export const recordingProducer = (failWith?: Error) => {
  const sent: { topic: string; messages: { key: unknown; value: unknown; headers?: unknown }[] }[] = [];
  return {
    sent,
    producer: {
      send: async (topic: string, messages: { key: unknown; value: unknown; headers?: unknown }[]) => {
        if (failWith !== undefined) throw failWith;
        sent.push({ topic, messages });
      },
    },
  };
};
