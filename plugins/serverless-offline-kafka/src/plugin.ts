import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../../../lib/errors';
import type { KafkaEvent } from '../../../lib/kafka/event';
import {
  createOfflineLambdas,
  type Dict,
  isDict,
  type LambdaRunnerClass,
  type OfflineLambdas,
} from '../../shared/offline-lambda';
import { type EngineTuning, type EventSourceConfig, needsProvisionedMode, parseEventSource } from './config';
import { createTrigger, type Log, type Trigger, type TriggerStats } from './engine';

export type { LambdaRunner, LambdaRunnerClass } from '../../shared/offline-lambda';

/** The part of the Serverless Framework instance the plugin reads. */
export type ServerlessLike = {
  service: {
    service: string;
    provider: { stage?: string; region?: string; timeout?: unknown };
    custom?: Dict;
    resources?: Dict;
    getAllFunctions(): string[];
    getFunction(functionKey: string): Dict;
  };
  serviceDir?: string;
  config?: { servicePath?: string };
};

/** serverless' plugin log utility (v3+ `utils.log`). */
export type ServerlessLog = {
  error(...args: unknown[]): void;
  warning(...args: unknown[]): void;
  notice(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
};

/** `custom.serverless-offline-kafka` in serverless.yml. */
export type PluginOptions = {
  brokers?: string | string[];
  schemaRegistryUrl?: string;
  statusIntervalSeconds?: number;
  /** Path of the status JSON (relative to the service), or false for none. */
  statusFile?: string | false;
} & Partial<EngineTuning>;

const CUSTOM_KEY = 'serverless-offline-kafka';

const splitList = (value: string | string[] | undefined): string[] =>
  (Array.isArray(value) ? value : (value ?? '').split(',')).map((item) => item.trim()).filter(Boolean);

/**
 * Every `kafka` and `msk` event of the service as an event source mapping. Local overrides (brokers,
 * schema registry) come from the environment first, then from custom.serverless-offline-kafka.
 */
export const collectEventSources = (
  serverless: ServerlessLike,
  cli: { stage?: string; region?: string },
  env: Record<string, string | undefined>,
): EventSourceConfig[] => {
  const { service } = serverless;
  const custom = (isDict(service.custom) ? service.custom[CUSTOM_KEY] : undefined) as
    | PluginOptions
    | undefined;
  const localBrokers = splitList(env.KAFKA_BROKERS ?? custom?.brokers);
  const registryOverride = env.SCHEMA_REGISTRY_URL ?? custom?.schemaRegistryUrl;
  const stage = cli.stage ?? service.provider.stage ?? 'dev';
  const region = cli.region ?? service.provider.region ?? 'us-east-1';
  const sources: EventSourceConfig[] = [];
  for (const functionKey of service.getAllFunctions()) {
    const functionDefinition = service.getFunction(functionKey);
    const events = Array.isArray(functionDefinition.events) ? functionDefinition.events : [];
    for (const event of events) {
      if (!isDict(event)) continue;
      for (const kind of ['kafka', 'msk'] as const) {
        const body = event[kind];
        if (!isDict(body)) continue;
        const config = parseEventSource({
          functionKey,
          functionDefinition,
          kind,
          event: body,
          extensions: isDict(service.resources) ? service.resources.extensions : undefined,
          service: service.service,
          stage,
          region,
          providerTimeout: service.provider.timeout,
          localBrokers,
        });
        sources.push(
          config.schemaRegistry && registryOverride
            ? { ...config, schemaRegistry: { ...config.schemaRegistry, uri: registryOverride } }
            : config,
        );
      }
    }
  }
  refuseSharedGroups(sources);
  return sources;
};

/**
 * Two mappings in one consumer group take each other's partitions (the group's assignment spreads
 * every partition of every subscribed topic over its members), so records of one topic would never
 * be read. AWS refuses it too: a consumer group ID must be unique among all Kafka event sources.
 */
const refuseSharedGroups = (sources: readonly EventSourceConfig[]): void => {
  const byGroup = new Map<string, EventSourceConfig>();
  for (const source of sources) {
    const other = byGroup.get(source.consumerGroupId);
    if (other !== undefined) {
      throw new ConfigError(
        `serverless-offline-kafka: function ${other.functionKey} (topic ${other.topic}) and function ${source.functionKey} (topic ${source.topic}) share consumer group "${source.consumerGroupId}": a consumer group ID must be unique among all Kafka event sources; give each event its own consumerGroupId`,
      );
    }
    byGroup.set(source.consumerGroupId, source);
  }
};

/** The engine tuning set in custom.serverless-offline-kafka; values of the wrong type are ignored. */
export const tuningOf = (custom: PluginOptions): Partial<EngineTuning> => {
  const tuning: Partial<EngineTuning> = {};
  for (const key of [
    'retryBackoffBaseMs',
    'retryBackoffMaxMs',
    'partitionsConsumedConcurrently',
    'maxBytesPerPartition',
    'sessionTimeoutMs',
  ] as const) {
    if (typeof custom[key] === 'number') tuning[key] = custom[key];
  }
  if (typeof custom.fetchAhead === 'boolean') tuning.fetchAhead = custom.fetchAhead;
  return tuning;
};

const describe = (item: TriggerStats): string =>
  `${item.functionKey}<-${item.topic} [${item.state}] delivered=${item.delivered} invocations=${item.invocations} failed=${item.failedInvocations} filtered=${item.filtered} on-failure=${item.sentToDestination} dropped=${item.discarded} lag=${item.lag}`;

/** A mapping that has had nothing to do yet, and is not in trouble: counted, not listed. */
const isQuiet = (item: TriggerStats): boolean =>
  (item.state === 'running' || item.state === 'waiting-for-topic') &&
  item.delivered === 0 &&
  item.invocations === 0 &&
  item.failedInvocations === 0 &&
  item.filtered === 0 &&
  item.sentToDestination === 0 &&
  item.discarded === 0 &&
  item.lag === 0;

/**
 * One summary line for all mappings: what `npm start` shows every few seconds. Mappings that
 * delivered, lag, fail or stopped are listed; the quiet rest (a dozen on a fresh start) is counted.
 */
export const summarize = (stats: TriggerStats[]): string => {
  const listed = stats.filter((item) => !isQuiet(item)).map(describe);
  const quiet = stats.filter(isQuiet);
  if (quiet.length > 0) {
    const waiting = quiet.filter((item) => item.state === 'waiting-for-topic').length;
    const detail = waiting > 0 ? `; ${waiting} waiting for their topic` : '';
    listed.push(
      `${listed.length > 0 ? 'and ' : ''}${quiet.length} idle (nothing delivered, no lag${detail})`,
    );
  }
  return listed.join(' | ');
};

/**
 * The summary line to print for the mappings' stats, or undefined when it says what the last one
 * said: an idle service prints nothing, and a line means something moved.
 */
export const summaryLines = (): ((stats: TriggerStats[]) => string | undefined) => {
  let last: string | undefined;
  return (stats) => {
    const line = `kafka trigger: ${summarize(stats)}`;
    if (line === last) return undefined;
    last = line;
    return line;
  };
};

const toLog = (log: ServerlessLog): Log => {
  const format = (message: string, extra?: Record<string, unknown>): string =>
    extra
      ? `serverless-offline-kafka: ${message} ${JSON.stringify(extra)}`
      : `serverless-offline-kafka: ${message}`;
  return {
    debug: (message, extra) => log.debug(format(message, extra)),
    info: (message, extra) => log.notice(format(message, extra)),
    warn: (message, extra) => log.warning(format(message, extra)),
    error: (message, extra) => log.error(format(message, extra)),
  };
};

const consoleLog: ServerlessLog = {
  error: (...args) => console.error(...args),
  warning: (...args) => console.warn(...args),
  notice: (...args) => console.log(...args),
  info: (...args) => console.log(...args),
  debug: () => undefined,
};

/**
 * Builds the serverless plugin class. `loadLambda` imports serverless-offline's ESM lambda runner;
 * it is passed in because only the plain-JS entry point can `import()` ESM under tsx's CJS loader.
 */
export const createPlugin = (loadLambda: () => Promise<LambdaRunnerClass>) =>
  class ServerlessOfflineKafka {
    readonly hooks: Record<string, () => Promise<void>>;
    readonly #serverless: ServerlessLike;
    readonly #cli: Dict;
    readonly #log: ServerlessLog;
    #triggers: Trigger[] = [];
    #lambda: OfflineLambdas | undefined;
    #timer: NodeJS.Timeout | undefined;
    #started = false;

    constructor(serverless: ServerlessLike, cliOptions: Dict = {}, utils: { log?: ServerlessLog } = {}) {
      this.#serverless = serverless;
      this.#cli = cliOptions;
      this.#log = utils.log ?? consoleLog;
      this.hooks = {
        // `serverless offline start` offers init/end hooks to other plugins; plain `serverless
        // offline` only has `offline:start`, so both are covered.
        'offline:start:init': () => this.start(),
        'offline:start:end': () => this.stop(),
        'before:offline:start': () => this.start(),
        // serverless-esbuild rebuilt the handlers (its watch): later invocations load the new build.
        'offline:functionsUpdated:cleanup': async () => this.#lambda?.reload(),
      };
    }

    async start(): Promise<void> {
      if (this.#started) return;
      this.#started = true;
      const log = toLog(this.#log);
      const { service } = this.#serverless;
      const custom = ((isDict(service.custom) ? service.custom[CUSTOM_KEY] : undefined) ??
        {}) as PluginOptions;
      const cli = {
        stage: this.#cli.stage as string | undefined,
        region: this.#cli.region as string | undefined,
      };
      const sources = collectEventSources(this.#serverless, cli, process.env);
      if (sources.length === 0) {
        log.info('no kafka or msk events found');
        return;
      }

      const Lambda = await loadLambda();
      const functionKeys = [...new Set(sources.map((source) => source.functionKey))];
      this.#lambda = createOfflineLambdas(
        Lambda,
        this.#serverless,
        this.#cli,
        functionKeys.map((functionKey) => ({
          functionKey,
          functionDefinition: service.getFunction(functionKey),
        })),
      );
      const lambda = this.#lambda;

      const tuning = tuningOf(custom);

      for (const source of sources) {
        if (needsProvisionedMode(source) && !source.provisionedPollers) {
          log.warn(
            'AWS accepts these error-handling / schema registry settings only in provisioned mode: add provisionedPollerConfig',
            { function: source.functionKey, logicalId: source.logicalId },
          );
        }
        const invoke = (event: KafkaEvent): Promise<unknown> => lambda.invoke(source.functionKey, event);
        const trigger = createTrigger({
          config: source,
          invoke,
          tuning,
          log,
          region: cli.region ?? service.provider.region ?? 'us-east-1',
        });
        this.#triggers.push(trigger);
        // Started in the background: a topic that does not exist yet must not block the other
        // functions or serverless-offline's HTTP server.
        trigger
          .start()
          .catch((error: unknown) =>
            log.error('trigger failed to start', { function: source.functionKey, error: String(error) }),
          );
      }

      const servicePath =
        this.#serverless.serviceDir ?? this.#serverless.config?.servicePath ?? process.cwd();
      const statusFile =
        custom.statusFile === false
          ? undefined
          : resolve(servicePath, custom.statusFile ?? '.stack/trigger-status.json');
      const nextLine = summaryLines();
      const report = (): void => {
        const stats = this.#triggers.map((trigger) => trigger.stats());
        const line = nextLine(stats);
        if (line !== undefined) this.#log.notice(line);
        if (statusFile) {
          try {
            mkdirSync(dirname(statusFile), { recursive: true });
            writeFileSync(
              statusFile,
              `${JSON.stringify({ updatedAt: new Date().toISOString(), mappings: stats }, null, 2)}\n`,
            );
          } catch (error) {
            log.warn('cannot write the status file', { statusFile, error: String(error) });
          }
        }
      };
      this.#timer = setInterval(report, (custom.statusIntervalSeconds ?? 5) * 1000);
      this.#timer.unref();

      const onSignal = (): void => {
        this.stop().catch(() => undefined);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }

    async stop(): Promise<void> {
      clearInterval(this.#timer);
      const triggers = this.#triggers;
      this.#triggers = [];
      await Promise.allSettled(triggers.map((trigger) => trigger.stop()));
      await this.#lambda?.cleanup();
      this.#lambda = undefined;
    }
  };
