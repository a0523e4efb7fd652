import path from 'node:path';
import { input, number, password } from '@inquirer/prompts';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createAvroRegistry } from '../lib/avro/registry';
import { createReadingPublisher } from '../lib/biometrics/publisher';
import { topicOfWard, WARD_PATTERN, WARD_RULE } from '../lib/biometrics/schema';
import { createSimulation } from '../lib/biometrics/simulation';
import { createPopulation } from '../lib/biometrics/simulator';
import type { Config } from '../lib/config';
import { messageWithCause } from '../lib/errors';
import { createKafka, createProducer } from '../lib/kafka/client';
import { logger } from '../lib/logger';
import { createSeededRandom } from '../lib/random';
import { parseSinkConnectorConfig, type SinkConnectorConfig } from '../lib/sinks/postgres/config';
import { createConnectClient, type Fetch, readConnectorFiles } from './connect-client';
import {
  deadLetterJson,
  formatDeadLetter,
  readDeadLetters,
  replayCaution,
  replayDeadLetters,
} from './dead-letters';
import { testConnector, testProducer } from './probes';
import {
  connectUrlOf,
  DEFAULT_SETTINGS_FILE,
  readSettings,
  redactUrl,
  type Settings,
  settingProblem,
  toConfig,
  writeSettings,
} from './settings';

/** A sink connector file (Kafka Connect JSON), parsed as the sink parses it. */
const readSinkConnector = (file: string): SinkConnectorConfig => {
  const [connector] = readConnectorFiles([file]);
  return parseSinkConnectorConfig({ name: connector?.name, ...connector?.config }, file);
};

const positiveInt = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
};

const positiveNumber = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive number');
  return parsed;
};

/** A comma-separated ward list as given, and what is wrong with it (nothing: undefined). */
const splitWards = (value: string): { wards: string[]; problem?: string } => {
  const wards = value
    .split(',')
    .map((ward) => ward.trim())
    .filter(Boolean);
  if (wards.length === 0) return { wards, problem: 'at least one ward is required' };
  const bad = wards.find((ward) => !WARD_PATTERN.test(ward));
  return bad === undefined ? { wards } : { wards, problem: `'${bad}': ${WARD_RULE}` };
};

/** `--wards`: at least one ward, each a valid topic suffix. */
const wardList = (value: string): string[] => {
  const { wards, problem } = splitWards(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return wards;
};

/**
 * Where output goes: injectable so tests capture it, and type the prompts' answers (`terminal`: the
 * streams of one prompt, which ends its output when it is answered).
 */
export type Io = {
  out(line: string): void;
  err(line: string): void;
  interactive: boolean;
  fetch: Fetch;
  terminal?: () => { input: NodeJS.ReadableStream; output: NodeJS.WritableStream };
};

const defaultIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  interactive: process.stdin.isTTY === true,
  fetch: (url, init) => fetch(url, init),
};

const root = path.resolve(__dirname, '..');

