import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import path from 'node:path';

// `npm start` while another one runs (or anything else holds its ports) stops at once with the
// reason, before installing, starting the stack or polling S3. An integration test: were the check
// gone, the script would go on to bring the stack up.
const root = path.resolve(__dirname, '../..');

/** Holds the port, or leaves it to whoever already listens there (a developer's npm start). */
const hold = (port: number): Promise<Server | undefined> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? resolve(undefined) : reject(error),
    );
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

it("refuses to start when serverless offline's port is taken, saying which process holds it", async () => {
  const server = await hold(3000);
  try {
    const started = Date.now();
    const child = spawn('bash', ['scripts/start.sh'], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGTERM'), 15_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);

    expect(output).toMatch(
      /^npm start: port 3000 is in use \(process \d+\): is npm start already running\? Stop it first/,
    );
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  } finally {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  }
});
