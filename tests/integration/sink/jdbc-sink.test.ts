import { makeHandler } from '../../../functions/sink-postgres';
import type { AvroSchema } from '../../../lib/avro/registry';
import { UnavailableError } from '../../../lib/errors';
import type { KafkaEvent, KafkaEventRecord } from '../../../lib/kafka/event';
import { avroDecoder } from '../../../lib/kafka/records';
import { logger } from '../../../lib/logger';
import { createSeededRandom, randomInt } from '../../../lib/random';
import { parseSinkConnectorConfig } from '../../../lib/sinks/postgres/config';
import { createSinkPool } from '../../../lib/sinks/postgres/pg-pool';
import { createPgChunkWriter, createPgTableStore } from '../../../lib/sinks/postgres/pg-store';
import {
  cleanUp,
  columnsOf,
  consumeAsEvent,
  createTestTopic,
  db,
  pollUntil,
  produce,
  produceAvro,
  readDeadLetters,
  registerCleanup,
  registerRaw,
  registry,
  sinkHandlerFor,
} from './support';

afterAll(cleanUp);

const KEY: AvroSchema = { type: 'record', name: 'Key', fields: [{ name: 'patient_id', type: 'string' }] };
const READING: AvroSchema = {
  type: 'record',
  name: 'Reading',
  fields: [
    { name: 'patient_id', type: 'string' },
    { name: 'heart_rate', type: 'int' },
    { name: 'time', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};
const reading = (patient: string, heartRate: number, time = Date.UTC(2026, 0, 1, 10, 0, 0)) => ({
  key: { patient_id: patient },
  value: { patient_id: patient, heart_rate: heartRate, time },
});

const rowsOf = async (table: string, orderBy = '"patient_id"') =>
  (await db.query(`SELECT * FROM "${table}" ORDER BY ${orderBy}`)).rows;

/** The pk.mode kafka table of READING, made in advance, whose CHECK refuses a heart rate of 81. */
const createCheckedKafkaTable = (topic: string) =>
  db.query(
    `CREATE TABLE "${topic}" ("__connect_topic" TEXT NOT NULL, "__connect_partition" INT NOT NULL, "__connect_offset" BIGINT NOT NULL, patient_id TEXT NOT NULL, heart_rate INT NOT NULL CHECK (heart_rate <> 81), time TIMESTAMP NOT NULL, PRIMARY KEY ("__connect_topic", "__connect_partition", "__connect_offset"))`,
  );

/** The event with only the first `count` records of its one partition (a partial delivery). */
const firstRecordsOf = (event: KafkaEvent, count: number): KafkaEvent => {
  const [[key, records] = ['', []]] = Object.entries(event.records);
  return { ...event, records: { [key]: records.slice(0, count) } };
};

/**
 * Delivers a one-partition event in random slices, each starting at or before where the previous
 * one ended (a redelivery after a partial commit, as a retried batch would be) and going further.
 */
const deliverOverlapping = async (
  random: () => number,
  handler: (event: KafkaEvent) => Promise<unknown>,
  event: KafkaEvent,
  onSlice: (slice: KafkaEventRecord[]) => void = () => undefined,
): Promise<void> => {
  const [[key, records] = ['', []]] = Object.entries(event.records);
  for (let end = 0; end < records.length; ) {
    const start = randomInt(random, Math.max(0, end - 800), end);
    end = Math.min(records.length, end + randomInt(random, 300, 2000));
    const slice = records.slice(start, end);
    onSlice(slice);
    await expect(handler({ ...event, records: { [key]: slice } })).resolves.toEqual({
      batchItemFailures: [],
    });
  }
};

describe('auto.create', () => {
  it('creates the table with the JDBC sink type of every Avro type, and writes each value', async () => {
    const topic = await createTestTopic();
    const schema: AvroSchema = {
      type: 'record',
      name: 'AllTypes',
      fields: [
        { name: 'i', type: 'int' },
        { name: 'l', type: 'long' },
        { name: 'f', type: 'float' },
        { name: 'd', type: 'double' },
        { name: 'b', type: 'boolean' },
        { name: 's', type: 'string' },
        { name: 'raw', type: 'bytes' },
        { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
        { name: 'day', type: { type: 'int', logicalType: 'date' } },
        { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
        { name: 'note', type: ['null', 'string'], default: null },
        { name: 'unit', type: 'string', default: 'bpm' },
        { name: 'level', type: { type: 'enum', name: 'Level', symbols: ['A', 'C', 'V'] } },
      ],
    };
    const value = {
      i: -7,
      l: 1_234_567_890_123,
      f: 1.5,
      d: 36.6,
      b: true,
      s: 'tab\there, "quotes", back\\slash\nnewline',
      raw: Buffer.from([0, 1, 255]),
      ts: Date.UTC(2026, 10, 22, 23, 59, 58, 123),
      day: 20_000,
      amount: Buffer.from([0xff, 0x85]), // -123 unscaled → -1.23
      note: null,
      unit: 'mmHg',
      level: 'C',
    };
    await produceAvro(topic, { value: schema }, [{ value }]);
    const { handler } = await sinkHandlerFor({ topics: topic, 'auto.create': 'true' });
    await expect(handler(await consumeAsEvent(topic, 1))).resolves.toEqual({ batchItemFailures: [] });

    expect(
      (await columnsOf(topic)).map((c) => [c.column_name, c.data_type, c.is_nullable, c.column_default]),
    ).toEqual([
      ['i', 'integer', 'NO', null],
      ['l', 'bigint', 'NO', null],
      ['f', 'real', 'NO', null],
      ['d', 'double precision', 'NO', null],
      ['b', 'boolean', 'NO', null],
      ['s', 'text', 'NO', null],
      ['raw', 'bytea', 'NO', null],
      ['ts', 'timestamp without time zone', 'NO', null],
      ['day', 'date', 'NO', null],
      ['amount', 'numeric', 'NO', null],
      ['note', 'text', 'YES', null],
      ['unit', 'text', 'NO', "'bpm'::text"],
      ['level', 'text', 'NO', null],
    ]);
    const { rows } = await db.query(
      `SELECT i, l::text AS l, f, d, b, s, raw, to_char(ts, 'YYYY-MM-DD HH24:MI:SS.MS') AS ts, day::text AS day, amount::text AS amount, note, unit, level FROM "${topic}"`,
    );
    expect(rows).toEqual([
      {
        i: -7,
        l: '1234567890123',
        f: 1.5,
        d: 36.6,
        b: true,
        s: value.s,
        raw: Buffer.from([0, 1, 255]),
        ts: '2026-11-22 23:59:58.123',
        day: '2024-10-04',
        amount: '-1.23',
        note: null,
        unit: 'mmHg',
        level: 'C',
      },
    ]);
  });

  it('dead-letters with the connector message when auto.create is off', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [reading('p1', 80)]);
    const { handler, dlqTopic } = await sinkHandlerFor({ topics: topic });
    await expect(handler(await consumeAsEvent(topic, 1))).resolves.toEqual({ batchItemFailures: [] });
    const [letter] = await readDeadLetters(dlqTopic, 1);
    expect(letter?.headers['medstream.dlq.reason.message']).toBe(
      `Table "${topic}" is missing and auto-creation is disabled`,
    );
    expect(letter?.headers['medstream.dlq.source.topic']).toBe(topic);
  });

  it('creates a table once when concurrent invocations race for it', async () => {
    const topic = await createTestTopic();
    await produceAvro(
      topic,
      { key: KEY, value: READING },
      Array.from({ length: 6 }, (_, n) => reading(`p${n}`, 60 + n)),
    );
    const event = await consumeAsEvent(topic, 6);
    const sinks = await Promise.all(
      [1, 2, 3].map(() => sinkHandlerFor({ topics: topic, 'auto.create': 'true', 'pk.mode': 'kafka' })),
    );
    const results = await Promise.all(sinks.map(({ handler }) => handler(event)));
    expect(results).toEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    expect(await rowsOf(topic)).toHaveLength(6);
  });
});

describe('auto.evolve', () => {
  const V2: AvroSchema = {
    type: 'record',
    name: 'Reading',
    fields: [
      { name: 'patient_id', type: 'string' },
      { name: 'heart_rate', type: 'int' },
      { name: 'time', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'spo2', type: ['null', 'int'], default: null },
      { name: 'unit', type: 'string', default: 'bpm' },
    ],
  };

  it('adds a nullable column for a new optional field, and a defaulted one with its default', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [reading('p1', 80)]);
    // The registry accepts v2 under BACKWARD (new fields are optional or defaulted).
    await produceAvro(topic, { key: KEY, value: V2 }, [
      {
        key: { patient_id: 'p2' },
        value: { patient_id: 'p2', heart_rate: 90, time: 0, spo2: 97, unit: 'bpm' },
      },
    ]);
    const { handler } = await sinkHandlerFor({ topics: topic, 'auto.create': 'true', 'auto.evolve': 'true' });
    await expect(handler(await consumeAsEvent(topic, 1))).resolves.toEqual({ batchItemFailures: [] });
    expect((await columnsOf(topic)).map((c) => c.column_name)).toEqual(['patient_id', 'heart_rate', 'time']);
    const info = jest.spyOn(logger, 'info');
    await expect(handler(await consumeAsEvent(topic, 1, 1))).resolves.toEqual({ batchItemFailures: [] });
    // The log says what changed, not only that something did.
    expect(info).toHaveBeenCalledWith('sink table ddl applied', {
      table: topic,
      ddl: [
        `ALTER TABLE "${topic}" ADD COLUMN IF NOT EXISTS "spo2" INT NULL, ADD COLUMN IF NOT EXISTS "unit" TEXT DEFAULT 'bpm' NOT NULL`,
      ],
    });
    info.mockRestore();
    expect((await columnsOf(topic)).map((c) => [c.column_name, c.is_nullable, c.column_default])).toEqual([
      ['patient_id', 'NO', null],
      ['heart_rate', 'NO', null],
      ['time', 'NO', null],
      ['spo2', 'YES', null],
      ['unit', 'NO', "'bpm'::text"],
    ]);
    expect((await rowsOf(topic)).map((row) => [row.patient_id, row.spo2, row.unit])).toEqual([
      ['p1', null, 'bpm'],
      ['p2', 97, 'bpm'],
    ]);
  });

  it('dead-letters a record whose new required field has no default, with the connector message', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { value: READING }, [reading('p1', 80)]);
    const { handler, dlqTopic } = await sinkHandlerFor({
      topics: topic,
      'auto.create': 'true',
      'auto.evolve': 'true',
    });
    await handler(await consumeAsEvent(topic, 1));
    // A required field without a default is not BACKWARD compatible: the registry refuses it
    // under BACKWARD, and a producer that registers it anyway (subject set to NONE) must still
    // not get it into the table.
    const v3: AvroSchema = {
      type: 'record',
      name: 'Reading',
      fields: [...(READING as { fields: unknown[] }).fields, { name: 'ward', type: 'string' }],
    };
    await expect(registry.register(`${topic}-value`, v3)).rejects.toThrow();
    const valueId = await registerRaw(`${topic}-value`, v3, 'NONE');
    await produce(topic, [
      { value: await registry.encode(valueId, { patient_id: 'p2', heart_rate: 70, time: 0, ward: 'icu' }) },
    ]);
    expect(valueId).toBeGreaterThan(0);
    await expect(handler(await consumeAsEvent(topic, 1, 1))).resolves.toEqual({ batchItemFailures: [] });
    const [letter] = await readDeadLetters(dlqTopic, 1);
    expect(letter?.headers['medstream.dlq.reason.type']).toBe('SchemaError');
    expect(letter?.headers['medstream.dlq.reason.message']).toBe(
      `Cannot ALTER TABLE "${topic}" to add missing field SinkRecordField{schema=Schema{STRING}, name='ward', isPrimaryKey=false}, as the field is not optional and does not have a default value`,
    );
    expect((await columnsOf(topic)).map((c) => c.column_name)).toEqual(['patient_id', 'heart_rate', 'time']);
    expect(await rowsOf(topic)).toHaveLength(1);
  });
});

