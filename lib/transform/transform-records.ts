import { MappingError, type MappingRegistry, transformRows } from '../fhir';
import type { MessageProducer, OutgoingMessage } from '../kafka/client';
import type { DecodedRecord, RecordFailure } from '../kafka/records';
import { PIPELINE_HEADERS, parseRawResourceRows, type TopicNames } from './messages';

/** The messages one batch of raw records makes, by topic, and the records each came from. */
export type TransformOutput = {
  byTopic: Map<string, OutgoingMessage[]>;
  /** Records that made a message: retried if publishing fails. */
  transformed: DecodedRecord[];
  /** Records that can never make one (non-retryable: dead-lettered with the reason). */
  failures: RecordFailure[];
  /** Tombstones: nothing to transform. */
  skipped: number;
};

/**
 * Raw resource rows → FHIR R4 resources, one per record, for `fhir.<type>` keyed by resource id.
 * The batch and mapping headers are carried over. Pure: `now` is meta.lastUpdated. A bad record
 * (not resource rows, unknown mapping, a value a rule rejects) is a failure with a value-free
 * reason; the rest of the batch goes on.
 */
export const transformRecords = (
  records: readonly DecodedRecord[],
  registry: MappingRegistry,
  topics: TopicNames,
  now: Date,
): TransformOutput => {
  const output: TransformOutput = { byTopic: new Map(), transformed: [], failures: [], skipped: 0 };
  for (const record of records) {
    if (record.value === null) {
      output.skipped += 1;
      continue;
    }
    try {
      const raw = parseRawResourceRows(record.value);
      const compiled = registry.get(raw.mapping);
      if (compiled === undefined)
        throw new MappingError(`raw record names an unknown mapping ${raw.mapping}`);
      const resource = transformRows(compiled, raw.rows, now);
      const topic = topics.fhir(resource.resourceType);
      const headers: Record<string, string> = { [PIPELINE_HEADERS.mapping]: compiled.mapping.id };
      const batchId = record.headers[PIPELINE_HEADERS.batchId];
      if (batchId !== undefined) {
        headers[PIPELINE_HEADERS.batchId] = batchId;
        headers[PIPELINE_HEADERS.rawRecord] = `${record.topic}/${record.partition}/${record.offset}`;
      }
      let messages = output.byTopic.get(topic);
      if (messages === undefined) {
        messages = [];
        output.byTopic.set(topic, messages);
      }
      messages.push({ key: resource.id, value: JSON.stringify(resource), headers });
      output.transformed.push(record);
    } catch (error) {
      output.failures.push({ record: record.source, error });
    }
  }
  return output;
};

/** Publishes a batch's messages, one send per topic, all topics at once. */
export const publishByTopic = async (
  producer: Pick<MessageProducer, 'send'>,
  byTopic: ReadonlyMap<string, OutgoingMessage[]>,
): Promise<void> => {
  await Promise.all([...byTopic].map(([topic, messages]) => producer.send(topic, messages)));
};
