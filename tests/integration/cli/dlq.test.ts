import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { replayGroupOf } from '../../../cli/dead-letters';
import { loadConfig } from '../../../lib/config';
import { createDeadLetterPublisher, createKafka, createProducer } from '../../../lib/kafka/client';
import type { KafkaEventRecord } from '../../../lib/kafka/event';
import { runCli } from '../../support/cli';

// `medstream dlq show` and `dlq replay` on the real broker, over dead letters written by the
// functions' own publisher (lib/kafka/client.ts) to a topic of the test's own (--topic).

jest.setTimeout(60_000);

const config = loadConfig();
const dir = mkdtempSync(path.join(tmpdir(), 'medstream-dlq-'));
// An empty settings file: the defaults and the environment, not a developer's .medstream.json.
const settingsFile = path.join(dir, 'settings.json');
writeFileSync(settingsFile, '{}');
const kafka = new Kafka({ brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const producer = createProducer(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'dlq-test' }));
const suffix = randomUUID().slice(0, 8);
const dlqTopic = `dlq-test-${suffix}`;
const rawTopic = `raw.dlq-test-${suffix}`;
const otherTopic = `dlqtest_${suffix}`;
const sharedTopic = `dlqtest_shared_${suffix}`;
const publisher = createDeadLetterPublisher(producer, dlqTopic);

const cli = (...args: string[]) => runCli(['--config', settingsFile, ...args], fetch);

const eventRecord = (topic: string, offset: number, value: Buffer, key = `k${offset}`): KafkaEventRecord => ({
  topic,
  partition: 0,
  offset,
  timestamp: 1_795_000_000_000 + offset,
  timestampType: 'CREATE_TIME',
  key: Buffer.from(key).toString('base64'),
  value: value.toString('base64'),
  headers: [{ 'medstream-batch-id': [...Buffer.from(`batch-${offset}`)] }],
});

const deadLetter = (
  record: KafkaEventRecord,
  type: string,
  message: string,
  functionName = 'medstream-local-transform',
) => publisher.deadLetter([{ record, reason: { type, message }, functionName }]);