describe('insert modes and pk modes', () => {
  it('pk.mode kafka: a redelivered batch leaves no duplicate row', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [
      reading('p1', 80),
      reading('p2', 81),
      reading('p1', 82),
    ]);
    const { handler } = await sinkHandlerFor({ topics: topic, 'auto.create': 'true', 'pk.mode': 'kafka' });
    const event = await consumeAsEvent(topic, 3);
    // A partial first delivery, then the whole batch again (a retry from the first offset).
    const warn = jest.spyOn(logger, 'warn');
    try {
      await expect(handler(firstRecordsOf(event, 2))).resolves.toEqual({ batchItemFailures: [] });
      await expect(handler(event)).resolves.toEqual({ batchItemFailures: [] });
      await expect(handler(event)).resolves.toEqual({ batchItemFailures: [] });
      // Skipped rows are said, not silent: a recreated topic whose table kept its rows looks the same.
      const skips = warn.mock.calls.filter(
        ([message]) => message === 'sink skipped records whose rows already exist',
      );
      expect(
        skips.map(([, details]) => [
          (details as { skipped: number }).skipped,
          (details as { rows: number }).rows,
        ]),
      ).toEqual([
        [2, 3],
        [3, 3],
      ]);
    } finally {
      warn.mockRestore();
    }
    const rows = await rowsOf(topic, '"__connect_offset"');
    expect(
      rows.map((row) => [
        row.__connect_topic,
        row.__connect_partition,
        Number(row.__connect_offset),
        row.heart_rate,
      ]),
    ).toEqual([
      [topic, 0, 0, 80],
      [topic, 0, 1, 81],
      [topic, 0, 2, 82],
    ]);
  });

  it('pk.mode none: insert appends every record', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [reading('p1', 80), reading('p1', 82)]);
    const { handler } = await sinkHandlerFor({ topics: topic, 'auto.create': 'true' });
    await handler(await consumeAsEvent(topic, 2));
    expect((await rowsOf(topic, '"heart_rate"')).map((row) => row.heart_rate)).toEqual([80, 82]);
  });

  it('upsert with pk.mode record_key keeps the latest reading per key, also across batches', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [
      reading('p1', 80),
      reading('p2', 70),
      reading('p1', 85),
      reading('p2', 71),
    ]);
    const { handler } = await sinkHandlerFor({
      topics: topic,
      'auto.create': 'true',
      'insert.mode': 'upsert',
      'pk.mode': 'record_key',
    });
    await expect(handler(await consumeAsEvent(topic, 2))).resolves.toEqual({ batchItemFailures: [] });
    await expect(handler(await consumeAsEvent(topic, 2, 2))).resolves.toEqual({ batchItemFailures: [] });
    expect((await rowsOf(topic)).map((row) => [row.patient_id, row.heart_rate])).toEqual([
      ['p1', 85],
      ['p2', 71],
    ]);
    const [sql] = (
      await db.query(
        `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
        [`"${topic}"`],
      )
    ).rows;
    expect(sql?.def).toBe('PRIMARY KEY (patient_id)');
  });

  it('dead-letters, saying why, records upserted into a table keyed for another pk.mode', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [reading('p1', 80), reading('p1', 85)]);
    const byKafka = await sinkHandlerFor({ topics: topic, 'auto.create': 'true', 'pk.mode': 'kafka' });
    await byKafka.handler(await consumeAsEvent(topic, 1));
    // The connector switched to the latest reading per patient, its table left as it was.
    const { handler, dlqTopic } = await sinkHandlerFor({
      topics: topic,
      'insert.mode': 'upsert',
      'pk.mode': 'record_key',
    });
    await expect(handler(await consumeAsEvent(topic, 1, 1))).resolves.toEqual({ batchItemFailures: [] });
    const [letter] = await readDeadLetters(dlqTopic, 1);
    expect(letter?.headers['medstream.dlq.reason.message']).toBe(
      `Table "${topic}" has unique keys (__connect_topic, __connect_partition, __connect_offset) only, but insert.mode upsert with pk.mode record_key writes by the key (patient_id): the sink creates a table's key only with the table, and never changes it; write to a new table (table.name.format) or give this one that key`,
    );
    expect((await rowsOf(topic)).map((row) => row.heart_rate)).toEqual([80]);
  });

  it('upsert with pk.mode record_value and pk.fields', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { value: READING }, [reading('p1', 80), reading('p1', 99)]);
    const { handler } = await sinkHandlerFor({
      topics: topic,
      'auto.create': 'true',
      'insert.mode': 'upsert',
      'pk.mode': 'record_value',
      'pk.fields': 'patient_id',
    });
    await handler(await consumeAsEvent(topic, 2));
    expect((await rowsOf(topic)).map((row) => [row.patient_id, row.heart_rate])).toEqual([['p1', 99]]);
  });

  it('update changes existing rows only', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [
      reading('p1', 80),
      reading('p1', 88),
      reading('p9', 50),
    ]);
    const seed = await sinkHandlerFor({
      topics: topic,
      'auto.create': 'true',
      'insert.mode': 'upsert',
      'pk.mode': 'record_key',
    });
    await seed.handler(await consumeAsEvent(topic, 1));
    const { handler } = await sinkHandlerFor({
      topics: topic,
      'insert.mode': 'update',
      'pk.mode': 'record_key',
    });
    await expect(handler(await consumeAsEvent(topic, 2, 1))).resolves.toEqual({ batchItemFailures: [] });
    expect((await rowsOf(topic)).map((row) => [row.patient_id, row.heart_rate])).toEqual([['p1', 88]]);
  });

  it('fields.whitelist keeps only the listed value fields', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [reading('p1', 80)]);
    const { handler } = await sinkHandlerFor({
      topics: topic,
      'auto.create': 'true',
      'pk.mode': 'record_key',
      'insert.mode': 'upsert',
      'fields.whitelist': 'heart_rate',
    });
    await handler(await consumeAsEvent(topic, 1));
    expect((await columnsOf(topic)).map((c) => c.column_name)).toEqual(['patient_id', 'heart_rate']);
  });
});

