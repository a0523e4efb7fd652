import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

/** A TCP port free on loopback now. */
export const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });

/**
 * `serverless offline start` of a test service (a fixture directory whose serverless.yml takes its
 * ports from OFFLINE_LAMBDA_PORT and OFFLINE_HTTP_PORT, given free ones here), with `env` added to
 * this process's environment; `output()` is everything it printed so far.
 */
export const startOffline = async (
  serviceDir: string,
  env: Record<string, string>,
): Promise<{ offline: ChildProcess; output: () => string }> => {
  let output = '';
  const offline = spawn(join(root, 'node_modules', '.bin', 'serverless'), ['offline', 'start'], {
    cwd: serviceDir,
    env: {
      ...process.env,
      OFFLINE_LAMBDA_PORT: String(await freePort()),
      OFFLINE_HTTP_PORT: String(await freePort()),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    output += String(chunk);
  };
  offline.stdout?.on('data', collect);
  offline.stderr?.on('data', collect);
  return { offline, output: () => output };
};
