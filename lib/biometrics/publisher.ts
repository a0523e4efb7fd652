import type { AvroRegistry } from '../avro/registry';
import {
  BIOMETRICS_KEY_SCHEMA,
  BIOMETRICS_VALUE_SCHEMA,
  subjectsOf,
  toBiometricsKey,
  toBiometricsValue,
  topicOfWard,
} from './schema';
import type { Reading } from './simulator';

/** A message as the producer port takes it (key and value already encoded). */
export type KafkaMessage = {
  key: Buffer | string | null;
  value: Buffer | null;
  headers?: Record<string, string>;
};

/** The only thing the publisher needs of a producer. */
export type MessageSender = { send(topic: string, messages: KafkaMessage[]): Promise<void> };

/** Publishes readings to their ward topics. */
export type ReadingPublisher = {
  /** Encodes readings as Confluent-wire-format Avro and sends them, one batch per ward topic. */
  publish(readings: readonly Reading[]): Promise<{ topic: string; count: number }[]>;
};

/**
 * Registers the key and value schemas once per topic (TopicNameStrategy, BACKWARD) and reuses the
 * ids, so a warm function costs one encode per reading and one send per topic.
 */
export const createReadingPublisher = (deps: {
  registry: Pick<AvroRegistry, 'register' | 'encode'>;
  sender: MessageSender;
}): ReadingPublisher => {
  const schemaIds = new Map<string, Promise<{ key: number; value: number }>>();

  const idsFor = (topic: string) => {
    let ids = schemaIds.get(topic);
    if (ids === undefined) {
      const subjects = subjectsOf(topic);
      ids = Promise.all([
        deps.registry.register(subjects.key, BIOMETRICS_KEY_SCHEMA),
        deps.registry.register(subjects.value, BIOMETRICS_VALUE_SCHEMA),
      ]).then(([key, value]) => ({ key, value }));
      // A failed registration is retried on the next tick rather than cached.
      ids.catch(() => schemaIds.delete(topic));
      schemaIds.set(topic, ids);
    }
    return ids;
  };

  return {
    async publish(readings) {
      const byTopic = new Map<string, Reading[]>();
      for (const reading of readings) {
        const topic = topicOfWard(reading.ward);
        const list = byTopic.get(topic) ?? [];
        list.push(reading);
        byTopic.set(topic, list);
      }
      const sent: { topic: string; count: number }[] = [];
      for (const [topic, list] of byTopic) {
        const ids = await idsFor(topic);
        const messages = await Promise.all(
          list.map(async (reading) => ({
            key: await deps.registry.encode(ids.key, toBiometricsKey(reading)),
            value: await deps.registry.encode(ids.value, toBiometricsValue(reading)),
          })),
        );
        await deps.sender.send(topic, messages);
        sent.push({ topic, count: list.length });
      }
      return sent;
    },
  };
};
