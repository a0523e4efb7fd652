import { ConfigError } from '../errors';
import type { MappingRegistry } from '../fhir';
import { resolveCsvSource } from '../sources/csv-ingest';
import { resolveIncrementalSource } from '../sources/incremental';
import { loadShippedSourceConnectors } from '../sources/shipped-connectors';
import { createTopicNames, type TopicNames } from '../transform/messages';
import { loadShippedMappings } from '../transform/shipped-mappings';

/** The topics the pipeline's Kafka-triggered functions read, one event source mapping each. */
export type TriggerTopics = { transform: string[]; loadFhir: string[] };

/**
 * `transform` reads the raw topic of every mapping, `load-fhir` the fhir topic of every resource
 * type the mappings make. A source connector publishing to another topic would feed records
 * nothing ever reads: refused, naming it.
 */
export const planTriggerTopics = (
  registry: MappingRegistry,
  sources: readonly { name: string; topic: string }[],
  topics: TopicNames = createTopicNames(),
): TriggerTopics => {
  const transform = [...registry.keys()].map((mapping) => topics.raw(mapping)).sort();
  const loadFhir = [
    ...new Set([...registry.values()].map((compiled) => topics.fhir(compiled.mapping.resourceType))),
  ].sort();
  for (const source of sources) {
    if (!transform.includes(source.topic)) {
      throw new ConfigError(
        `connector ${source.name} publishes to ${source.topic}, which no mapping's transform reads (${transform.join(', ')})`,
      );
    }
  }
  return { transform, loadFhir };
};

/**
 * The trigger topics of the shipped connectors (`connectors/mappings`, `connectors/sources`), each
 * file checked as its function checks it at cold start: serverless.yml's events are planned from
 * them, so a package or `npm start` with an invalid connector stops there, naming the file.
 */
export const shippedTriggerTopics = (): TriggerTopics => {
  const registry = loadShippedMappings();
  const { jdbc, csv } = loadShippedSourceConnectors();
  const sources = [
    ...jdbc.map((config) => resolveIncrementalSource(config, registry).config),
    ...csv.map((config) => resolveCsvSource(config, registry).config),
  ];
  return planTriggerTopics(registry, sources);
};
