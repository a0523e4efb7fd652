import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { connectUrlOf } from '../../../cli/settings';
import { loadConfig } from '../../../lib/config';
import { runCli } from '../../support/cli';
import { pollUntil } from '../../support/poll';

// `medstream connectors apply|status` against the stack's real Kafka Connect worker (Apache Kafka's
// own connect-runtime, scripts/stack.sh). It runs the FileStream connectors Kafka ships: the JDBC
// sink is not on Maven Central, so these tests apply connectors the worker can really run.

const connectUrl = connectUrlOf(process.env);
const config = loadConfig();
const kafka = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
const dir = mkdtempSync(path.join(tmpdir(), 'medstream-connectors-'));
// An empty settings file: the defaults and the environment, not a developer's .medstream.json.
const settingsFile = path.join(dir, 'settings.json');
writeFileSync(settingsFile, '{}');
const created: string[] = [];

/** The CLI with real HTTP and the empty settings file. */
const cli = (...args: string[]) =>
  runCli(['--config', settingsFile, ...args], (url, init) => fetch(url, init));

/** A connector file of a FileStream sink from a fresh topic into a fresh file. */
const fileSinkConnector = (overrides: Record<string, string> = {}) => {
  const name = `medstream-test-${randomUUID().slice(0, 8)}`;
  created.push(name);
  const config = {
    'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector',
    'tasks.max': '1',
    topics: `${name}-in`,
    file: path.join(dir, `${name}.txt`),
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
    ...overrides,
  };
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ name, config }));
  return { name, config, file };
};

const connectGet = async (suffix: string): Promise<{ status: number; body: unknown }> => {
  const response = await fetch(`${connectUrl}${suffix}`);
  return { status: response.status, body: await response.json() };
};

/**
 * The config the worker serves for `name`, once it is `expected`: an update makes the worker
 * rebalance, and until it has, GET answers 409 or the config before.
 */
const configOnceItIs = async (name: string, expected: Record<string, string>) =>
  pollUntil(`${name}'s config on the worker`, async () => {
    const answer = await connectGet(`/connectors/${name}/config`);
    expect(answer).toEqual({ status: 200, body: expected });
    return answer.body;
  });

afterAll(async () => {
  await Promise.all(
    created.map((name) =>
      fetch(`${connectUrl}/connectors/${name}`, { method: 'DELETE' }).catch(() => undefined),
    ),
  );
  // The input topics their tasks subscribed to (the broker creates them on subscription).
  const admin = kafka.admin();
  await admin.connect();
  const inputs = new Set(created.map((name) => `${name}-in`));
  const made = (await admin.listTopics()).filter((topic) => inputs.has(topic));
  if (made.length > 0) await admin.deleteTopics({ topics: made }).catch(() => undefined);
  await admin.disconnect();
});

it('creates a connector that runs, and applying the same file again changes nothing', async () => {
  const connector = fileSinkConnector();

  expect((await cli('connectors', 'apply', connector.file)).lines).toEqual([`${connector.name}: created`]);
  const status = await pollUntil('the connector and its task to run', async () => {
    const run = await cli('connectors', 'status', connector.file);
    return run.exitCode === 0 ? run : undefined;
  });
  expect(status.lines).toEqual([`${connector.name}: RUNNING; tasks 0=RUNNING`]);

  // It is live: a record on its topic reaches its file.
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    await producer.send({ topic: connector.config.topics, messages: [{ value: 'reading 1' }] });
  } finally {
    await producer.disconnect();
  }
  await pollUntil('the record in the sink file', async () =>
    existsSync(connector.config.file) && readFileSync(connector.config.file, 'utf8') === 'reading 1\n'
      ? true
      : undefined,
  );

  expect((await cli('connectors', 'apply', connector.file)).lines).toEqual([`${connector.name}: updated`]);
  await configOnceItIs(connector.name, { ...connector.config, name: connector.name });
  const names = (await connectGet('/connectors')).body as string[];
  expect(names.filter((name) => name === connector.name)).toHaveLength(1);
}, 90_000);

it('updates a connector whose file changed', async () => {
  const connector = fileSinkConnector();
  await cli('connectors', 'apply', connector.file);
  const moved = path.join(dir, `${connector.name}-moved.txt`);
  writeFileSync(
    connector.file,
    JSON.stringify({ name: connector.name, config: { ...connector.config, file: moved } }),
  );

  expect((await cli('connectors', 'apply', connector.file)).lines).toEqual([`${connector.name}: updated`]);
  await configOnceItIs(connector.name, { ...connector.config, file: moved, name: connector.name });
});

it("reports Connect's own reason for a connector class the worker lacks, applies the others, and fails", async () => {
  const refused = fileSinkConnector({ 'connector.class': 'io.example.NoSuchSinkConnector' });
  const accepted = fileSinkConnector();

  const run = await cli('connectors', 'apply', refused.file, accepted.file);

  expect(run.lines).toEqual([
    expect.stringMatching(
      new RegExp(
        `^${refused.name}: Kafka Connect refused ${refused.name} \\(\\d+\\): the worker has no connector class io\\.example\\.NoSuchSinkConnector \\(its plugins: .*org\\.apache\\.kafka\\.connect\\.file\\.FileStreamSinkConnector.*\\)$`,
      ),
    ),
    `${accepted.name}: created`,
  ]);
  expect(run.exitCode).toBe(1);
  // Right after a create the worker may still be rebalancing (it answers 409 or 500 meanwhile).
  await pollUntil(`${refused.name} unknown to the worker`, async () => {
    expect((await connectGet(`/connectors/${refused.name}/config`)).status).toBe(404);
    return true;
  });
  await configOnceItIs(accepted.name, { ...accepted.config, name: accepted.name });
});

it('reports a connector that was never applied as not deployed, and fails', async () => {
  const connector = fileSinkConnector();

  expect(await cli('connectors', 'status', connector.file)).toEqual({
    lines: [`${connector.name}: not deployed`],
    exitCode: 1,
  });
});
