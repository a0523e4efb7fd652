// serverless.yml's planned events, as scripts/serverless/events.js plans them from the stage's
// template: every mapping's raw topic is read by `transform` and every resource type's fhir topic
// by `load-fhir`, in every Kafka variant, and every source connector publishes to a topic
// `transform` reads. A mapping or source without its event would publish records nothing ever
// reads (as the lab CSV by MRN did when the events were listed by hand).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { checkShippedCsvDrops } from '../../../lib/connectors/drops';
import { shippedTriggerTopics } from '../../../lib/connectors/trigger-topics';
import { ConfigError } from '../../../lib/errors';
import { loadShippedSourceConnectors } from '../../../lib/sources/shipped-connectors';
import { createTopicNames } from '../../../lib/transform/messages';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';

type KafkaEvent = Record<string, { topic: string; [option: string]: unknown }>;
type Resolver = {
  resolveConfigurationProperty(property: string[]): Promise<unknown>;
  resolveVariable(variable: string): Promise<unknown>;
};
const eventsScript = require('../../../scripts/serverless/events.js') as Record<
  'sinkPostgres' | 'transform' | 'loadFhir',
  (resolver: Resolver, plan?: typeof shippedTriggerTopics) => Promise<KafkaEvent[]>
> & {
  csvSource(resolver: Resolver, check?: typeof checkShippedCsvDrops): Promise<unknown[]>;
};

const ROOT = path.resolve(__dirname, '../../..');
const configuration = parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { merge: true });
const { kafkaEvents } = configuration.custom as { kafkaEvents: Record<string, Record<string, KafkaEvent[]>> };

// `${param:x}` as the default stage resolves it (the only variables the tests read).
const withParams = (value: unknown): unknown => {
  if (typeof value === 'string') {
    return value.replace(/\$\{param:(\w+)\}/g, (_, name: string) =>
      String(configuration.params.default[name]),
    );
  }
  if (Array.isArray(value)) return value.map(withParams);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, withParams(inner)]));
  }
  return value;
};

// What osls hands a `${file(...)}` resolver, over serverless.yml as written, in one variant.
const resolverOf = (variant: string, wards = 'default'): Resolver => ({
  resolveVariable: async (variable) => {
    if (variable !== 'param:kafkaVariant') throw new Error(`unexpected variable ${variable}`);
    return variant;
  },
  resolveConfigurationProperty: async (property) => {
    if (property.join('.') === 'functions.simulate.environment.SIMULATOR_WARDS') return wards;
    return withParams(
      property.reduce<unknown>((value, key) => (value as Record<string, unknown>)?.[key], configuration),
    );
  },
});

const topicOf = (event: KafkaEvent): string => Object.values(event)[0]?.topic ?? '';
const topicsOf = (events: KafkaEvent[]): string[] => events.map(topicOf).sort();

const registry = loadShippedMappings();
const topics = createTopicNames();
const rawTopics = [...registry.keys()].map((mapping) => topics.raw(mapping)).sort();
const fhirTopics = [
  ...new Set([...registry.values()].map((compiled) => topics.fhir(compiled.mapping.resourceType))),
].sort();

describe.each(Object.keys(kafkaEvents))("serverless.yml's %s Kafka events", (variant) => {
  const resolver = resolverOf(variant);

  it('read the raw topic of every mapping (transform) and the fhir topic of every type (load-fhir)', async () => {
    expect(topicsOf(await eventsScript.transform(resolver, shippedTriggerTopics))).toEqual(rawTopics);
    expect(topicsOf(await eventsScript.loadFhir(resolver, shippedTriggerTopics))).toEqual(fhirTopics);
  });

  it("read every source connector's topic", async () => {
    const read = topicsOf(await eventsScript.transform(resolver, shippedTriggerTopics));
    const { jdbc, csv } = loadShippedSourceConnectors();
    for (const source of [...jdbc, ...csv]) expect(read).toContain(source.topic);
  });

  it("copy the stage's template, its topic aside, into every event", async () => {
    for (const name of ['transform', 'loadFhir', 'sinkPostgres'] as const) {
      const [template] = ((await resolver.resolveConfigurationProperty([
        'custom',
        'kafkaEvents',
        variant,
        name,
      ])) ?? []) as KafkaEvent[];
      const [kind, settings] = Object.entries(template ?? {})[0] ?? [];
      if (kind === undefined) throw new Error(`no ${name} template in ${variant}`);
      const { topic: _, ...options } = settings ?? {};
      for (const event of await eventsScript[name](resolver, shippedTriggerTopics)) {
        expect(Object.keys(event)).toEqual([kind]);
        expect(event[kind]).toEqual({ ...options, topic: expect.any(String) });
      }
    }
  });

  it('read biometrics_<ward> for every ward of the simulator (sinkPostgres)', async () => {
    const events = await eventsScript.sinkPostgres(resolverOf(variant, 'icu, cardio,icu'));
    expect(events.map(topicOf)).toEqual(['biometrics_icu', 'biometrics_cardio']);
    await expect(eventsScript.sinkPostgres(resolverOf(variant, 'icu,er-2'))).rejects.toThrow(
      /'er-2': wards are topic suffixes/,
    );
  });
});

describe('a connector its function would refuse', () => {
  it('stops serverless with the message naming it, not a stack', async () => {
    const refused = new ConfigError('connector x publishes to raw.y, which no mapping reads');
    const rejection = eventsScript.transform(resolverOf('local'), () => {
      throw refused;
    });
    await expect(rejection).rejects.toBe(refused);
    expect(refused.stack).toBe('ConfigError: connector x publishes to raw.y, which no mapping reads');
  });
});

describe("csvSource's S3 events", () => {
  it('are custom.csvSourceEvents, checked against every CSV connector', async () => {
    const resolver = resolverOf('local');
    const given = await resolver.resolveConfigurationProperty(['custom', 'csvSourceEvents']);
    const seen: unknown[] = [];
    const events = await eventsScript.csvSource(resolver, (drops) => {
      seen.push(...drops);
      checkShippedCsvDrops(drops);
    });
    expect(events).toEqual(given);
    expect(seen).toEqual([{ bucket: 'medstream-drops', prefix: 'incoming/', suffix: '.csv' }]);
  });
});
