import { toRawMessage } from '../extract/extract-batch';
import type { RowGroup } from '../fhir/rows';
import type { MessageProducer } from '../kafka/client';

/** Publishes resources' rows to a raw topic, in the shape the transform parses. */
export type RawPublisher = {
  publish(topic: string, mapping: string, groups: readonly RowGroup[], batchId: string): Promise<void>;
};

/**
 * One record per resource, built by extract's own `toRawMessage` so the sources and
 * `POST /extract/{resource}` publish the same records: keyed by the primary key, the value every
 * row of that key, batch and mapping ids in headers.
 */
export const createRawPublisher = (producer: Pick<MessageProducer, 'send'>): RawPublisher => ({
  async publish(topic, mapping, groups, batchId) {
    await producer.send(
      topic,
      groups.map((group) => toRawMessage(mapping, batchId, group.key, group.rows)),
    );
  },
});
