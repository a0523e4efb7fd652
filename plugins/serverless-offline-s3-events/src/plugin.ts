import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, isLoopbackEndpoint } from '../../../lib/sources/s3-objects';
import {
  createOfflineLambdas,
  type Dict,
  isDict,
  type LambdaRunnerClass,
  type OfflineLambdas,
} from '../../shared/offline-lambda';
import { collectS3Subscriptions } from './config';
import { type BucketLister, createS3Poller, type Log } from './poller';

export type { LambdaRunner, LambdaRunnerClass } from '../../shared/offline-lambda';

/** The part of the Serverless Framework instance the plugin reads. */
export type ServerlessLike = {
  service: {
    provider: { region?: string };
    custom?: Dict;
    getAllFunctions(): string[];
    getFunction(functionKey: string): Dict;
  };
};

/** serverless' plugin log utility (v3+ `utils.log`). */
export type ServerlessLog = {
  error(...args: unknown[]): void;
  warning(...args: unknown[]): void;
  notice(...args: unknown[]): void;
};

/** `custom.serverless-offline-s3-events` in serverless.yml. */
export type PluginOptions = {
  /** The S3 emulator; AWS_ENDPOINT_URL wins, then this, then moto's default port. */
  endpoint?: string;
  pollIntervalMs?: number;
  deliverExisting?: boolean;
};

const CUSTOM_KEY = 'serverless-offline-s3-events';
const DEFAULT_ENDPOINT = 'http://127.0.0.1:4566';

/** ListObjectsV2, every page. */
export const createBucketLister =
  (client: S3Client): BucketLister =>
  async (bucket, prefix) => {
    const objects: { key: string; eTag: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined)
          objects.push({ key: object.Key, eTag: object.ETag ?? '', size: object.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return objects;
  };

const toLog = (log: ServerlessLog): Log => {
  const format = (message: string, extra?: Record<string, unknown>): string =>
    extra
      ? `serverless-offline-s3-events: ${message} ${JSON.stringify(extra)}`
      : `serverless-offline-s3-events: ${message}`;
  return {
    info: (message, extra) => log.notice(format(message, extra)),
    warn: (message, extra) => log.warning(format(message, extra)),
    error: (message, extra) => log.error(format(message, extra)),
  };
};

const consoleLog: ServerlessLog = {
  error: (...args) => console.error(...args),
  warning: (...args) => console.warn(...args),
  notice: (...args) => console.log(...args),
};

/**
 * Builds the serverless plugin class: under `serverless offline start`, S3 ObjectCreated events of
 * the service's functions are delivered from the local emulator (moto, LocalStack) by polling it,
 * and each function runs through serverless-offline's own lambda runner, as on AWS. `loadLambda`
 * imports that ESM runner; only the plain-JS entry point can `import()` it under tsx's CJS loader.
 */
export const createPlugin = (loadLambda: () => Promise<LambdaRunnerClass>) =>
  class ServerlessOfflineS3Events {
    readonly hooks: Record<string, () => Promise<void>>;
    readonly #serverless: ServerlessLike;
    readonly #cli: Dict;
    readonly #log: ServerlessLog;
    #poller: ReturnType<typeof createS3Poller> | undefined;
    #lambda: OfflineLambdas | undefined;
    #client: S3Client | undefined;
    #started = false;

    constructor(serverless: ServerlessLike, cliOptions: Dict = {}, utils: { log?: ServerlessLog } = {}) {
      this.#serverless = serverless;
      this.#cli = cliOptions;
      this.#log = utils.log ?? consoleLog;
      this.hooks = {
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
      const functions = service
        .getAllFunctions()
        .map((functionKey) => ({ functionKey, events: service.getFunction(functionKey).events }));
      const { subscriptions, skipped } = collectS3Subscriptions(functions);
      for (const skip of skipped)
        log.warn('s3 event not delivered locally', { function: skip.functionKey, reason: skip.reason });
      if (subscriptions.length === 0) {
        log.info('no s3 events found');
        return;
      }

      const endpoint = process.env.AWS_ENDPOINT_URL ?? custom.endpoint ?? DEFAULT_ENDPOINT;
      const region = (this.#cli.region as string | undefined) ?? service.provider.region ?? 'us-east-1';
      this.#client = createS3Client({
        region,
        endpoint,
        placeholderCredentials: isLoopbackEndpoint(endpoint) && !process.env.AWS_ACCESS_KEY_ID,
      });

      const Lambda = await loadLambda();
      const functionKeys = [...new Set(subscriptions.map((subscription) => subscription.functionKey))];
      this.#lambda = createOfflineLambdas(
        Lambda,
        this.#serverless,
        this.#cli,
        functionKeys.map((functionKey) => {
          const definition = service.getFunction(functionKey);
          const environment = isDict(definition.environment) ? definition.environment : {};
          // The function reads the objects it is told about from the same emulator the plugin polls.
          return {
            functionKey,
            functionDefinition: {
              ...definition,
              environment: { AWS_ENDPOINT_URL: endpoint, ...environment },
            },
          };
        }),
      );
      const lambda = this.#lambda;

      this.#poller = createS3Poller({
        subscriptions,
        list: createBucketLister(this.#client),
        invoke: (functionKey, event) => lambda.invoke(functionKey, event),
        log,
        now: () => new Date(),
        region,
        deliverExisting: custom.deliverExisting ?? false,
      });
      this.#poller.start(custom.pollIntervalMs ?? 1000);
      for (const subscription of subscriptions)
        log.info('polling for created objects', { ...subscription, endpoint });

      const onSignal = (): void => {
        this.stop().catch(() => undefined);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    }

    async stop(): Promise<void> {
      const poller = this.#poller;
      this.#poller = undefined;
      await poller?.stop();
      await this.#lambda?.cleanup();
      this.#lambda = undefined;
      this.#client?.destroy();
      this.#client = undefined;
    }
  };
