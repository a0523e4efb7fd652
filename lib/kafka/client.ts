import { type IHeaders, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { UnavailableError } from '../errors';
import { logger } from '../logger';
import type { KafkaEventRecord } from './event';
import { kafkajsLogCreator } from './logs';
import type { DeadLetterSink } from './records';

export type KafkaSettings = { brokers: string[]; clientId: string };

export type OutgoingMessage = {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: IHeaders;
};

/** The producer port: what publishing functions need of Kafka. */
export type MessageProducer = {
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
};

/** A kafkajs client whose own logs go through the structured logger. */
export const createKafka = (settings: KafkaSettings): Kafka =>
  new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator((severity, message, extra) => logger[severity](message, { extra })),
  });

/**
 * A long-lived producer, connected on first use and reused across invocations (Lambda keeps the
 * module scope warm). A failed send is retryable: the caller's batch fails and is delivered again.
 */
export const createProducer = (kafka: Kafka): MessageProducer => {
  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;

  const connected = (): Promise<Producer> => {
    connecting ??= (async () => {
      // The Java client's murmur2 partitioner, so keys land where other producers put them.
      const created = kafka.producer({
        allowAutoTopicCreation: true,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await created.connect();
      producer = created;
      return created;
    })().catch((cause) => {
      connecting = undefined;
      throw new UnavailableError('cannot connect to Kafka', { cause });
    });
    return connecting;
  };

  return {
    async send(topic, messages) {
      if (messages.length === 0) return;
      const ready = await connected();
      try {
        await ready.send({ topic, messages });
      } catch (cause) {
        throw new UnavailableError(`cannot publish to ${topic}`, { cause });
      }
    },
    async disconnect() {
      connecting = undefined;
      await producer?.disconnect();
      producer = undefined;
    },
  };
};

const headerBytes = (record: KafkaEventRecord): IHeaders => {
  const headers: IHeaders = {};
  for (const header of record.headers) {
    for (const [name, bytes] of Object.entries(header)) headers[name] = Buffer.from(bytes);
  }
  return headers;
};

const bytesOf = (field: string | object | null | undefined): Buffer | null => {
  if (field === null || field === undefined) return null;
  if (typeof field === 'object') return Buffer.from(JSON.stringify(field));
  return Buffer.from(field, 'base64');
};

/**
 * Publishes dead letters in Kafka Connect's DLQ convention: the original key, value and headers
 * unchanged (so a record can be replayed), the reason and origin in `medstream.dlq.*` headers.
 */
export const createDeadLetterPublisher = (producer: MessageProducer, topic: string): DeadLetterSink => ({
  async deadLetter(letters) {
    await producer.send(
      topic,
      letters.map(({ record, reason, functionName }) => ({
        key: bytesOf(record.key),
        value: bytesOf(record.value),
        headers: {
          ...headerBytes(record),
          'medstream.dlq.function': functionName,
          'medstream.dlq.reason.type': reason.type,
          'medstream.dlq.reason.message': reason.message,
          'medstream.dlq.source.topic': record.topic,
          'medstream.dlq.source.partition': String(record.partition),
          'medstream.dlq.source.offset': String(record.offset),
          'medstream.dlq.source.timestamp': String(record.timestamp),
        },
      })),
    );
  },
});
