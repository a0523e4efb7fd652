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
  /**
   * The handlers were rebuilt (serverless-esbuild's watch spawns `offline:functionsUpdated`):
   * later invocations load them afresh; a running one finishes on the old code.
   */
  reload(): Promise<void>;
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
  const options = { ...OFFLINE_DEFAULTS, ...(isDict(offlineCustom) ? offlineCustom : {}), ...cliOptions };
  const newRunner = (): LambdaRunner => {
    const runner = new Lambda(serverless, options);
    runner.create(functions);
    return runner;
  };
  // A runner keeps each function's worker, which imported the handler once. A reload starts a new
  // runner (serverless-offline's own pool would terminate workers in the middle of an invocation,
  // a failed attempt for the trigger) and releases the old one once its invocations have ended.
  let current = newRunner();
  const running = new Map<LambdaRunner, number>();
  const retired = new Set<LambdaRunner>();
  const release = async (runner: LambdaRunner): Promise<void> => {
    if (!retired.has(runner) || (running.get(runner) ?? 0) > 0) return;
    retired.delete(runner);
    await runner.cleanup();
  };
  return {
    async invoke(functionKey, event) {
      const runner = current;
      running.set(runner, (running.get(runner) ?? 0) + 1);
      try {
        const instance = runner.get(functionKey);
        instance.setEvent(event);
        return await instance.runHandler();
      } finally {
        const left = (running.get(runner) ?? 1) - 1;
        if (left === 0) running.delete(runner);
        else running.set(runner, left);
        await release(runner);
      }
    },
    async reload() {
      const old = current;
      current = newRunner();
      retired.add(old);
      await release(old);
    },
    async cleanup() {
      const runners = [current, ...retired];
      retired.clear();
      await Promise.all(runners.map((runner) => runner.cleanup()));
    },
  };
};
