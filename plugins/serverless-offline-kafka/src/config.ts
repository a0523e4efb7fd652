import { ConfigError } from '../../../lib/errors';
import { type FilterPattern, validateFilterPattern } from './filter';

export const StartingPositions = ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const;
export type StartingPosition = (typeof StartingPositions)[number];

export type SchemaRegistrySettings = {
  uri: string;
  /** JSON: the handler gets the decoded record as JSON; SOURCE: the original payload without the schema header. */
  eventRecordFormat: 'JSON' | 'SOURCE';
  validateKey: boolean;
  validateValue: boolean;
};

/** One Kafka event source mapping, resolved from a `kafka` or `msk` event plus its `resources.extensions`. */
export type EventSourceConfig = {
  functionKey: string;
  /** The deployed function name (used in the functionArn of on-failure records). */
  functionName: string;
  logicalId: string;
  kind: 'kafka' | 'msk';
  topic: string;
  /** Brokers the local consumer connects to. */
  brokers: string[];
  /** What the event says in `bootstrapServers` (self-managed) — the declared servers, not the local ones. */
  bootstrapServers: string;
  eventSourceArn?: string;
  consumerGroupId: string;
  enabled: boolean;
  batchSize: number;
  maximumBatchingWindowMs: number;
  startingPosition: StartingPosition;
  startingPositionTimestampMs?: number;
  filterPatterns: FilterPattern[];
  /** -1 = infinite (only when there is no on-failure destination: AWS caps it at 10 otherwise). */
  maximumRetryAttempts: number;
  /** null = infinite. */
  maximumRecordAgeMs: number | null;
  bisectBatchOnFunctionError: boolean;
  reportBatchItemFailures: boolean;
  onFailureTopic?: string;
  schemaRegistry?: SchemaRegistrySettings;
  /** Present when the mapping is in provisioned mode, which AWS requires for the error-handling controls. */
  provisionedPollers?: { minimum?: number; maximum?: number };
  timeoutMs: number;
};

/** Local-only knobs that AWS does not expose (backoff of retries, fetch sizes, concurrency). */
export type EngineTuning = {
  retryBackoffBaseMs: number;
  retryBackoffMaxMs: number;
  /** How many partitions of one mapping are processed at once (each partition stays in order). */
  partitionsConsumedConcurrently: number;
  /** Fetch size per partition (a fetch asks for up to four partitions' worth). */
  maxBytesPerPartition: number;
  sessionTimeoutMs: number;
  /**
   * Fetch a partition's next records while its current ones are being invoked (at most one fetch
   * ahead per partition), as Lambda's pollers do, instead of fetching only between invocations.
   */
  fetchAhead: boolean;
};

export const defaultTuning: EngineTuning = {
  retryBackoffBaseMs: 1000,
  retryBackoffMaxMs: 60_000,
  partitionsConsumedConcurrently: 4,
  // kafkajs' default. With fetch-ahead, a small fetch is decoded while the previous one is invoked
  // and keeps few records alive (the sink bench measured 1, 2 and 4 MB alike, and 16 MB without
  // fetch-ahead slower).
  maxBytesPerPartition: 1024 * 1024,
  sessionTimeoutMs: 30_000,
  fetchAhead: true,
};

/** AWS: "When you configure both infinite retries and an on-failure destination, Lambda applies a maximum of 10 retry attempts." */
export const INFINITE_RETRIES_CAP_WITH_DESTINATION = 10;

// Lambda's defaults for Kafka event source mappings.
const DEFAULT_BATCH_SIZE = 100;
const DEFAULT_BATCHING_WINDOW_S = 0.5;
const DEFAULT_TIMEOUT_S = 6;
const LOCAL_BROKER = '127.0.0.1:9092';

type Dict = Record<string, unknown>;

const isDict = (value: unknown): value is Dict =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const upperFirst = (value: string): string => value.charAt(0).toUpperCase() + value.slice(1);
const alphaNumeric = (value: string): string => value.replace(/[^0-9A-Za-z]/g, '');

/** osls `getNormalizedFunctionName`: dashes and underscores are spelled out. */
export const normalizeFunctionName = (functionKey: string): string =>
  upperFirst(functionKey.replace(/-/g, 'Dash').replace(/_/g, 'Underscore'));

/** osls `get-msk-cluster-name-token`: the cluster name of an ARN, or the name of a Ref / Fn::ImportValue. */
export const mskClusterToken = (arn: unknown): string => {
  if (typeof arn === 'string') return arn.split('/')[1] ?? '';
  if (isDict(arn)) {
    if (typeof arn['Fn::ImportValue'] === 'string') return arn['Fn::ImportValue'];
    if (typeof arn.Ref === 'string') return arn.Ref;
  }
  return '';
};

