import { ConfigError } from '../../../../lib/errors';
import {
  kafkaLogicalId,
  mskLogicalId,
  needsProvisionedMode,
  type ParseInput,
  parseEventSource,
} from '../../../../plugins/serverless-offline-kafka/src/config';

const input = (overrides: Partial<ParseInput> = {}): ParseInput => ({
  functionKey: 'sink-postgres',
  functionDefinition: { timeout: 30 },
  kind: 'kafka',
  event: { topic: 'biometrics_default', bootstrapServers: ['broker-1:9092'], accessConfigurations: {} },
  extensions: undefined,
  service: 'medstream',
  stage: 'local',
  region: 'eu-west-1',
  localBrokers: ['127.0.0.1:9092'],
  ...overrides,
});

describe('event source configuration', () => {
  it('names the ESM logical ids as osls does', () => {
    expect(kafkaLogicalId('sink-postgres', 'biometrics_default')).toBe(
      'SinkDashpostgresEventSourceMappingKafkaBiometricsdefault',
    );
    expect(kafkaLogicalId('sink_pg', 'a.b-c')).toBe('SinkUnderscorepgEventSourceMappingKafkaAbc');
    expect(mskLogicalId('sink', 'arn:aws:kafka:eu-west-1:123456789012:cluster/my-cluster/abc', 'topic')).toBe(
      'SinkEventSourceMappingMSKMyclusterTopic',
    );
    expect(mskLogicalId('sink', { Ref: 'Cluster' }, 'topic')).toBe('SinkEventSourceMappingMSKClusterTopic');
  });

  it('applies Lambda defaults and one consumer group per event source mapping', () => {
    const config = parseEventSource(input());
    expect(config).toMatchObject({
      topic: 'biometrics_default',
      brokers: ['127.0.0.1:9092'],
      bootstrapServers: 'broker-1:9092',
      batchSize: 100,
      maximumBatchingWindowMs: 500,
      startingPosition: 'TRIM_HORIZON',
      consumerGroupId: 'medstream-medstream-local-sink-postgres-biometrics_default',
      enabled: true,
      maximumRetryAttempts: -1,
      maximumRecordAgeMs: null,
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: false,
      timeoutMs: 30_000,
      functionName: 'medstream-local-sink-postgres',
    });
  });

  it('reads the event options', () => {
    const config = parseEventSource(
      input({
        event: {
          topic: 't',
          bootstrapServers: ['b:9092'],
          batchSize: 500,
          maximumBatchingWindow: 2,
          startingPosition: 'AT_TIMESTAMP',
          startingPositionTimestamp: 1700000000,
          consumerGroupId: 'custom-group',
          enabled: false,
          filterPatterns: [{ value: { kind: ['spo2'] } }],
          onFailureDestination: 'kafka://t-dlq',
        },
      }),
    );
    expect(config).toMatchObject({
      batchSize: 500,
      maximumBatchingWindowMs: 2000,
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestampMs: 1_700_000_000_000,
      consumerGroupId: 'custom-group',
      enabled: false,
      filterPatterns: [{ value: { kind: ['spo2'] } }],
      onFailureTopic: 't-dlq',
    });
  });

  it('reads error handling from resources.extensions of the generated EventSourceMapping', () => {
    const config = parseEventSource(
      input({
        extensions: {
          SinkDashpostgresEventSourceMappingKafkaBiometricsdefault: {
            Properties: {
              MaximumRetryAttempts: 3,
              MaximumRecordAgeInSeconds: 3600,
              BisectBatchOnFunctionError: true,
              FunctionResponseTypes: ['ReportBatchItemFailures'],
              DestinationConfig: { OnFailure: { Destination: 'kafka://biometrics-dlq' } },
              ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 2 },
              SelfManagedKafkaEventSourceConfig: {
                ConsumerGroupId: 'from-extension',
                SchemaRegistryConfig: {
                  SchemaRegistryURI: 'https://registry.example.com',
                  EventRecordFormat: 'JSON',
                  SchemaValidationConfigs: [{ Attribute: 'VALUE' }],
                },
              },
              FilterCriteria: { Filters: [{ Pattern: '{"value":{"kind":["spo2"]}}' }] },
            },
          },
        },
      }),
    );
    expect(config).toMatchObject({
      maximumRetryAttempts: 3,
      maximumRecordAgeMs: 3_600_000,
      bisectBatchOnFunctionError: true,
      reportBatchItemFailures: true,
      onFailureTopic: 'biometrics-dlq',
      provisionedPollers: { minimum: 1, maximum: 2 },
      consumerGroupId: 'from-extension',
      schemaRegistry: {
        uri: 'https://registry.example.com',
        eventRecordFormat: 'JSON',
        validateKey: false,
        validateValue: true,
      },
      filterPatterns: [{ value: { kind: ['spo2'] } }],
    });
    expect(needsProvisionedMode(config)).toBe(true);
  });

  it('reads an msk event with its cluster ARN and the managed-Kafka extension', () => {
    const arn = 'arn:aws:kafka:eu-west-1:123456789012:cluster/medstream/abc';
    const config = parseEventSource(
      input({
        kind: 'msk',
        event: { arn, topic: 'biometrics_default' },
        extensions: {
          SinkDashpostgresEventSourceMappingMSKMedstreamBiometricsdefault: {
            Properties: {
              AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'msk-group' },
              MaximumRetryAttempts: 0,
            },
          },
        },
      }),
    );
    expect(config).toMatchObject({
      kind: 'msk',
      eventSourceArn: arn,
      consumerGroupId: 'msk-group',
      maximumRetryAttempts: 0,
    });
  });

  it('names the default group of an msk event after its cluster too', () => {
    const arn = 'arn:aws:kafka:eu-west-1:123456789012:cluster/medstream/abc';
    expect(parseEventSource(input({ kind: 'msk', event: { arn, topic: 'alerts' } })).consumerGroupId).toBe(
      'medstream-medstream-local-sink-postgres-medstream-alerts',
    );
  });

  it('caps infinite retries at 10 when an on-failure destination is set, as AWS does', () => {
    expect(
      parseEventSource(input({ event: { topic: 't', onFailureDestination: 'kafka://d' } }))
        .maximumRetryAttempts,
    ).toBe(10);
    expect(parseEventSource(input({ event: { topic: 't' } })).maximumRetryAttempts).toBe(-1);
  });

  it('rejects values outside the ranges AWS accepts', () => {
    const bad =
      (event: Record<string, unknown>, extension: Record<string, unknown> = {}) =>
      () =>
        parseEventSource(
          input({
            event: { topic: 't', ...event },
            extensions: { SinkDashpostgresEventSourceMappingKafkaT: { Properties: extension } },
          }),
        );
    expect(bad({ batchSize: 0 })).toThrow(ConfigError);
    expect(bad({ batchSize: 10_001 })).toThrow(/batchSize/);
    expect(bad({ maximumBatchingWindow: 301 })).toThrow(/maximumBatchingWindow/);
    expect(bad({ startingPosition: 'AT_TIMESTAMP' })).toThrow(/startingPositionTimestamp/);
    expect(bad({}, { MaximumRetryAttempts: 10_001 })).toThrow(/MaximumRetryAttempts/);
    expect(bad({}, { MaximumRecordAgeInSeconds: 59 })).toThrow(/MaximumRecordAgeInSeconds/);
    expect(bad({ onFailureDestination: 'arn:aws:sqs:eu-west-1:1:q' })).toThrow(/kafka:\/\//);
    expect(bad({ onFailureDestination: 'kafka://t' })).toThrow(/differ/);
    expect(bad({ filterPatterns: [{ value: { a: [{ nope: 1 }] } }] })).toThrow(/unsupported operator/);
  });

  it('falls back to the declared bootstrap servers, then to the local broker', () => {
    expect(parseEventSource(input({ localBrokers: [] })).brokers).toEqual(['broker-1:9092']);
    expect(
      parseEventSource(input({ localBrokers: [], kind: 'msk', event: { arn: 'arn:x/c/y', topic: 't' } }))
        .brokers,
    ).toEqual(['127.0.0.1:9092']);
  });
});