describe('tombstones', () => {
  it('delete.enabled deletes the row of the key, in order with the writes of the batch', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [
      reading('p1', 80),
      reading('p2', 70),
      { key: { patient_id: 'p1' }, value: null },
      reading('p3', 60),
      { key: { patient_id: 'p3' }, value: null },
      reading('p3', 61),
    ]);
    const { handler } = await sinkHandlerFor({
      topics: topic,
      'auto.create': 'true',
      'insert.mode': 'upsert',
      'pk.mode': 'record_key',
      'delete.enabled': 'true',
    });
    await expect(handler(await consumeAsEvent(topic, 6))).resolves.toEqual({ batchItemFailures: [] });
    expect((await rowsOf(topic)).map((row) => [row.patient_id, row.heart_rate])).toEqual([
      ['p2', 70],
      ['p3', 61],
    ]);
  });

  it('dead-letters a tombstone when deletes are off, with the connector message', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [
      reading('p1', 80),
      { key: { patient_id: 'p1' }, value: null },
    ]);
    const { handler, dlqTopic } = await sinkHandlerFor({
      topics: topic,
      'auto.create': 'true',
      'pk.mode': 'kafka',
    });
    await expect(handler(await consumeAsEvent(topic, 2))).resolves.toEqual({ batchItemFailures: [] });
    const [letter] = await readDeadLetters(dlqTopic, 1);
    expect(letter?.headers['medstream.dlq.reason.message']).toMatch(
      new RegExp(
        `^Sink connector '.*' is configured with 'delete.enabled=false' and 'pk.mode=kafka' and therefore requires records with a non-null Struct value and non-null Struct schema, but found record at \\(topic='${topic}',partition=0,offset=1,timestamp=\\d+\\) with a null value and null value schema\\.$`,
      ),
    );
    expect(await rowsOf(topic)).toHaveLength(1);
  });
});

