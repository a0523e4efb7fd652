import { Client } from 'pg';
import type { AvroSchema } from '../../../lib/avro/registry';
import { createSeededRandom } from '../../../lib/random';
import {
  cleanUp,
  consumeAsEvent,
  createTestTopic,
  db,
  produceAvro,
  readDeadLetters,
  sinkHandlerFor,
} from './support';

afterAll(cleanUp);

/** Every Avro type with a binary cell, nullable or not. */
const SCHEMA: AvroSchema = {
  type: 'record',
  name: 'BinaryCells',
  fields: [
    { name: 'i', type: 'int' },
    { name: 'l', type: 'long' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 'b', type: 'boolean' },
    { name: 's', type: 'string' },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'raw', type: 'bytes' },
    { name: 'tag', type: { type: 'fixed', name: 'Tag', size: 2 } },
    { name: 'level', type: { type: 'enum', name: 'Level', symbols: ['A', 'C', 'V', 'P', 'U'] } },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'maybe_ts', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
  ],
};

const STRINGS = [
  '',
  'plain',
  'tab\there',
  'nul\u0000inside',
  'ünïcødé ✓',
  '患者',
  'back\\slash\nline',
  '\\N',
];
const TIMES = [
  0,
  -1,
  Date.UTC(1900, 0, 1, 12, 30, 0, 7),
  Date.UTC(2026, 10, 25, 23, 59, 59, 999),
  // Microseconds since 2000 beyond 2^53: the cell must still be exact.
  Date.UTC(2500, 5, 30, 1, 2, 3, 456),
  Date.UTC(9999, 11, 31, 23, 59, 59, 999),
];

/** Seeded values, the edges of every type first. */
const valuesOf = (count: number) => {
  const random = createSeededRandom(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const values = [];
  for (let index = 0; index < count; index += 1) {
    const edge = index < TIMES.length;
    values.push({
      i: edge ? [0, -1, 2 ** 31 - 1, -(2 ** 31), 42, -7][index] : Math.floor((random() - 0.5) * 2 ** 32),
      l: edge
        ? [
            0,
            -1,
            9_007_199_254_740_990,
            -4_503_599_627_370_495, // avsc writes negative longs exactly down to −2^52 only
            2 ** 32,
            -(2 ** 32) - 1,
          ][index]
        : Math.floor((random() - 0.5) * 2 ** 50),
      f: edge ? [0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -3.25e-20, 3.4e38][index] : random() * 100,
      d: edge
        ? [36.6, -1e-300, Number.NaN, Number.NEGATIVE_INFINITY, 1.7976931348623157e308, 0.1][index]
        : random(),
      b: random() < 0.5,
      s: pick(STRINGS),
      note: random() < 0.3 ? null : pick(STRINGS),
      raw: Buffer.from(Array.from({ length: Math.floor(random() * 4) }, () => Math.floor(random() * 256))),
      tag: Buffer.from([Math.floor(random() * 256), 0]),
      level: pick(['A', 'C', 'V', 'P', 'U']),
      ts: edge ? TIMES[index] : Math.floor((random() - 0.2) * 4e12),
      maybe_ts: random() < 0.3 ? null : Math.floor(random() * 2e12),
    });
  }
  return values;
};

/** The COPY statements the sink's connections send while `work` runs. */
const copiesDuring = async (work: () => Promise<unknown>): Promise<string[]> => {
  const copies: string[] = [];
  const query = Client.prototype.query;
  const spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (
    this: Client,
    ...args: unknown[]
  ) {
    const text = (args[0] as { text?: unknown } | undefined)?.text;
    if (typeof text === 'string' && text.startsWith('COPY')) copies.push(text);
    return (query as (...rest: unknown[]) => unknown).apply(this, args);
  } as never);
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return copies;
};

const ALL = `i, l::text AS l, f::text AS f, d::text AS d, b, s, note, raw, tag, level,
  to_char(ts, 'YYYY-MM-DD HH24:MI:SS.MS') AS ts, to_char(maybe_ts, 'YYYY-MM-DD HH24:MI:SS.MS') AS maybe_ts`;