/** The logical id osls gives the AWS::Lambda::EventSourceMapping of a `kafka` event. */
export const kafkaLogicalId = (functionKey: string, topic: string): string =>
  `${normalizeFunctionName(functionKey)}EventSourceMappingKafka${upperFirst(alphaNumeric(topic)).slice(0, 158)}`;

/** The logical id osls gives the AWS::Lambda::EventSourceMapping of an `msk` event. */
export const mskLogicalId = (functionKey: string, arn: unknown, topic: string): string =>
  `${normalizeFunctionName(functionKey)}EventSourceMappingMSK${upperFirst(alphaNumeric(mskClusterToken(arn))).slice(0, 79)}${upperFirst(alphaNumeric(topic)).slice(0, 79)}`;

export type ParseInput = {
  functionKey: string;
  functionDefinition: Dict;
  /** The `kafka` or `msk` object of one event. */
  kind: 'kafka' | 'msk';
  event: Dict;
  /** `resources.extensions` of serverless.yml (may be undefined). */
  extensions: unknown;
  service: string;
  stage: string;
  region: string;
  /** provider.timeout, seconds. */
  providerTimeout?: unknown;
  /** Brokers to use locally; when empty, the event's bootstrapServers, else the local stack's 127.0.0.1:9092. */
  localBrokers: string[];
};

const fail = (where: string, message: string): never => {
  throw new ConfigError(`serverless-offline-kafka: ${where}: ${message}`);
};

const optionalNumber = (where: string, name: string, value: unknown): number | undefined => {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) return fail(where, `${name} must be a number`);
  return number;
};

const inRange = (
  where: string,
  name: string,
  value: number,
  min: number,
  max: number,
  extra?: number,
): void => {
  if (value === extra) return;
  if (value < min || value > max) {
    fail(
      where,
      `${name} must be ${extra === undefined ? '' : `${extra} or `}between ${min} and ${max} (got ${value})`,
    );
  }
};

const optionalBoolean = (where: string, name: string, value: unknown): boolean | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') return fail(where, `${name} must be a boolean`);
  return value;
};

const parsePatterns = (where: string, raw: unknown): FilterPattern[] => {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) return fail(where, 'filterPatterns must be a list');
  if (raw.length > 10) fail(where, 'at most 10 filterPatterns are allowed');
  return raw.map((pattern, index) => {
    // FilterCriteria in CloudFormation carries each pattern as a JSON string.
    let parsed: unknown = pattern;
    if (typeof pattern === 'string') {
      try {
        parsed = JSON.parse(pattern);
      } catch (cause) {
        return fail(where, `filterPatterns[${index}] is not valid JSON (${String(cause)})`);
      }
    }
    if (!isDict(parsed)) return fail(where, `filterPatterns[${index}] must be an object`);
    const problem = validateFilterPattern(parsed);
    if (problem) fail(where, `filterPatterns[${index}]: ${problem}`);
    return parsed as FilterPattern;
  });
};

const kafkaTopicOf = (where: string, destination: unknown): string | undefined => {
  if (destination === undefined || destination === null) return undefined;
  if (typeof destination !== 'string') return fail(where, 'the on-failure destination must be a string');
  if (!destination.startsWith('kafka://')) {
    // SQS/SNS/S3 destinations exist on AWS; locally only a Kafka topic can be honoured.
    return fail(
      where,
      `only kafka://<topic> on-failure destinations are supported locally (got ${destination})`,
    );
  }
  const topic = destination.slice('kafka://'.length);
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic)) fail(where, `invalid on-failure topic "${topic}"`);
  return topic;
};

const parseSchemaRegistry = (where: string, raw: unknown): SchemaRegistrySettings | undefined => {
  if (raw === undefined || raw === null) return undefined;
  if (!isDict(raw)) return fail(where, 'SchemaRegistryConfig must be an object');
  const uri = raw.SchemaRegistryURI;
  if (typeof uri !== 'string' || uri === '')
    return fail(where, 'SchemaRegistryConfig.SchemaRegistryURI is required');
  if (uri.startsWith('arn:'))
    fail(where, 'AWS Glue schema registries cannot be used locally; use a Confluent-compatible URL');
  const format = raw.EventRecordFormat ?? 'SOURCE';
  if (format !== 'JSON' && format !== 'SOURCE')
    return fail(where, 'EventRecordFormat must be JSON or SOURCE');
  const configs = raw.SchemaValidationConfigs;
  if (!Array.isArray(configs) || configs.length === 0) {
    return fail(
      where,
      'SchemaRegistryConfig.SchemaValidationConfigs needs at least one { Attribute: KEY | VALUE }',
    );
  }
  const attributes = configs.map((config) => (isDict(config) ? config.Attribute : undefined));
  for (const attribute of attributes) {
    if (attribute !== 'KEY' && attribute !== 'VALUE')
      fail(where, `unknown SchemaValidationConfigs attribute ${String(attribute)}`);
  }
  return {
    uri,
    eventRecordFormat: format,
    validateKey: attributes.includes('KEY'),
    validateValue: attributes.includes('VALUE'),
  };
};

