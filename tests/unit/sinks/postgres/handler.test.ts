import { ParseError, UnavailableError } from '../../../../lib/errors';
import type { KafkaEvent } from '../../../../lib/kafka/event';
import { jsonDecoder } from '../../../../lib/kafka/records';
import { logger } from '../../../../lib/logger';
import { parseSinkConnectorConfig } from '../../../../lib/sinks/postgres/config';
import { createSinkHandler } from '../../../../lib/sinks/postgres/handler';

const VALUE = { type: 'record', name: 'V', fields: [{ name: 'hr', type: 'int' }] };
const topic = 'biometrics_icu';

/** An ESM-shaped event with JSON values; the decoder below attaches the Avro schema. */
const event = (values: (number | null)[]): KafkaEvent => ({
  eventSource: 'SelfManagedKafka',
  records: {
    [`${topic}-0`]: values.map((hr, offset) => ({
      topic,
      partition: 0,
      offset,
      timestamp: 1,
      timestampType: 'CREATE_TIME' as const,
      value: hr === null ? null : Buffer.from(JSON.stringify({ hr })).toString('base64'),
      headers: [],
    })),
  },
});

const build = (writer: { fail?: Error }) => {
  const letters: { offset: number; message: string }[] = [];
  const handler = createSinkHandler({
    connector: parseSinkConnectorConfig({
      name: 's',
      'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
      topics: topic,
    }),
    decoders: {
      value: async (bytes) => {
        const decoded = await jsonDecoder(bytes);
        // hr 0 stands for bytes that are not Avro at all.
        if ((decoded.value as { hr?: number }).hr === 0)
          throw new ParseError('value is not in the Confluent wire format');
        return { ...decoded, schema: VALUE };
      },
    },
    tables: { ensureTable: async () => undefined, forget: () => undefined },
    writer: {
      writeChunks: async () => {
        if (writer.fail) throw writer.fail;
        return [];
      },
    },
    deadLetters: {
      deadLetter: async (batch) => {
        for (const letter of batch)
          letters.push({ offset: letter.record.offset, message: letter.reason.message });
      },
    },
    functionName: 'sink-test',
  });
  return { handler, letters };
};

describe('createSinkHandler', () => {
  it('answers with no failures when the batch is written, dead-lettering poison records', async () => {
    const { handler, letters } = build({});
    await expect(handler(event([80, null, 81]))).resolves.toEqual({ batchItemFailures: [] });
    expect(letters.map((letter) => letter.offset)).toEqual([1]);
    expect(letters[0]?.message).toContain("'delete.enabled=false'");
  });

  it("logs the event's records, those that did not decode included, beside what became of them", async () => {
    const info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    try {
      const { handler, letters } = build({});
      await handler(event([0, 0, null, 81]));
      expect(letters.map((letter) => letter.offset)).toEqual([0, 1, 2]);
      expect(info).toHaveBeenCalledWith(
        'sink batch written',
        expect.objectContaining({ records: 4, failed: 3 }),
      );
    } finally {
      info.mockRestore();
    }
  });

  it('reports every record for retry when the database is unavailable', async () => {
    const { handler, letters } = build({ fail: new UnavailableError('cannot connect to PostgreSQL') });
    await expect(handler(event([80, 81]))).resolves.toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: `${topic}-0`, offset: 0 } },
        { itemIdentifier: { partition: `${topic}-0`, offset: 1 } },
      ],
    });
    expect(letters).toEqual([]);
  });
});