describe("COPY's binary format", () => {
  it('stores exactly what COPY text stores, for every type with a binary cell', async () => {
    const binaryTopic = await createTestTopic();
    const textTopic = await createTestTopic();
    const values = valuesOf(300);
    for (const topic of [binaryTopic, textTopic])
      await produceAvro(
        topic,
        { value: SCHEMA },
        values.map((value) => ({ value })),
      );
    // Timestamps of a given precision (as Debezium's sink makes them) take binary cells too; the
    // same table with one column of a type without a binary cell here gets text.
    const retype = `ALTER COLUMN ts TYPE timestamp(3), ALTER COLUMN maybe_ts TYPE timestamp(1)`;
    for (const [topic, also] of [
      [binaryTopic, ''],
      [textTopic, ', ALTER COLUMN i TYPE numeric'],
    ]) {
      const { handler: creator } = await sinkHandlerFor({ topics: topic, 'auto.create': 'true' });
      await expect(creator(await consumeAsEvent(topic as string, 1))).resolves.toEqual({
        batchItemFailures: [],
      });
      await db.query(`DELETE FROM "${topic}"; ALTER TABLE "${topic}" ${retype}${also}`);
    }

    const { handler: binary } = await sinkHandlerFor({ topics: binaryTopic });
    const { handler: text } = await sinkHandlerFor({ topics: textTopic });
    const binaryEvent = await consumeAsEvent(binaryTopic, values.length);
    const textEvent = await consumeAsEvent(textTopic, values.length);
    expect(await copiesDuring(() => binary(binaryEvent))).toEqual([
      expect.stringMatching(/^COPY "[^"]+" \(.*\) FROM STDIN WITH \(FORMAT binary\)$/),
    ]);
    expect(await copiesDuring(() => text(textEvent))).toEqual([expect.stringMatching(/FROM STDIN$/)]);

    const written = (await db.query(`SELECT ${ALL} FROM "${binaryTopic}" ORDER BY ts, l`)).rows;
    const expected = (
      await db.query(`SELECT ${ALL.replace('i,', 'i::int AS i,')} FROM "${textTopic}" ORDER BY ts, l`)
    ).rows;
    expect(written).toHaveLength(values.length);
    expect(written).toEqual(expected);
    // Spot checks against the values themselves, so a mistake both paths share shows too.
    expect(written.find((row) => row.ts === '1900-01-01 12:30:00.007')).toMatchObject({
      i: 2 ** 31 - 1,
      l: '9007199254740990',
      f: 'NaN',
      d: 'NaN',
    });
    expect(written.find((row) => row.ts === '2026-11-25 23:59:59.999')).toMatchObject({
      i: -(2 ** 31),
      l: '-4503599627370495',
      f: 'Infinity',
      d: '-Infinity',
    });
    expect(written.find((row) => row.ts === '2500-06-30 01:02:03.456')).toMatchObject({
      i: 42,
      l: '4294967296',
    });
    expect(written.filter((row) => row.s === 'nulinside').length).toBe(
      values.filter((value) => value.s === 'nul\u0000inside').length,
    );
  });

  it('folds upserts by key in binary rows as in text ones: the last record per key wins', async () => {
    const KEY: AvroSchema = { type: 'record', name: 'BinaryKey', fields: [{ name: 'id', type: 'string' }] };
    const binaryTopic = await createTestTopic();
    const textTopic = await createTestTopic();
    // 300 records over 23 keys: most keys repeat within the batch.
    const records = valuesOf(300).map((value, index) => ({ key: { id: `patient-${index % 23}` }, value }));
    for (const topic of [binaryTopic, textTopic])
      await produceAvro(topic, { key: KEY, value: SCHEMA }, records);
    const upsert = { 'insert.mode': 'upsert', 'pk.mode': 'record_key', 'auto.create': 'true' };
    // As above, one column retyped so the second table takes text rows.
    const { handler: creator } = await sinkHandlerFor({ ...upsert, topics: textTopic });
    await expect(creator(await consumeAsEvent(textTopic, 1))).resolves.toEqual({ batchItemFailures: [] });
    await db.query(`DELETE FROM "${textTopic}"; ALTER TABLE "${textTopic}" ALTER COLUMN i TYPE numeric`);

    const { handler: binary } = await sinkHandlerFor({ ...upsert, topics: binaryTopic });
    const { handler: text } = await sinkHandlerFor({ ...upsert, topics: textTopic });
    const binaryEvent = await consumeAsEvent(binaryTopic, records.length);
    const textEvent = await consumeAsEvent(textTopic, records.length);
    // Folded rows go to a staging table, then are merged.
    expect(await copiesDuring(() => binary(binaryEvent))).toEqual([
      expect.stringMatching(/WITH \(FORMAT binary\)$/),
    ]);
    expect(await copiesDuring(() => text(textEvent))).toEqual([expect.stringMatching(/FROM STDIN$/)]);
    // Delivered again (a retry), nothing changes.
    await expect(binary(binaryEvent)).resolves.toEqual({ batchItemFailures: [] });

    const written = (await db.query(`SELECT id, ${ALL} FROM "${binaryTopic}" ORDER BY id`)).rows;
    const expected = (
      await db.query(`SELECT id, ${ALL.replace('i,', 'i::int AS i,')} FROM "${textTopic}" ORDER BY id`)
    ).rows;
    expect(written).toHaveLength(23);
    expect(written).toEqual(expected);
    const last = records.findLast((record) => record.key.id === 'patient-5');
    expect(written.find((row) => row.id === 'patient-5')).toMatchObject({
      i: last?.value.i,
      s: String(last?.value.s).replaceAll('\u0000', ''),
    });
  });

  it('upserts into a table whose column type changed under its cached definition, losing nothing', async () => {
    const KEY: AvroSchema = { type: 'record', name: 'RetypedKey', fields: [{ name: 'id', type: 'string' }] };
    const topic = await createTestTopic();
    const values = valuesOf(20).map((value, index) => ({
      key: { id: `p${index}` },
      value: { ...value, i: Math.floor((value.i as number) / 2 ** 20) },
    }));
    await produceAvro(topic, { key: KEY, value: SCHEMA }, values);
    const { handler, dlqTopic } = await sinkHandlerFor({
      topics: topic,
      'auto.create': 'true',
      'insert.mode': 'upsert',
      'pk.mode': 'record_key',
    });
    await expect(handler(await consumeAsEvent(topic, 10))).resolves.toEqual({ batchItemFailures: [] });
    await db.query(`ALTER TABLE "${topic}" ALTER COLUMN i TYPE smallint`);

    // A connection whose staging table was made before the change still takes binary rows (the
    // merge converts them); one made after refuses them once, and the retry is text.
    const rest = await consumeAsEvent(topic, 10, 10);
    let result = await handler(rest);
    if (result.batchItemFailures.length > 0) result = await handler(rest);
    expect(result).toEqual({ batchItemFailures: [] });
    const { rows } = await db.query(`SELECT id, i FROM "${topic}" ORDER BY id`);
    expect(rows).toHaveLength(20);
    expect(rows.find((row) => row.id === 'p15')?.i).toBe(values[15]?.value.i);
    expect(await readDeadLetters(dlqTopic, 1, 2_000)).toEqual([]);
  });

  it('writes a table whose column type changed under its cached definition again, in text, losing nothing', async () => {
    const topic = await createTestTopic();
    const values = valuesOf(20).map((value) => ({ ...value, i: Math.floor((value.i as number) / 2 ** 20) }));
    await produceAvro(
      topic,
      { value: SCHEMA },
      values.map((value) => ({ value })),
    );
    const { handler, dlqTopic } = await sinkHandlerFor({ topics: topic, 'auto.create': 'true' });
    await expect(handler(await consumeAsEvent(topic, 10))).resolves.toEqual({ batchItemFailures: [] });
    // Another client retypes a column: the sink's cached definition still says integer.
    await db.query(`ALTER TABLE "${topic}" ALTER COLUMN i TYPE smallint`);

    const rest = await consumeAsEvent(topic, 10, 10);
    const offsets = Array.from({ length: 10 }, (_, index) => ({
      itemIdentifier: { partition: `${topic}-0`, offset: 10 + index },
    }));
    // The binary rows are refused: the batch is retried, not dead-lettered...
    await expect(handler(rest)).resolves.toEqual({ batchItemFailures: offsets });
    // ...and its retry is written in text.
    const copies = await copiesDuring(async () =>
      expect(handler(rest)).resolves.toEqual({ batchItemFailures: [] }),
    );
    expect(copies).toEqual([expect.stringMatching(/FROM STDIN$/)]);
    const { rows } = await db.query(`SELECT i FROM "${topic}" ORDER BY ts, l`);
    expect(rows).toHaveLength(20);
    expect(await readDeadLetters(dlqTopic, 1, 2_000)).toEqual([]);
  });
});