/** Builds the `medstream` program; `--help` works on every command (commander). */
export const buildProgram = (io: Io = defaultIo): Command => {
  const program = new Command('medstream')
    .description(
      'medstream: clinical data streams on Kafka: simulate biometrics, sink them, manage connectors',
    )
    .option(
      '-c, --config <file>',
      'settings file written by `medstream configure` (one named here must exist, but for configure)',
      process.env.MEDSTREAM_CONFIG ?? DEFAULT_SETTINGS_FILE,
    )
    .option('-v, --verbose', "also print the libraries' logs (Kafka client retries, sink warnings)")
    .hook('preAction', () => {
      if (program.opts<{ verbose?: boolean }>().verbose) logger.setLogLevel('INFO');
    })
    .showHelpAfterError()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
    });

  // A file named by --config or MEDSTREAM_CONFIG must exist (but for `configure`, which writes it).
  const settingsOf = () =>
    readSettings(program.opts<{ config: string }>().config, {
      required:
        program.getOptionValueSource('config') === 'cli' || process.env.MEDSTREAM_CONFIG !== undefined,
    });
  const configOf = () => toConfig(settingsOf(), process.env);
  const kafkaOf = (config: Config) =>
    createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-cli` });
  const connectClientOf = (url: string | undefined) =>
    createConnectClient(url ?? connectUrlOf(process.env, settingsOf()), io.fetch);

  program
    .command('configure')
    .description(
      'write the settings file: asks for each value (Enter keeps the default) or takes them from flags',
    )
    .option('--kafka-brokers <list>', 'Kafka bootstrap servers, comma-separated')
    .option('--schema-registry-url <url>', 'Confluent-compatible schema registry URL')
    .option('--database-url <url>', 'PostgreSQL URL of the sink database (its password is never printed)')
    .option('--connect-url <url>', 'Kafka Connect REST URL (for `connectors apply|status`)')
    .option('--patients <n>', 'simulated patients', positiveInt)
    .option('--wards <list>', 'wards, comma-separated (topics biometrics_<ward>)', wardList)
    .option('--seed <n>', 'simulator seed', (value) => Number.parseInt(value, 10))
    .option('-y, --yes', 'do not ask: flags and current values only (for scripts)')
    .action(
      async (
        flags: Partial<
          Record<'kafkaBrokers' | 'schemaRegistryUrl' | 'databaseUrl' | 'connectUrl', string>
        > & { patients?: number; seed?: number; wards?: string[]; yes?: boolean },
      ) => {
        const file = program.opts<{ config: string }>().config;
        const current = readSettings(file);
        const given: Partial<Settings> = {
          ...(flags.kafkaBrokers === undefined ? {} : { kafkaBrokers: flags.kafkaBrokers }),
          ...(flags.schemaRegistryUrl === undefined ? {} : { schemaRegistryUrl: flags.schemaRegistryUrl }),
          ...(flags.databaseUrl === undefined ? {} : { databaseUrl: flags.databaseUrl }),
          ...(flags.connectUrl === undefined ? {} : { connectUrl: flags.connectUrl }),
          ...(flags.patients === undefined ? {} : { patients: flags.patients }),
          ...(flags.wards === undefined ? {} : { wards: flags.wards }),
          ...(flags.seed === undefined ? {} : { seed: flags.seed }),
        };
        let settings: Settings = { ...current, ...given };
        if (!flags.yes && io.interactive) {
          const ask = async (message: string, key: 'kafkaBrokers' | 'schemaRegistryUrl' | 'connectUrl') =>
            given[key] ??
            (await input(
              {
                message,
                default: settings[key],
                validate: (value) => settingProblem(key, value) ?? true,
              },
              io.terminal?.(),
            ));
          // The sink database by its parts, the password masked: Enter keeps the stored one, never shown.
          const askDatabaseUrl = async () => {
            const database = new URL(settings.databaseUrl);
            const databaseHost = await input(
              {
                message: 'PostgreSQL host:port/database',
                default: `${database.host}${database.pathname}`,
                validate: (value) => settingProblem('databaseUrl', `postgres://${value}`) ?? true,
              },
              io.terminal?.(),
            );
            const user = await input(
              { message: 'PostgreSQL user', default: decodeURIComponent(database.username) },
              io.terminal?.(),
            );
            const secret = await password(
              { message: 'PostgreSQL password (Enter keeps the current one)', mask: '*' },
              io.terminal?.(),
            );
            return `postgres://${encodeURIComponent(user)}:${secret === '' ? database.password : encodeURIComponent(secret)}@${databaseHost}`;
          };
          const databaseUrl = given.databaseUrl ?? (await askDatabaseUrl());
          settings = {
            ...settings,
            kafkaBrokers: await ask('Kafka brokers', 'kafkaBrokers'),
            schemaRegistryUrl: await ask('Schema registry URL', 'schemaRegistryUrl'),
            databaseUrl,
            connectUrl: await ask('Kafka Connect REST URL', 'connectUrl'),
            patients:
              given.patients ??
              (await number(
                {
                  message: 'Simulated patients',
                  default: settings.patients,
                  min: 1,
                  max: 100_000,
                  required: true,
                },
                io.terminal?.(),
              )) ??
              settings.patients,
            wards:
              given.wards ??
              splitWards(
                await input(
                  {
                    message: 'Wards (comma-separated)',
                    default: settings.wards.join(','),
                    validate: (value) => splitWards(value).problem ?? true,
                  },
                  io.terminal?.(),
                ),
              ).wards,
          };
        } else if (!flags.yes) {
          io.err(
            'stdin is not a terminal, so nothing was asked: writing the flags given over the current values (-y: no note)',
          );
        }
        writeSettings(file, settings);
        io.out(`wrote ${file}`);
        io.out(JSON.stringify({ ...settings, databaseUrl: redactUrl(settings.databaseUrl) }, null, 2));
      },
    );

  program
    .command('produce')
    .description(
      'run the biometrics simulator continuously, publishing Avro readings to biometrics_<ward>, with a live count',
    )
    .addOption(
      new Option(
        '--rate <readings/s>',
        'readings per second (default: one reading per patient per second)',
      ).argParser(positiveNumber),
    )
    .option('--patients <n>', 'simulated patients (default: from settings)', positiveInt)
    .option('--wards <list>', 'wards, comma-separated (default: from settings)', wardList)
    .option('--count <n>', 'stop after this many readings', positiveInt)
    .action(async (flags: { rate?: number; patients?: number; wards?: string[]; count?: number }) => {
      const config = configOf();
      const patients = flags.patients ?? config.SIMULATOR_PATIENTS;
      const wards = flags.wards ?? config.SIMULATOR_WARDS;
      const random = createSeededRandom(config.SIMULATOR_SEED);
      // Topics are created up front (idempotent) rather than auto-created by the first send.
      const kafka = kafkaOf(config);
      const admin = kafka.admin();
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const missing = wards.map(topicOfWard).filter((topic) => !existing.has(topic));
      if (missing.length > 0)
        await admin.createTopics({ topics: missing.map((topic) => ({ topic })), waitForLeaders: true });
      await admin.disconnect();
      const producer = createProducer(kafka);
      const simulation = createSimulation({
        population: createPopulation({ patients, wards }, random),
        publisher: createReadingPublisher({
          registry: createAvroRegistry(config.SCHEMA_REGISTRY_URL),
          sender: producer,
        }),
        random,
      });
      // One tick publishes one reading per patient; the interval between ticks sets the rate.
      const intervalMs = flags.rate === undefined ? 1000 : (patients * 1000) / flags.rate;
      let published = 0;
      let stopping = false;
      const stop = () => {
        stopping = true;
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const started = Date.now();
      io.err(
        `producing ${patients} patients in ${wards.map(topicOfWard).join(', ')} every ${Math.round(intervalMs)} ms (Ctrl-C stops)`,
      );
      try {
        for (let tick = 0; !stopping && (flags.count === undefined || published < flags.count); tick += 1) {
          const wait = started + tick * intervalMs - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          const remaining = flags.count === undefined ? undefined : flags.count - published;
          published += (await simulation.run(Date.now(), 1, remaining)).published;
          const line = `published ${published} readings (${((published * 1000) / Math.max(1, Date.now() - started)).toFixed(0)}/s)`;
          if (process.stderr.isTTY) process.stderr.write(`\r${line}`);
          else if (tick % 10 === 0) io.err(line);
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await producer.disconnect();
      }
      if (process.stderr.isTTY) process.stderr.write('\n');
      io.out(`published ${published} readings`);
    });

  const test = program.command('test').description('check the pipeline on the configured services');
  test
    .command('producer')
    .description('publish one reading to a fresh topic and read it back; report how long it took')
    .option('--keep', 'keep the test topic')
    .option('--timeout <s>', 'give up after this many seconds', positiveInt, 30)
    .action(async (flags: { keep?: boolean; timeout: number }) => {
      const result = await testProducer(configOf(), {
        keep: flags.keep === true,
        timeoutMs: flags.timeout * 1000,
      });
      io.out(
        `topic ${result.topic}: produced in ${result.producedMs.toFixed(0)} ms, ${result.received ? `read back after ${result.readBackMs.toFixed(0)} ms` : `not read back within ${flags.timeout} s`}`,
      );
      if (!result.received) process.exitCode = 1;
    });
  test
    .command('connector')
    .description('produce to a fresh topic; report how long until its table exists and holds the row')
    .option(
      '--connector <file>',
      'sink connector file',
      path.join(root, 'connectors/sinks/biometrics-postgres.json'),
    )
    .option(
      '--external',
      'only watch PostgreSQL: the sink runs elsewhere (e.g. Kafka Connect with topics.regex)',
    )
    .option('--keep', 'keep the test topic and table')
    .option('--timeout <s>', 'give up after this many seconds', positiveInt, 60)
    .action(async (flags: { connector: string; external?: boolean; keep?: boolean; timeout: number }) => {
      const connector = readSinkConnector(flags.connector);
      const result = await testConnector(configOf(), connector, {
        external: flags.external === true,
        keep: flags.keep === true,
        timeoutMs: flags.timeout * 1000,
      });
      const { topic, table, tableMs, rowMs } = result;
      if (tableMs === undefined)
        io.out(`topic ${topic}: table ${table} did not appear within ${flags.timeout} s`);
      else if (rowMs === undefined)
        io.out(
          `topic ${topic}: table ${table} existed after ${tableMs.toFixed(0)} ms, but held no row within ${flags.timeout} s`,
        );
      else
        io.out(
          `topic ${topic}: table ${table} existed after ${tableMs.toFixed(0)} ms, held the row after ${rowMs.toFixed(0)} ms`,
        );
      if (rowMs !== undefined) return;
      process.exitCode = 1;
      io.err(
        flags.external === true
          ? `nothing wrote the row: with --external the sink must subscribe to ${topic} itself (topics.regex, as a Kafka Connect connector can; the local trigger reads only the topics in serverless.yml)`
          : 'the sink did not write the row: see the errors above (--verbose shows its logs)',
      );
    });

  const dlq = program
    .command('dlq')
    .description('the dead-letter topic: records no function could ever process, with the reason');
  const dlqTopicOption = new Option(
    '--topic <name>',
    'the dead-letter topic (default: DLQ_TOPIC, else medstream.dlq)',
  );
  const timeoutOption = new Option('--timeout <s>', 'give up after this many seconds')
    .argParser(positiveInt)
    .default(60);
  dlq
    .command('show')
    .description('count the dead letters by function and reason, and show the last ones')
    .addOption(dlqTopicOption)
    .option('--source <topic>', 'only records that came from this topic')
    .option(
      '--function <name>',
      'only records this function dead-lettered (e.g. medstream-local-sinkPostgres)',
    )
    .option('--limit <n>', 'show the last n records', positiveInt, 20)
    .option('--json', 'one JSON object per record (key, value and headers base64), no summary')
    .addOption(timeoutOption)
    .action(
      async (flags: {
        topic?: string;
        source?: string;
        function?: string;
        limit: number;
        json?: boolean;
        timeout: number;
      }) => {
        const config = configOf();
        const topic = flags.topic ?? config.DLQ_TOPIC;
        const report = await readDeadLetters(kafkaOf(config), topic, {
          filter: {
            ...(flags.source === undefined ? {} : { source: flags.source }),
            ...(flags.function === undefined ? {} : { function: flags.function }),
          },
          limit: flags.limit,
          timeoutMs: flags.timeout * 1000,
        });
        if (flags.json) {
          for (const letter of report.latest) io.out(JSON.stringify(deadLetterJson(letter)));
          return;
        }
        const filtered = flags.source !== undefined || flags.function !== undefined;
        io.out(
          `${topic}: ${report.total} records${filtered ? `, ${report.matched} matching` : ''}${report.total === 0 ? ' (nothing was dead-lettered)' : ''}`,
        );
        for (const [what, count] of [...report.counts].sort((a, b) => b[1] - a[1])) {
          io.out(`  ${String(count).padStart(8)}  ${what}`);
        }
        if (report.latest.length === 0) return;
        io.out(
          report.latest.length < report.matched
            ? `the last ${report.latest.length} (--limit), oldest first:`
            : 'oldest first:',
        );
        for (const letter of report.latest) for (const line of formatDeadLetter(letter)) io.out(line);
      },
    );
  dlq
    .command('replay')
    .description(
      'send the dead letters of one topic back to it (once its function is fixed): original key, value and headers; each replay sends only what was dead-lettered since the last',
    )
    .requiredOption('--source <topic>', 'the topic whose dead letters to send back')
    .addOption(dlqTopicOption)
    .option('--dry-run', 'count what would be sent; send nothing')
    .option('--again', 'start over: also send what earlier replays sent')
    .option(
      '--connector <file>',
      'sink connector file: says when it writes the topic by key (a replay then replaces rows)',
      path.join(root, 'connectors/sinks/biometrics-postgres.json'),
    )
    .addOption(timeoutOption)
    .action(
      async (flags: {
        source: string;
        topic?: string;
        dryRun?: boolean;
        again?: boolean;
        connector: string;
        timeout: number;
      }) => {
        const config = configOf();
        const topic = flags.topic ?? config.DLQ_TOPIC;
        // Advice only: a connector file that cannot be read does not stop a replay.
        try {
          const caution = replayCaution(readSinkConnector(flags.connector), flags.source);
          if (caution !== undefined) io.out(caution);
        } catch (error) {
          io.err(
            `note: could not check whether the sink writes ${flags.source} by key: ${messageWithCause(error)}`,
          );
        }
        const kafka = kafkaOf(config);
        const producer = createProducer(kafka);
        try {
          const result = await replayDeadLetters(
            kafka,
            (target, messages) => producer.send(target, messages),
            topic,
            {
              source: flags.source,
              dryRun: flags.dryRun === true,
              again: flags.again === true,
              timeoutMs: flags.timeout * 1000,
            },
          );
          const earlier =
            result.alreadyReplayed > 0
              ? `; ${result.alreadyReplayed} read by earlier replays (--again sends them too)`
              : '';
          const copies =
            result.duplicates > 0
              ? `; ${result.duplicates} more of records ${flags.dryRun ? 'it sends' : 'sent'} once, dead-lettered by more than one function`
              : '';
          io.out(
            `${flags.dryRun ? 'would send' : 'sent'} ${result.replayed} dead letter${result.replayed === 1 ? '' : 's'} back to ${flags.source}` +
              ` (${result.skipped} of other topics left in ${topic}${earlier}${copies})`,
          );
        } finally {
          await producer.disconnect();
        }
      },
    );

  const connectors = program
    .command('connectors')
    .description('Kafka Connect: apply connector files, show their status');
  connectors
    .command('apply')
    .description(
      'create or update connectors (PUT /connectors/{name}/config: applying twice changes nothing)',
    )
    .argument('[paths...]', 'connector files or directories', [
      path.join(root, 'connectors/sinks/biometrics-postgres.connect.json'),
    ])
    .option('--url <url>', 'Kafka Connect REST URL (default: KAFKA_CONNECT_URL, else the settings file)')
    .action(async (paths: string[], flags: { url?: string }) => {
      const client = connectClientOf(flags.url);
      // Every connector is tried: one that Connect refuses does not keep the others from being applied.
      for (const connector of readConnectorFiles(paths)) {
        try {
          io.out(`${connector.name}: ${await client.apply(connector)}`);
        } catch (error) {
          io.err(`${connector.name}: ${error instanceof Error ? error.message : String(error)}`);
          process.exitCode = 1;
        }
      }
    });
  connectors
    .command('status')
    .description('show the state of connectors and their tasks')
    .argument('[paths...]', 'connector files or directories', [
      path.join(root, 'connectors/sinks/biometrics-postgres.connect.json'),
    ])
    .option('--url <url>', 'Kafka Connect REST URL (default: KAFKA_CONNECT_URL, else the settings file)')
    .action(async (paths: string[], flags: { url?: string }) => {
      const client = connectClientOf(flags.url);
      for (const connector of readConnectorFiles(paths)) {
        const status = await client.status(connector.name);
        if (status === undefined) {
          io.out(`${connector.name}: not deployed`);
          process.exitCode = 1;
          continue;
        }
        io.out(
          `${status.name}: ${status.state}; tasks ${status.tasks.map((task) => `${task.id}=${task.state}`).join(', ') || 'none'}`,
        );
        // A connector without tasks moves no record (right after it is created, its tasks are not
        // assigned yet): that is not running either.
        const running =
          status.state === 'RUNNING' &&
          status.tasks.length > 0 &&
          status.tasks.every((task) => task.state === 'RUNNING');
        if (!running) process.exitCode = 1;
      }
    });
  return program;
};

/** Runs the CLI; errors print one line (no stack) and exit non-zero. */
export const main = async (argv: string[]): Promise<void> => {
  // The CLI prints its own lines, and a failure as one line: the structured logger (a Kafka client
  // retrying a broker that is down logs a dozen errors first) stays quiet unless asked (--verbose).
  if (process.env.POWERTOOLS_LOG_LEVEL === undefined) logger.setLogLevel('CRITICAL');
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`medstream: ${messageWithCause(error)}\n`);
    process.exitCode = 1;
  }
};
