import { planTriggerTopics, shippedTriggerTopics } from '../../../lib/connectors/trigger-topics';
import { ConfigError } from '../../../lib/errors';
import { createTopicNames } from '../../../lib/transform/messages';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';

const registry = loadShippedMappings();

describe('trigger topics', () => {
  it('are the raw topic of every mapping and the fhir topic of every type they make, once each', () => {
    const topics = planTriggerTopics(registry, [], createTopicNames('t.'));
    expect(topics.transform).toEqual([...registry.keys()].map((id) => `t.raw.${id}`).sort());
    const types = new Set([...registry.values()].map((compiled) => compiled.mapping.resourceType));
    expect(topics.loadFhir).toEqual([...types].map((type) => `t.fhir.${type}`).sort());
    expect(topics.loadFhir.length).toBeLessThan(registry.size);
  });

  it('refuse a source connector publishing to a topic no transform reads', () => {
    const plan = () =>
      planTriggerTopics(registry, [
        { name: 'ok', topic: 'raw.mimic-patient' },
        { name: 'typo', topic: 'raw.mimic-patients' },
      ]);
    expect(plan).toThrow(ConfigError);
    expect(plan).toThrow(
      /^connector typo publishes to raw\.mimic-patients, which no mapping's transform reads/,
    );
  });

  it("of the shipped connectors: every source connector's topic is read", () => {
    expect(shippedTriggerTopics()).toEqual(planTriggerTopics(registry, []));
  });
});