/** Every record of `topic`, read from the start with a throwaway group. */
const readAll = async (topic: string, count: number): Promise<KafkaMessage[]> => {
  const consumer = kafka.consumer({ groupId: `dlq-test-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      messages.push(message);
    },
  });
  const deadline = Date.now() + 20_000;
  while (messages.length < count && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  // A moment more: a record too many would show up now.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await consumer.disconnect();
  return messages;
};

beforeAll(async () => {
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: dlqTopic, numPartitions: 2 },
      { topic: rawTopic },
      { topic: otherTopic },
      { topic: sharedTopic },
    ],
    waitForLeaders: true,
  });
});

afterAll(async () => {
  await admin.deleteTopics({ topics: [dlqTopic, rawTopic, otherTopic, sharedTopic] }).catch(() => undefined);
  await admin.deleteGroups([replayGroupOf(rawTopic), replayGroupOf(sharedTopic)]).catch(() => undefined);
  await admin.disconnect();
  await producer.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('medstream dlq', () => {
  it('says so when nothing was dead-lettered', async () => {
    const run = await cli('dlq', 'show', '--topic', dlqTopic);
    expect(run).toEqual({ lines: [`${dlqTopic}: 0 records (nothing was dead-lettered)`], exitCode: 0 });
  });

  it('shows the dead letters counted by function and reason, the last ones with where they came from', async () => {
    await deadLetter(
      eventRecord(rawTopic, 7, Buffer.from('{"subject_id":"x"}')),
      'MappingError',
      'subject_id: not an integer',
    );
    await deadLetter(
      eventRecord(rawTopic, 8, Buffer.from([0, 0, 0, 0x7f, 0xff, 1, 2])),
      'MappingError',
      'gender: missing',
    );
    await deadLetter(
      eventRecord(otherTopic, 3, Buffer.from([0, 0, 0, 0x7f, 0xff])),
      'SchemaError',
      'schema id 32767 is unknown to the registry',
      'medstream-local-sinkPostgres',
    );

    const run = await cli('dlq', 'show', '--topic', dlqTopic, '--limit', '2');
    expect(run.exitCode).toBe(0);
    expect(run.lines.slice(0, 3)).toEqual([
      `${dlqTopic}: 3 records`,
      '         2  medstream-local-transform MappingError',
      '         1  medstream-local-sinkPostgres SchemaError',
    ]);
    expect(run.lines[3]).toBe('the last 2 (--limit), oldest first:');
    const at = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z [01]@\\d+';
    expect(run.lines.slice(4)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${at} medstream-local-transform ← raw\\.dlq-test-${suffix}\\[0\\]@8: MappingError: gender: missing$`,
        ),
      ),
      '    key "k8" value 7 bytes (0000007fff0102) headers medstream-batch-id',
      expect.stringMatching(
        new RegExp(
          `^${at} medstream-local-sinkPostgres ← ${otherTopic}\\[0\\]@3: SchemaError: schema id 32767 is unknown to the registry$`,
        ),
      ),
      '    key "k3" value 5 bytes (0000007fff) headers medstream-batch-id',
    ]);

    const filtered = await cli('dlq', 'show', '--topic', dlqTopic, '--source', rawTopic, '--json');
    const letters = filtered.lines.map((line) => JSON.parse(line));
    expect(letters.map((letter) => [letter.source.offset, letter.reason.type])).toEqual([
      ['7', 'MappingError'],
      ['8', 'MappingError'],
    ]);
    expect(Buffer.from(letters[0].value, 'base64').toString()).toBe('{"subject_id":"x"}');
  });

  it('replays one topic’s dead letters once: original key, value and headers, and where they were', async () => {
    const dryRun = await cli('dlq', 'replay', '--topic', dlqTopic, '--source', rawTopic, '--dry-run');
    expect(dryRun.lines).toEqual([
      `would send 2 dead letters back to ${rawTopic} (1 of other topics left in ${dlqTopic})`,
    ]);

    const first = await cli('dlq', 'replay', '--topic', dlqTopic, '--source', rawTopic);
    expect(first.lines).toEqual([
      `sent 2 dead letters back to ${rawTopic} (1 of other topics left in ${dlqTopic})`,
    ]);
    const replayed = await readAll(rawTopic, 2);
    expect(replayed.map((message) => [message.key?.toString(), message.value?.toString('hex')])).toEqual([
      ['k7', Buffer.from('{"subject_id":"x"}').toString('hex')],
      ['k8', '0000007fff0102'],
    ]);
    expect(replayed[0]?.headers?.['medstream-batch-id']?.toString()).toBe('batch-7');
    expect(replayed[0]?.headers?.['medstream.dlq.replayed-from']?.toString()).toMatch(
      new RegExp(`^${dlqTopic}/[01]/\\d+$`),
    );
    // The reason is not sent back: the record is as its producer wrote it.
    expect(
      Object.keys(replayed[0]?.headers ?? {}).filter((name) => name.startsWith('medstream.dlq.')),
    ).toEqual(['medstream.dlq.replayed-from']);

    // Replayed already: a second replay sends only what was dead-lettered since.
    const again = await cli('dlq', 'replay', '--topic', dlqTopic, '--source', rawTopic);
    expect(again.lines[0]).toMatch(
      /^sent 0 dead letters back to .* read by earlier replays \(--again sends them too\)\)$/,
    );
    await deadLetter(eventRecord(rawTopic, 9, Buffer.from('late')), 'MappingError', 'late');
    const later = await cli('dlq', 'replay', '--topic', dlqTopic, '--source', rawTopic);
    expect(later.lines[0]).toMatch(/^sent 1 dead letter back/);
    const all = await cli('dlq', 'replay', '--topic', dlqTopic, '--source', rawTopic, '--again');
    expect(all.lines[0]).toMatch(/^sent 3 dead letters back/);
    expect((await readAll(rawTopic, 6)).map((message) => message.key?.toString())).toEqual([
      'k7',
      'k8',
      'k9',
      'k7',
      'k8',
      'k9',
    ]);
  });

  it('sends a record that several functions dead-lettered back once', async () => {
    const record = eventRecord(sharedTopic, 4, Buffer.from('poison'));
    await deadLetter(record, 'ParseError', 'not Avro', 'medstream-local-sinkPostgres');
    await deadLetter(record, 'ParseError', 'not Avro', 'medstream-local-archive');
    await deadLetter(eventRecord(sharedTopic, 5, Buffer.from('other')), 'ParseError', 'not Avro');
    const dryRun = await cli('dlq', 'replay', '--topic', dlqTopic, '--source', sharedTopic, '--dry-run');
    expect(dryRun.lines.at(-1)).toMatch(
      /^would send 2 dead letters back to .*; 1 more of records it sends once, dead-lettered by more than one function\)$/,
    );
    const sent = await cli('dlq', 'replay', '--topic', dlqTopic, '--source', sharedTopic);
    expect(sent.lines.at(-1)).toMatch(
      /^sent 2 dead letters back to .*; 1 more of records sent once, dead-lettered/,
    );
    expect((await readAll(sharedTopic, 2)).map((message) => message.key?.toString())).toEqual(['k4', 'k5']);
  });
});
