/** A plain object from serverless.yml. */
export type Dict = Record<string, unknown>;

export const isDict = (value: unknown): value is Dict =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The part of serverless-offline's lambda runner (`serverless-offline/lambda`) our plugins use. */
export type LambdaRunner = {
  create(lambdas: { functionKey: string; functionDefinition: Dict }[]): void;
  get(functionKey: string): { setEvent(event: unknown): void; runHandler(): Promise<unknown> };
  cleanup(): Promise<void>;
};
export type LambdaRunnerClass = new (serverless: unknown, options: Dict) => LambdaRunner;

/** Invokes local functions the way serverless-offline does, and releases them. */
export type OfflineLambdas = {
  invoke(functionKey: string, event: unknown): Promise<unknown>;
  cleanup(): Promise<void>;
};

// serverless-offline's own defaults for the options its lambda runner reads.
const OFFLINE_DEFAULTS: Dict = {
  host: 'localhost',
  lambdaPort: 3002,
  localEnvironment: false,
  noTimeout: false,
  reloadHandler: false,
  terminateIdleLambdaTime: 60,
  useDocker: false,
  useInProcess: false,
  layersDir: null,
  dockerHost: 'localhost',
  dockerHostServicePath: null,
  dockerNetwork: null,
  dockerReadOnly: true,
  localLayers: {},
};

/**
 * serverless-offline's lambda runner for the given functions, configured as serverless-offline
 * itself is (its defaults, then custom.serverless-offline, then the command line), so handler
 * loading, environment, timeouts and logs are those of HTTP-triggered functions.
 */
export const createOfflineLambdas = (
  Lambda: LambdaRunnerClass,
  serverless: { service: { custom?: Dict } },
  cliOptions: Dict,
  functions: { functionKey: string; functionDefinition: Dict }[],
): OfflineLambdas => {
  const offlineCustom = isDict(serverless.service.custom)
    ? serverless.service.custom['serverless-offline']
    : undefined;
  const runner = new Lambda(serverless, {
    ...OFFLINE_DEFAULTS,
    ...(isDict(offlineCustom) ? offlineCustom : {}),
    ...cliOptions,
  });
  runner.create(functions);
  return {
    async invoke(functionKey, event) {
      const instance = runner.get(functionKey);
      instance.setEvent(event);
      return instance.runHandler();
    },
    cleanup: () => runner.cleanup(),
  };
};
