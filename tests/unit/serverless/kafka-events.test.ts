// serverless.yml's Kafka events against the shipped connectors: every mapping's raw topic is read by
// `transform` and every resource type's fhir topic by `load-fhir`, in every Kafka variant, and every
// source connector publishes to a topic `transform` reads. A mapping or source added without its
// event would publish records nothing ever reads (as the lab CSV by MRN did).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadShippedSourceConnectors } from '../../../lib/sources/shipped-connectors';
import { createTopicNames } from '../../../lib/transform/messages';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';

const ROOT = path.resolve(__dirname, '../../..');
type KafkaEvent = { kafka?: { topic: string }; msk?: { topic: string } };
const { kafkaEvents } = parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { merge: true })
  .custom as { kafkaEvents: Record<string, Record<string, KafkaEvent[]>> };

const topicsOf = (events: KafkaEvent[] | undefined): string[] =>
  (events ?? []).map((event) => (event.kafka ?? event.msk)?.topic ?? '').sort();

const registry = loadShippedMappings();
const topics = createTopicNames();
const rawTopics = [...registry.keys()].map((mapping) => topics.raw(mapping)).sort();
const fhirTopics = [
  ...new Set([...registry.values()].map((compiled) => topics.fhir(compiled.mapping.resourceType))),
].sort();

describe.each(Object.keys(kafkaEvents))("serverless.yml's %s Kafka events", (variant) => {
  const events = kafkaEvents[variant] ?? {};

  it('read the raw topic of every mapping (transform) and the fhir topic of every type (load-fhir)', () => {
    expect(topicsOf(events.transform)).toEqual(rawTopics);
    expect(topicsOf(events.loadFhir)).toEqual(fhirTopics);
  });

  it("read every source connector's topic", () => {
    const { jdbc, csv } = loadShippedSourceConnectors();
    for (const source of [...jdbc, ...csv]) expect(topicsOf(events.transform)).toContain(source.topic);
  });
});