describe('failures', () => {
  it('reports every record for retry when PostgreSQL is down, and writes nothing', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [reading('p1', 80), reading('p2', 81)]);
    const event = await consumeAsEvent(topic, 2);
    const { handler: real } = await sinkHandlerFor({ topics: topic, 'auto.create': 'true' });
    const connector = parseSinkConnectorConfig({
      name: 'down',
      'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
      topics: topic,
      'auto.create': 'true',
    });
    // Nothing listens on port 1: every connection attempt fails as in an outage.
    const down = createSinkPool('postgres://medstream:medstream@127.0.0.1:1/medstream_sink');
    registerCleanup(() => down.end());
    const tables = createPgTableStore(down, connector);
    await expect(tables.ensureTable({ schema: undefined, name: topic }, [])).rejects.toBeInstanceOf(
      UnavailableError,
    );
    const handler = makeHandler({
      connector,
      decoders: { value: avroDecoder(registry) },
      tables,
      writer: createPgChunkWriter(down, tables),
      deadLetters: {
        deadLetter: async () => {
          throw new Error('nothing may be dead-lettered');
        },
      },
      functionName: 'sink-postgres-test',
    });
    await expect(handler(event)).resolves.toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: `${topic}-0`, offset: 0 } },
        { itemIdentifier: { partition: `${topic}-0`, offset: 1 } },
      ],
    });
    // The same batch goes through once the database is back.
    await expect(real(event)).resolves.toEqual({ batchItemFailures: [] });
    expect(await rowsOf(topic)).toHaveLength(2);
  });

  it('survives the database dropping its connections (a restart), and writes the next batch', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [reading('p1', 80), reading('p2', 81)]);
    const { handler, pool } = await sinkHandlerFor({
      topics: topic,
      'auto.create': 'true',
      'pk.mode': 'kafka',
    });
    await expect(handler(await consumeAsEvent(topic, 1))).resolves.toEqual({ batchItemFailures: [] });
    // The sink's connections, idle in its pool now, are ended by the server as at a shutdown.
    const idle = await pool.connect();
    const { rows } = await idle.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    idle.release();
    await db.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
    // The pool lets the dead client go. Its error event, unheard, would have ended the process
    // (npm start's serverless offline did, at a PostgreSQL restart).
    await pollUntil('the dropped connection to leave the pool', async () =>
      pool.totalCount === 0 ? true : undefined,
    );
    await expect(handler(await consumeAsEvent(topic, 1, 1))).resolves.toEqual({ batchItemFailures: [] });
    expect((await rowsOf(topic)).map((row) => row.patient_id)).toEqual(['p1', 'p2']);
  });

  it('dead-letters records of an unknown schema id and non-Avro values, and writes the rest', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { value: READING }, [reading('p1', 80)]);
    const unknownId = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from('body')]);
    await produce(topic, [{ value: unknownId }, { value: Buffer.from('{"not":"avro"}') }]);
    const { handler, dlqTopic } = await sinkHandlerFor({ topics: topic, 'auto.create': 'true' });
    await expect(handler(await consumeAsEvent(topic, 3))).resolves.toEqual({ batchItemFailures: [] });
    expect(await rowsOf(topic)).toHaveLength(1);
    const letters = await readDeadLetters(dlqTopic, 2);
    expect(
      letters.map((letter) => [
        letter.headers['medstream.dlq.source.offset'],
        letter.headers['medstream.dlq.reason.type'],
      ]),
    ).toEqual([
      ['1', 'SchemaError'],
      ['2', 'ParseError'],
    ]);
    expect(letters[0]?.headers['medstream.dlq.reason.message']).toBe(
      'schema id 2147483632 is unknown to the registry',
    );
    // The original bytes are kept, so a dead letter can be replayed.
    expect(letters[0]?.value).toEqual(unknownId);
  });

  it('retries a batch whose table was dropped under it, and re-creates the table on the retry', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { key: KEY, value: READING }, [
      reading('p1', 80),
      reading('p2', 81),
      reading('p3', 82),
    ]);
    const { handler } = await sinkHandlerFor({ topics: topic, 'auto.create': 'true', 'pk.mode': 'kafka' });
    await expect(handler(await consumeAsEvent(topic, 1))).resolves.toEqual({ batchItemFailures: [] });
    await db.query(`DROP TABLE "${topic}"`);
    const rest = await consumeAsEvent(topic, 2, 1);
    await expect(handler(rest)).resolves.toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: `${topic}-0`, offset: 1 } },
        { itemIdentifier: { partition: `${topic}-0`, offset: 2 } },
      ],
    });
    await expect(handler(rest)).resolves.toEqual({ batchItemFailures: [] });
    expect((await rowsOf(topic)).map((row) => row.patient_id)).toEqual(['p2', 'p3']);
  });

  it('streams a large batch while building it, and falls back when the database refuses part of it', async () => {
    // 3,000 records are built in slices that reach the database while the rest is being built;
    // a key conflict (redelivery) and a refused row both arrive mid-stream.
    const topic = await createTestTopic();
    const readings = Array.from({ length: 3000 }, (_unused, index) =>
      reading(`p${index}`, index === 2600 ? 81 : 80),
    );
    await produceAvro(topic, { key: KEY, value: READING }, readings);
    await createCheckedKafkaTable(topic);
    const { handler, dlqTopic } = await sinkHandlerFor({ topics: topic, 'pk.mode': 'kafka' });
    const event = await consumeAsEvent(topic, 3000);
    await expect(handler(firstRecordsOf(event, 1000))).resolves.toEqual({ batchItemFailures: [] });
    await expect(handler(event)).resolves.toEqual({ batchItemFailures: [] });
    const offsets = (await rowsOf(topic, '"__connect_offset"')).map((row) => Number(row.__connect_offset));
    expect(offsets).toEqual(
      Array.from({ length: 3000 }, (_unused, index) => index).filter((index) => index !== 2600),
    );
    const [letter] = await readDeadLetters(dlqTopic, 1);
    expect(letter?.headers['medstream.dlq.source.offset']).toBe('2600');
    expect(letter?.headers['medstream.dlq.reason.message']).toContain('violates check constraint');
  });

  // Seeded, so a failure replays: random chunk sizes (batch.size), random refused rows, and
  // deliveries that overlap what earlier ones wrote (redelivery after a partial commit, as a
  // retried batch would be). Whatever the cut, each record lands once or is dead-lettered.
  it.each([5, 17, 2024])(
    'pk.mode kafka: overlapping redeliveries with refused rows land each record once (seed %i)',
    async (seed) => {
      const random = createSeededRandom(seed);
      const total = randomInt(random, 1500, 4000);
      const refused = new Set(
        Array.from({ length: randomInt(random, 1, 4) }, () => randomInt(random, 0, total - 1)),
      );
      const topic = await createTestTopic();
      await produceAvro(
        topic,
        { key: KEY, value: READING },
        Array.from({ length: total }, (_unused, index) => reading(`p${index}`, refused.has(index) ? 81 : 80)),
      );
      await createCheckedKafkaTable(topic);
      const { handler, dlqTopic } = await sinkHandlerFor({
        topics: topic,
        'pk.mode': 'kafka',
        'batch.size': randomInt(random, 200, 3000),
      });
      let letters = 0;
      await deliverOverlapping(random, handler, await consumeAsEvent(topic, total), (slice) => {
        letters += slice.filter((record) => refused.has(record.offset)).length;
      });

      const offsets = (await rowsOf(topic, '"__connect_offset"')).map((row) => Number(row.__connect_offset));
      expect(offsets).toEqual(
        Array.from({ length: total }, (_unused, index) => index).filter((index) => !refused.has(index)),
      );
      const deadLetters = await readDeadLetters(dlqTopic, letters, letters === 0 ? 1000 : 30_000);
      expect(deadLetters).toHaveLength(letters);
      expect(
        new Set(deadLetters.map((letter) => Number(letter.headers['medstream.dlq.source.offset']))),
      ).toEqual(refused);
    },
  );

  it.each([8, 64])(
    'upsert pk.mode record_key: overlapping redeliveries keep the latest reading per key (seed %i)',
    async (seed) => {
      const random = createSeededRandom(seed);
      const total = randomInt(random, 1500, 4000);
      const readings = Array.from({ length: total }, (_unused, index) =>
        reading(`p${randomInt(random, 0, 299)}`, 40 + (index % 150)),
      );
      const topic = await createTestTopic();
      await produceAvro(topic, { key: KEY, value: READING }, readings);
      const { handler } = await sinkHandlerFor({
        topics: topic,
        'auto.create': 'true',
        'insert.mode': 'upsert',
        'pk.mode': 'record_key',
        'batch.size': randomInt(random, 200, 3000),
      });
      await deliverOverlapping(random, handler, await consumeAsEvent(topic, total));

      const latest = new Map(readings.map(({ value }) => [value.patient_id, value.heart_rate]));
      const rows = await rowsOf(topic);
      expect(new Map(rows.map((row) => [row.patient_id, row.heart_rate]))).toEqual(latest);
      expect(rows).toHaveLength(latest.size);
    },
  );

  it('dead-letters only the rows the database refuses and writes the others', async () => {
    const topic = await createTestTopic();
    await produceAvro(topic, { value: READING }, [reading('p1', 80), reading('p2', 81), reading('p3', 82)]);
    await db.query(
      `CREATE TABLE "${topic}" (patient_id TEXT NOT NULL, heart_rate INT NOT NULL CHECK (heart_rate <> 81), time TIMESTAMP NOT NULL)`,
    );
    const { handler, dlqTopic } = await sinkHandlerFor({ topics: topic });
    await expect(handler(await consumeAsEvent(topic, 3))).resolves.toEqual({ batchItemFailures: [] });
    expect((await rowsOf(topic)).map((row) => row.patient_id)).toEqual(['p1', 'p3']);
    const [letter] = await readDeadLetters(dlqTopic, 1);
    expect(letter?.headers['medstream.dlq.source.offset']).toBe('1');
    expect(letter?.headers['medstream.dlq.reason.message']).toContain('violates check constraint');
  });
});
