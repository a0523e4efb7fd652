import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Io } from '../../../cli/main';
import { logger } from '../../../lib/logger';
import { runCli } from '../../support/cli';

const run = async (
  args: string[],
  fetch: Io['fetch'] = async () => Promise.reject(new Error('no network')),
) => (await runCli(args, fetch)).lines.join('\n');

describe('medstream CLI', () => {
  it.each([
    [[]],
    [['configure']],
    [['produce']],
    [['test']],
    [['test', 'producer']],
    [['test', 'connector']],
    [['connectors', 'apply']],
    [['connectors', 'status']],
  ])('prints --help for %j', async (command) => {
    expect(await run([...command, '--help'])).toMatch(/^Usage: medstream/);
  });

  it('configures non-interactively from flags and never echoes the password', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'medstream-cli-')), 'settings.json');
    const output = await run([
      '--config',
      file,
      'configure',
      '--yes',
      '--database-url',
      'postgres://u:topsecret@db:5432/sink',
      '--patients',
      '5',
      '--wards',
      'icu,er',
    ]);
    expect(output).not.toContain('topsecret');
    expect(output).toContain('postgres://u:****@db:5432/sink');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      databaseUrl: 'postgres://u:topsecret@db:5432/sink',
      patients: 5,
      wards: ['icu', 'er'],
    });
  });

  it('asks for each setting at a terminal, refusing a bad answer with the reason until it is fixed', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'medstream-cli-')), 'settings.json');
    const erase = (typed: string) => '\x7f'.repeat(typed.length);
    const { lines, screen } = await runCli(
      ['--config', file, 'configure'],
      async () => Promise.reject(new Error('no network')),
      [
        ['PostgreSQL host:port/database', 'db.internal:5433/vitals\r'],
        ['PostgreSQL user', '\r'],
        ['PostgreSQL password', 's3cret!\r'],
        ['Kafka brokers', 'kafka-1\r'],
        ['must be host:port, comma-separated', `${erase('kafka-1')}kafka-1:9092,kafka-2:9092\r`],
        ['Schema registry URL', 'registry\r'],
        ['Invalid url', `${erase('registry')}http://registry:8081\r`],
        ['Kafka Connect REST URL', '\r'],
        ['Simulated patients', `${erase('20')}500\r`],
        ['Wards', `${erase('default')}icu,er\r`],
      ],
    );
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      kafkaBrokers: 'kafka-1:9092,kafka-2:9092',
      schemaRegistryUrl: 'http://registry:8081',
      databaseUrl: 'postgres://medstream:s3cret!@db.internal:5433/vitals',
      connectUrl: 'http://127.0.0.1:8083',
      patients: 500,
      wards: ['icu', 'er'],
      seed: 42,
    });
    expect(screen).toContain('PostgreSQL password (Enter keeps the current one) *******');
    expect(`${screen}${lines.join('\n')}`).not.toContain('s3cret');
  });

  it('does not ask for what a flag gave, at a terminal', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'medstream-cli-')), 'settings.json');
    const { screen } = await runCli(
      ['--config', file, 'configure', '--database-url', 'postgres://u:p@db/sink', '--patients', '3'],
      async () => Promise.reject(new Error('no network')),
      [
        ['Kafka brokers', '\r'],
        ['Schema registry URL', '\r'],
        ['Kafka Connect REST URL', '\r'],
        ['Wards', '\r'],
      ],
    );
    expect(screen).not.toMatch(/PostgreSQL|Simulated patients/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      databaseUrl: 'postgres://u:p@db/sink',
      patients: 3,
    });
  });

  it('fails when the settings file --config names does not exist, which configure then writes', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'medstream-cli-')), 'typo.json');
    // The error the binary prints as one line (`medstream: …`, exit 1).
    await expect(
      runCli(['--config', file, 'connectors', 'status'], async () => Promise.reject(new Error('no network'))),
    ).rejects.toThrow(`${file}: no such settings file (\`medstream --config ${file} configure\` writes it)`);
    await run(['--config', file, 'configure', '--yes']);
    expect(existsSync(file)).toBe(true);
  });

  it("prints the libraries' logs only with --verbose", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'medstream-cli-')), 'settings.json');
    const before = logger.getLevelName();
    try {
      logger.setLogLevel('CRITICAL');
      await run(['--config', file, 'configure', '--yes']);
      expect(logger.getLevelName()).toBe('CRITICAL');
      await run(['--verbose', '--config', file, 'configure', '--yes']);
      expect(logger.getLevelName()).toBe('INFO');
    } finally {
      logger.setLogLevel(before);
    }
  });

  it('rejects a bad flag value with a message', async () => {
    await expect(run(['produce', '--rate', '-3'])).rejects.toThrow(/must be a positive number/);
  });

  it.each([
    ['configure', '', /at least one ward is required/],
    ['configure', ' , ', /at least one ward is required/],
    ['configure', 'icu,bad ward', /'bad ward': wards are topic suffixes/],
    ['produce', 'a-b', /'a-b': wards are topic suffixes/],
  ])('%s rejects --wards %j with a message', async (command, wards, message) => {
    await expect(run([command, '--wards', wards])).rejects.toThrow(message);
  });

  it('says that it asked nothing when stdin is not a terminal and --yes is not given', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'medstream-cli-')), 'settings.json');
    const quiet = await run(['--config', file, 'configure', '--yes', '--patients', '7']);
    expect(quiet).not.toContain('nothing was asked');
    const noted = await run(['--config', file, 'configure', '--seed', '9']);
    expect(noted).toMatch(/^stdin is not a terminal, so nothing was asked/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ patients: 7, seed: 9 });
  });

  it.each([
    ['RUNNING', [{ id: 0, state: 'RUNNING' }], 0],
    // Right after it is created a connector has no tasks yet: it moves no record.
    ['RUNNING', [], 1],
    [
      'RUNNING',
      [
        { id: 0, state: 'RUNNING' },
        { id: 1, state: 'FAILED' },
      ],
      1,
    ],
    ['PAUSED', [{ id: 0, state: 'PAUSED' }], 1],
  ])('connectors status: %s with tasks %j exits %d', async (state, tasks, exitCode) => {
    const body = { name: 'biometrics-postgres-connect', connector: { state }, tasks };
    const result = await runCli(['connectors', 'status', '--url', 'http://connect:8083'], async () => ({
      ok: true,
      status: 200,
      json: async () => body,
      text: async () => JSON.stringify(body),
    }));
    expect(result.lines).toEqual([
      expect.stringMatching(new RegExp(`^biometrics-postgres-connect: ${state}; tasks `)),
    ]);
    expect(result.exitCode).toBe(exitCode);
  });
});
