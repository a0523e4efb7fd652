import { connect, createServer, type Server, type Socket } from 'node:net';
import { defaultTuning } from '../../../plugins/serverless-offline-kafka/src/config';
import { createTrigger } from '../../../plugins/serverless-offline-kafka/src/engine';
import {
  brokers,
  createTopic,
  disconnectClients,
  produce,
  recordingHandler,
  sourceConfig,
  uniqueName,
  values,
  valuesIn,
  waitFor,
} from './helpers';

afterAll(disconnectClients);

/**
 * The broker's bootstrap address as a port of our own that we open and close: closed, the trigger
 * cannot reach the broker at all; open, it forwards to the real one (which then advertises itself).
 */
const bootstrapProxy = async (): Promise<{ port: number; open(): Promise<void>; close(): Promise<void> }> => {
  const [host, port] = (brokers[0] as string).split(':');
  const sockets = new Set<Socket>();
  const newServer = (): Server =>
    createServer((client) => {
      const upstream = connect(Number(port), host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  // A free port, closed again until the test opens it.
  const probe = newServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  let server: Server | undefined;
  return {
    port: proxyPort,
    open: () =>
      new Promise<void>((resolve) => {
        server = newServer();
        server.listen(proxyPort, '127.0.0.1', resolve);
      }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    },
  };
};

/** A trigger whose only broker address is `port` (short backoffs), with its handler and warnings. */
const unreachableTrigger = (topic: string, port: number) => {
  const warnings: string[] = [];
  const handler = recordingHandler();
  const trigger = createTrigger({
    config: sourceConfig({ topic, brokers: [`127.0.0.1:${port}`], maximumBatchingWindowMs: 0 }),
    invoke: handler.invoke,
    tuning: { ...defaultTuning, retryBackoffBaseMs: 200, retryBackoffMaxMs: 500, sessionTimeoutMs: 10_000 },
    log: {
      debug: () => undefined,
      info: () => undefined,
      warn: (message, extra) => warnings.push(`${message} ${String(extra?.error ?? '')}`),
      error: () => undefined,
    },
  });
  return { trigger, handler, warnings };
};

describe('a broker that cannot be reached when the trigger starts', () => {
  it('keeps trying, as Lambda pollers do, and delivers once the broker answers', async () => {
    const topic = uniqueName('outage');
    await createTopic(topic);
    await produce(topic, values(3));
    const proxy = await bootstrapProxy();
    const { trigger, handler, warnings } = unreachableTrigger(topic, proxy.port);
    try {
      const started = trigger.start();
      // Not given up: unpatched, start() rejected after kafkajs' retries and the mapping was dead
      // for the rest of the run.
      const outcome = await Promise.race([
        started.then(
          () => 'started',
          (error: unknown) => `rejected: ${String(error)}`,
        ),
        new Promise((resolve) => setTimeout(() => resolve('still trying'), 12_000)),
      ]);
      expect(outcome).toBe('still trying');
      expect(handler.deliveries).toHaveLength(0);
      expect(trigger.stats().state).toBe('crashed');
      // Said once, not once per attempt.
      expect(warnings.filter((line) => line.startsWith('could not start; trying again'))).toHaveLength(1);
      expect(warnings.join('\n')).toMatch(/ECONNREFUSED|Connection error/);

      await proxy.open();
      await started;
      await waitFor('the records', () => valuesIn(handler.deliveries).length === 3, 30_000);
      expect(valuesIn(handler.deliveries)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
      expect(trigger.stats().state).toBe('running');
    } finally {
      await trigger.stop();
      await proxy.close();
    }
  }, 60_000);

  it('stops while it is still trying, and starts nothing once the broker answers', async () => {
    const topic = uniqueName('outage-stop');
    await createTopic(topic);
    await produce(topic, values(1));
    const proxy = await bootstrapProxy();
    const { trigger, handler } = unreachableTrigger(topic, proxy.port);
    try {
      const started = trigger.start();
      await waitFor('a failed attempt', () => trigger.stats().state === 'crashed', 30_000);
      await trigger.stop();
      await proxy.open();
      await started;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(handler.deliveries).toHaveLength(0);
      expect(trigger.stats().state).toBe('stopped');
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
