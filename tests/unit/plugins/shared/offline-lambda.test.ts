import {
  createOfflineLambdas,
  type LambdaRunner,
  type LambdaRunnerClass,
} from '../../../../plugins/shared/offline-lambda';

/**
 * A stand-in for serverless-offline's lambda runner: each runner is one "build" (its number), and
 * each invocation waits until the test lets it finish.
 */
const fakeRunners = () => {
  const runners: { build: number; options: Record<string, unknown>; cleaned: boolean }[] = [];
  const pending: (() => void)[] = [];
  const Lambda = class implements LambdaRunner {
    readonly #state: (typeof runners)[number];
    constructor(_serverless: unknown, options: Record<string, unknown>) {
      this.#state = { build: runners.length + 1, options, cleaned: false };
      runners.push(this.#state);
    }
    create(): void {}
    get(functionKey: string) {
      const state = this.#state;
      let event: unknown;
      return {
        setEvent: (value: unknown) => {
          event = value;
        },
        runHandler: () =>
          new Promise<unknown>((resolve, reject) => {
            pending.push(() =>
              state.cleaned
                ? reject(new Error('worker terminated'))
                : resolve({ functionKey, build: state.build, event }),
            );
          }),
      };
    }
    async cleanup(): Promise<void> {
      this.#state.cleaned = true;
    }
  } satisfies LambdaRunnerClass;
  const finishAll = () => {
    for (const finish of pending.splice(0)) finish();
  };
  return { Lambda, runners, finishAll };
};

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('createOfflineLambdas', () => {
  const functions = [{ functionKey: 'sink', functionDefinition: {} }];

  it('configures the runner as serverless-offline is: its defaults, then custom, then the command line', () => {
    const { Lambda, runners } = fakeRunners();
    createOfflineLambdas(
      Lambda,
      { service: { custom: { 'serverless-offline': { lambdaPort: 4002, noTimeout: true } } } },
      { lambdaPort: 5002 },
      functions,
    );
    expect(runners[0]?.options).toMatchObject({
      lambdaPort: 5002,
      noTimeout: true,
      terminateIdleLambdaTime: 60,
    });
  });

  it('loads the new build after a reload, and lets a running invocation finish on the old one', async () => {
    const { Lambda, runners, finishAll } = fakeRunners();
    const lambdas = createOfflineLambdas(Lambda, { service: {} }, {}, functions);

    const before = lambdas.invoke('sink', 'a');
    await lambdas.reload();
    const after = lambdas.invoke('sink', 'b');
    // The old build is still running "a": it is not terminated under it.
    expect(runners.map((runner) => runner.cleaned)).toEqual([false, false]);

    finishAll();
    await expect(before).resolves.toEqual({ functionKey: 'sink', build: 1, event: 'a' });
    await expect(after).resolves.toEqual({ functionKey: 'sink', build: 2, event: 'b' });
    // Released once its last invocation ended; the new one stays.
    expect(runners.map((runner) => runner.cleaned)).toEqual([true, false]);
  });

  it('releases an idle build at once on reload, and every build on cleanup', async () => {
    const { Lambda, runners, finishAll } = fakeRunners();
    const lambdas = createOfflineLambdas(Lambda, { service: {} }, {}, functions);
    await lambdas.reload();
    expect(runners.map((runner) => runner.cleaned)).toEqual([true, false]);

    const running = lambdas.invoke('sink', 'c');
    await lambdas.reload();
    await settle();
    expect(runners.map((runner) => runner.cleaned)).toEqual([true, false, false]);
    await lambdas.cleanup();
    expect(runners.map((runner) => runner.cleaned)).toEqual([true, true, true]);
    finishAll();
    await expect(running).rejects.toThrow('worker terminated');
  });
});
