import type { TriggerStats } from '../../../../plugins/serverless-offline-kafka/src/engine';
import {
  collectEventSources,
  createPlugin,
  type ServerlessLike,
  summarize,
  summaryLines,
  tuningOf,
} from '../../../../plugins/serverless-offline-kafka/src/plugin';

const serverless = (
  functions: Record<string, Record<string, unknown>>,
  custom: Record<string, unknown> = {},
): ServerlessLike => ({
  service: {
    service: 'medstream',
    provider: { stage: 'dev', region: 'eu-west-1', timeout: 10 },
    custom,
    resources: {
      extensions: { SinkEventSourceMappingKafkaBiometrics: { Properties: { MaximumRetryAttempts: 2 } } },
    },
    getAllFunctions: () => Object.keys(functions),
    getFunction: (key) => functions[key] ?? {},
  },
});

describe('serverless plugin', () => {
  const functions = {
    simulate: { events: [{ schedule: 'rate(1 minute)' }] },
    sink: {
      events: [
        { kafka: { topic: 'biometrics', bootstrapServers: ['b-1:9092'], accessConfigurations: {} } },
        { msk: { arn: 'arn:aws:kafka:eu-west-1:1:cluster/medstream/u', topic: 'alerts' } },
      ],
    },
  };

  it('collects every kafka and msk event with its extension settings', () => {
    const sources = collectEventSources(serverless(functions), { stage: 'local' }, {});
    expect(sources.map((source) => [source.functionKey, source.kind, source.topic])).toEqual([
      ['sink', 'kafka', 'biometrics'],
      ['sink', 'msk', 'alerts'],
    ]);
    expect(sources[0]).toMatchObject({
      maximumRetryAttempts: 2,
      consumerGroupId: 'medstream-medstream-local-sink-biometrics',
      timeoutMs: 10_000,
    });
    // One consumer group per mapping, as Lambda gives each its own.
    expect(sources[1]?.consumerGroupId).toBe('medstream-medstream-local-sink-medstream-alerts');
  });

  it('refuses two mappings in one consumer group, as AWS does', () => {
    const shared = {
      transform: {
        events: [
          { kafka: { topic: 'raw.a', consumerGroupId: 'transform' } },
          { kafka: { topic: 'raw.b', consumerGroupId: 'transform' } },
        ],
      },
    };
    expect(() => collectEventSources(serverless(shared), {}, {})).toThrow(
      'function transform (topic raw.a) and function transform (topic raw.b) share consumer group "transform": a consumer group ID must be unique among all Kafka event sources',
    );
    // Without consumerGroupId each gets its own.
    const defaults = {
      transform: { events: [{ kafka: { topic: 'raw.a' } }, { kafka: { topic: 'raw.b' } }] },
    };
    expect(collectEventSources(serverless(defaults), {}, {}).map((source) => source.consumerGroupId)).toEqual(
      ['medstream-medstream-dev-transform-raw.a', 'medstream-medstream-dev-transform-raw.b'],
    );
  });

  it('uses KAFKA_BROKERS before custom brokers before the declared servers', () => {
    const custom = { 'serverless-offline-kafka': { brokers: 'custom:9092' } };
    const fromEnv = collectEventSources(
      serverless(functions, custom),
      {},
      { KAFKA_BROKERS: 'env-1:9092,env-2:9092' },
    );
    expect(fromEnv[0]?.brokers).toEqual(['env-1:9092', 'env-2:9092']);
    expect(collectEventSources(serverless(functions, custom), {}, {})[0]?.brokers).toEqual(['custom:9092']);
    // The event still reports the declared servers, as the deployed ESM would.
    expect(fromEnv[0]?.bootstrapServers).toBe('b-1:9092');
  });

  it('points the schema registry at SCHEMA_REGISTRY_URL locally', () => {
    const withRegistry = {
      sink: {
        events: [
          {
            kafka: { topic: 'biometrics', bootstrapServers: ['b:9092'] },
          },
        ],
      },
    };
    const base = serverless(withRegistry);
    base.service.resources = {
      extensions: {
        SinkEventSourceMappingKafkaBiometrics: {
          Properties: {
            SelfManagedKafkaEventSourceConfig: {
              SchemaRegistryConfig: {
                SchemaRegistryURI: 'https://prod-registry',
                EventRecordFormat: 'JSON',
                SchemaValidationConfigs: [{ Attribute: 'VALUE' }],
              },
            },
          },
        },
      },
    };
    const [source] = collectEventSources(
      base,
      {},
      { SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7' },
    );
    expect(source?.schemaRegistry?.uri).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
  });

  it('reads the local tuning from custom.serverless-offline-kafka, ignoring values of the wrong type', () => {
    expect(
      tuningOf({
        retryBackoffBaseMs: 50,
        maxBytesPerPartition: 4096,
        fetchAhead: false,
        partitionsConsumedConcurrently: '8' as unknown as number,
        sessionTimeoutMs: 12_000,
        brokers: 'b-1:9092',
      }),
    ).toEqual({
      retryBackoffBaseMs: 50,
      maxBytesPerPartition: 4096,
      fetchAhead: false,
      sessionTimeoutMs: 12_000,
    });
    expect(tuningOf({ fetchAhead: 'no' as unknown as boolean })).toEqual({});
  });

  const sinkStats: TriggerStats = {
    functionKey: 'sink',
    topic: 'biometrics',
    groupId: 'g',
    state: 'running',
    delivered: 10,
    invocations: 2,
    failedInvocations: 1,
    filtered: 3,
    sentToDestination: 0,
    discarded: 0,
    lag: 5,
    fetchingSince: '2026-11-23T10:00:00.000Z',
    fetched: 12,
  };

  it('prints the summary line only when it changed', () => {
    const next = summaryLines();
    expect(next([sinkStats])).toBe(`kafka trigger: ${summarize([sinkStats])}`);
    expect(next([{ ...sinkStats }])).toBeUndefined();
    expect(next([{ ...sinkStats, lag: 0 }])).toContain('lag=0');
    expect(next([{ ...sinkStats, lag: 0 }])).toBeUndefined();
  });

  it('summarizes delivery counters and lag on one line', () => {
    expect(summarize([sinkStats])).toBe(
      'sink<-biometrics [running] delivered=10 invocations=2 failed=1 filtered=3 on-failure=0 dropped=0 lag=5',
    );
  });

  it('counts the mappings that have had nothing to do instead of listing them', () => {
    const quiet = (topic: string, state: TriggerStats['state']): TriggerStats => ({
      ...sinkStats,
      topic,
      state,
      delivered: 0,
      invocations: 0,
      failedInvocations: 0,
      filtered: 0,
      lag: 0,
    });
    const line = summarize([
      quiet('a', 'running'),
      sinkStats,
      quiet('b', 'waiting-for-topic'),
      quiet('c', 'running'),
    ]);
    expect(line).toBe(
      `${summarize([sinkStats])} | and 3 idle (nothing delivered, no lag; 1 waiting for their topic)`,
    );
    expect(summarize([quiet('a', 'running')])).toBe('1 idle (nothing delivered, no lag)');
    // Lag, a stop or a crash is news even before the first delivery.
    expect(summarize([{ ...quiet('a', 'running'), lag: 3 }])).toContain('sink<-a [running]');
    expect(summarize([quiet('a', 'crashed')])).toContain('sink<-a [crashed]');
  });

  it('hooks serverless-offline start and end, and the rebuild of the handlers', () => {
    const Plugin = createPlugin(async () => {
      throw new Error('not loaded in a unit test');
    });
    const plugin = new Plugin(serverless(functions), {}, {});
    expect(Object.keys(plugin.hooks).sort()).toEqual([
      'before:offline:start',
      'offline:functionsUpdated:cleanup',
      'offline:start:end',
      'offline:start:init',
    ]);
  });
});