const parseBrokers = (value: unknown): string[] => {
  if (Array.isArray(value))
    return value.filter((item): item is string => typeof item === 'string' && item !== '');
  if (typeof value === 'string')
    return value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  return [];
};

/**
 * Resolves one `kafka`/`msk` event into the settings of its event source mapping. Error-handling
 * settings the framework does not accept on the event are read from
 * `resources.extensions.<ESM logical id>.Properties`, exactly where a deployment would put them.
 */
export const parseEventSource = (input: ParseInput): EventSourceConfig => {
  const { functionKey, functionDefinition, kind, event } = input;
  const topic = event.topic;
  const where = `function ${functionKey} (${kind} event)`;
  if (typeof topic !== 'string' || topic === '') return fail(where, 'topic is required');
  const logicalId =
    kind === 'kafka' ? kafkaLogicalId(functionKey, topic) : mskLogicalId(functionKey, event.arn, topic);

  const extension = isDict(input.extensions) ? input.extensions[logicalId] : undefined;
  const properties: Dict = isDict(extension) && isDict(extension.Properties) ? extension.Properties : {};
  // The event wins over the extension, as it would when the framework merges both into the template.
  const pick = (eventName: string, propertyName: string): unknown =>
    event[eventName] ?? properties[propertyName];

  const batchSize = optionalNumber(where, 'batchSize', pick('batchSize', 'BatchSize')) ?? DEFAULT_BATCH_SIZE;
  inRange(where, 'batchSize', batchSize, 1, 10_000);
  const windowS =
    optionalNumber(
      where,
      'maximumBatchingWindow',
      pick('maximumBatchingWindow', 'MaximumBatchingWindowInSeconds'),
    ) ?? DEFAULT_BATCHING_WINDOW_S;
  inRange(where, 'maximumBatchingWindow', windowS, 0, 300);

  const startingPosition = pick('startingPosition', 'StartingPosition') ?? 'TRIM_HORIZON';
  if (!StartingPositions.includes(startingPosition as StartingPosition)) {
    fail(where, `startingPosition must be one of ${StartingPositions.join(', ')}`);
  }
  const timestampS = optionalNumber(
    where,
    'startingPositionTimestamp',
    pick('startingPositionTimestamp', 'StartingPositionTimestamp'),
  );
  if (startingPosition === 'AT_TIMESTAMP' && timestampS === undefined) {
    fail(where, 'startingPositionTimestamp is required with AT_TIMESTAMP');
  }

  const managedConfig =
    kind === 'kafka'
      ? properties.SelfManagedKafkaEventSourceConfig
      : properties.AmazonManagedKafkaEventSourceConfig;
  // Lambda gives each event source mapping a consumer group of its own (its UUID) unless one is
  // set, and a set one must be unique among all Kafka event sources. Locally the default is stable
  // across restarts, so committed offsets carry over like the deployed mapping's.
  const consumerGroupId =
    (event.consumerGroupId as string | undefined) ??
    (isDict(managedConfig) && typeof managedConfig.ConsumerGroupId === 'string'
      ? managedConfig.ConsumerGroupId
      : undefined) ??
    `medstream-${input.service}-${input.stage}-${functionKey}-${kind === 'msk' ? `${mskClusterToken(event.arn)}-` : ''}${topic}`;

  const enabled = optionalBoolean(where, 'enabled', pick('enabled', 'Enabled')) ?? true;

  const filterSource =
    event.filterPatterns ??
    (isDict(properties.FilterCriteria) && Array.isArray(properties.FilterCriteria.Filters)
      ? properties.FilterCriteria.Filters.map((filter) => (isDict(filter) ? filter.Pattern : filter))
      : undefined);
  const filterPatterns = parsePatterns(where, filterSource);

  const destinationConfig = properties.DestinationConfig;
  const extensionDestination =
    isDict(destinationConfig) && isDict(destinationConfig.OnFailure)
      ? destinationConfig.OnFailure.Destination
      : undefined;
  const onFailureTopic = kafkaTopicOf(where, event.onFailureDestination ?? extensionDestination);
  if (onFailureTopic === topic) {
    // AWS blocks this configuration to prevent an infinite loop.
    fail(where, 'the on-failure topic must differ from the source topic');
  }

  let maximumRetryAttempts =
    optionalNumber(where, 'MaximumRetryAttempts', pick('maximumRetryAttempts', 'MaximumRetryAttempts')) ?? -1;
  inRange(where, 'MaximumRetryAttempts', maximumRetryAttempts, 0, 10_000, -1);
  if (maximumRetryAttempts === -1 && onFailureTopic !== undefined) {
    maximumRetryAttempts = INFINITE_RETRIES_CAP_WITH_DESTINATION;
  }
  const maxAgeS =
    optionalNumber(
      where,
      'MaximumRecordAgeInSeconds',
      pick('maximumRecordAgeInSeconds', 'MaximumRecordAgeInSeconds'),
    ) ?? -1;
  inRange(where, 'MaximumRecordAgeInSeconds', maxAgeS, 60, 604_800, -1);

  const bisect =
    optionalBoolean(
      where,
      'BisectBatchOnFunctionError',
      pick('bisectBatchOnFunctionError', 'BisectBatchOnFunctionError'),
    ) ?? false;
  const responseTypes = pick('functionResponseTypes', 'FunctionResponseTypes') ?? [];
  if (!Array.isArray(responseTypes)) fail(where, 'FunctionResponseTypes must be a list');
  const reportBatchItemFailures = (responseTypes as unknown[]).includes('ReportBatchItemFailures');

  const managedEventSourceConfig =
    kind === 'kafka'
      ? properties.SelfManagedKafkaEventSourceConfig
      : properties.AmazonManagedKafkaEventSourceConfig;
  const schemaRegistry = parseSchemaRegistry(
    where,
    event.schemaRegistryConfig ??
      (isDict(managedEventSourceConfig) ? managedEventSourceConfig.SchemaRegistryConfig : undefined),
  );

  const pollerRaw = pick('provisionedPollerConfig', 'ProvisionedPollerConfig');
  const provisionedPollers = isDict(pollerRaw)
    ? {
        minimum: optionalNumber(
          where,
          'MinimumPollers',
          pollerRaw.minimumPollers ?? pollerRaw.MinimumPollers,
        ),
        maximum: optionalNumber(
          where,
          'MaximumPollers',
          pollerRaw.maximumPollers ?? pollerRaw.MaximumPollers,
        ),
      }
    : undefined;

  const declaredServers = parseBrokers(event.bootstrapServers);
  // An msk event names no brokers: without an override it reaches the local stack's broker.
  const brokers =
    input.localBrokers.length > 0
      ? input.localBrokers
      : declaredServers.length > 0
        ? declaredServers
        : [LOCAL_BROKER];

  const timeoutS =
    optionalNumber(where, 'timeout', functionDefinition.timeout) ??
    optionalNumber(where, 'provider.timeout', input.providerTimeout) ??
    DEFAULT_TIMEOUT_S;

  const functionName =
    typeof functionDefinition.name === 'string'
      ? functionDefinition.name
      : `${input.service}-${input.stage}-${functionKey}`;

  const eventSourceArn =
    kind === 'msk'
      ? typeof event.arn === 'string'
        ? event.arn
        : `arn:aws:kafka:${input.region}:000000000000:cluster/${mskClusterToken(event.arn)}/local`
      : undefined;

  return {
    functionKey,
    functionName,
    logicalId,
    kind,
    topic,
    brokers,
    bootstrapServers: (declaredServers.length > 0 ? declaredServers : brokers).join(','),
    ...(eventSourceArn === undefined ? {} : { eventSourceArn }),
    consumerGroupId,
    enabled,
    batchSize,
    maximumBatchingWindowMs: Math.round(windowS * 1000),
    startingPosition: startingPosition as StartingPosition,
    ...(timestampS === undefined ? {} : { startingPositionTimestampMs: Math.round(timestampS * 1000) }),
    filterPatterns,
    maximumRetryAttempts,
    maximumRecordAgeMs: maxAgeS === -1 ? null : maxAgeS * 1000,
    bisectBatchOnFunctionError: bisect,
    reportBatchItemFailures,
    ...(onFailureTopic === undefined ? {} : { onFailureTopic }),
    ...(schemaRegistry === undefined ? {} : { schemaRegistry }),
    ...(provisionedPollers === undefined ? {} : { provisionedPollers }),
    timeoutMs: Math.round(timeoutS * 1000),
  };
};

/** Whether the mapping uses settings that AWS only accepts in provisioned mode. */
export const needsProvisionedMode = (config: EventSourceConfig): boolean =>
  config.schemaRegistry !== undefined ||
  config.bisectBatchOnFunctionError ||
  config.reportBatchItemFailures ||
  config.maximumRecordAgeMs !== null ||
  config.onFailureTopic !== undefined ||
  (config.maximumRetryAttempts !== -1 &&
    config.maximumRetryAttempts !== INFINITE_RETRIES_CAP_WITH_DESTINATION);
