import avro from 'avsc';
import { type AvroSchema, EncodedAvro, writeWireFormat } from '../../../../lib/avro/registry';
import { ParseError, SchemaError } from '../../../../lib/errors';
import { createSeededRandom } from '../../../../lib/random';
import { parseSinkConnectorConfig } from '../../../../lib/sinks/postgres/config';
import { toConnectSchema } from '../../../../lib/sinks/postgres/connect-schema';
import { CopyRows } from '../../../../lib/sinks/postgres/copy-rows';
import { extractFieldsMetadata } from '../../../../lib/sinks/postgres/fields';
import { createRowWriter, type RowSource } from '../../../../lib/sinks/postgres/row-writer';

// Every type a column can have, nullable or not, and fields no column reads (skipped in the bytes).
const VALUE = {
  type: 'record',
  name: 'Everything',
  namespace: 'test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'small', type: 'int' },
    { name: 'big', type: 'long' },
    { name: 'ratio', type: 'float' },
    { name: 'reading', type: 'double' },
    { name: 'flag', type: 'boolean' },
    { name: 'note', type: ['null', 'string'] },
    { name: 'count', type: ['long', 'null'] },
    { name: 'raw', type: 'bytes' },
    { name: 'tag', type: { type: 'fixed', name: 'Tag', size: 3 } },
    { name: 'level', type: { type: 'enum', name: 'Level', symbols: ['A', 'C', 'V', 'P', 'U'] } },
    { name: 'again', type: 'Level' },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'clock', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
    {
      name: 'exact',
      type: { type: 'fixed', name: 'Exact', size: 4, logicalType: 'decimal', precision: 8, scale: 3 },
    },
    { name: 'maybe_at', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }] },
    { name: 'skipped_list', type: { type: 'array', items: 'string' } },
    { name: 'skipped_map', type: { type: 'map', values: ['null', 'double'] } },
    {
      name: 'skipped_record',
      type: { type: 'record', name: 'Inner', fields: [{ name: 'x', type: ['int', 'string'] }] },
    },
    { name: 'last', type: 'string' },
  ],
} satisfies AvroSchema;
const SKIPPED = ['skipped_list', 'skipped_map', 'skipped_record'];
const TYPE = avro.Type.forSchema(VALUE as avro.Schema);

const signed = (bytes: number[]) => Buffer.from(bytes);
const texts = [
  'plain',
  '',
  'tab\there',
  'line\nbreak\r',
  'back\\slash',
  'nul\u0000inside',
  'ünïcødé ✓',
  '患者',
  '\\N',
];

const randomValue = (random: () => number, index: number) => {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = () => Math.floor(random() * 2 ** 32) - 2 ** 31;
  return {
    id: pick(texts),
    small: pick([0, 1, -1, 9, 10, -10, 2_147_483_647, -2_147_483_648, int()]),
    big: pick([0, -1, 2 ** 40, -(2 ** 40), 2 ** 53 - 2, -(2 ** 53 - 2), int() * 1000]),
    ratio: pick([0, 1.5, -2.25, Number.NaN, Number.POSITIVE_INFINITY, random()]),
    reading: pick([36.6, -0, 1e-300, 1e21, Number.NaN, Number.NEGATIVE_INFINITY, random() * 100]),
    flag: random() < 0.5,
    note: random() < 0.3 ? null : pick(texts),
    count: random() < 0.3 ? null : int(),
    raw: Buffer.from([index % 256, 0, 255, 92]),
    tag: Buffer.from([1, 2, index % 256]),
    level: pick(['A', 'C', 'V', 'P', 'U']),
    again: pick(['A', 'U']),
    at: pick([
      0,
      1,
      Date.UTC(2026, 10, 23, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31),
      // Microseconds since 2000 beyond 2^56, an odd number of milliseconds: not a double.
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      -86_400_001,
      int() * 1000,
    ]),
    day: pick([0, 20_000, -1, 2_932_896]),
    clock: pick([0, 45_296_789, 86_399_999]),
    amount: pick([signed([0x04, 0xd2]), signed([0xfb, 0x2e]), signed([]), signed([0x7f, 0xff, 0xff, 0xff])]),
    exact: pick([signed([0, 0, 0, 5]), signed([0xff, 0xff, 0xff, 0xfb])]),
    maybe_at: random() < 0.5 ? null : Date.UTC(2026, 0, 1, 0, 0, 0, index % 1000),
    skipped_list: ['a', 'b'.repeat(index % 5)],
    skipped_map: { k: random() < 0.5 ? null : 1.5, l: 2 },
    skipped_record: { x: random() < 0.5 ? 7 : 'seven' },
    last: pick(texts),
  };
};

const connector = (extra: Record<string, string> = {}) =>
  parseSinkConnectorConfig({
    name: 't',
    'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
    topics: 'biometrics_t',
    ...extra,
  });

const columnsFor = (extra: Record<string, string>, keySchema?: AvroSchema) =>
  extractFieldsMetadata(
    'biometrics_t',
    connector(extra),
    keySchema === undefined ? undefined : toConnectSchema(keySchema),
    toConnectSchema(VALUE),
  ).allFields;

/** The columns of a value schema of its own, under the default connector. */
const columnsOfValue = (schema: AvroSchema) =>
  extractFieldsMetadata('t', connector(), undefined, toConnectSchema(schema)).allFields;

/** An encoded datum that refuses to be decoded: a row made from it was transcoded. */
class TranscodeOnly extends EncodedAvro {
  override decode(): unknown {
    throw new Error('the row writer decoded instead of transcoding');
  }
}

const encode = (type: avro.Type, schema: AvroSchema, datum: unknown, schemaId = 7) =>
  new TranscodeOnly(schemaId, schema, type, writeWireFormat(schemaId, type.toBuffer(datum)));

/** The same datum, decoded as the generic path does. */
const decodedOf = (encoded: EncodedAvro): unknown =>
  new EncodedAvro(encoded.schemaId, encoded.schema, encoded.type, encoded.bytes).decode();

const keyRecord = (name: string, ...fields: [string, string][]): AvroSchema => ({
  type: 'record',
  name,
  fields: fields.map(([field, type]) => ({ name: field, type })),
});

/** Keys an upsert folds by: every layout the fold's transcoders take. */
const FOLD_CASES = [
  ['a record key', keyRecord('K', ['id', 'string']), {}],
  [
    'a record key of two fields in the columns order',
    keyRecord('K2', ['id', 'string'], ['small', 'int']),
    {},
  ],
  ['a record key of two fields in another order', keyRecord('K3', ['small', 'int'], ['id', 'string']), {}],
  ['a primitive key named by pk.fields', 'string', { 'pk.fields': 'id' }],
] as [string, AvroSchema, Record<string, string>][];

const foldColumnsFor = (keySchema: AvroSchema, extra: Record<string, string>) =>
  columnsFor(
    {
      'pk.mode': 'record_key',
      'insert.mode': 'upsert',
      'fields.whitelist': 'small,big,note,level,at,last',
      ...extra,
    },
    keySchema,
  );

/** 600 records with few distinct keys (texts × small values), so most rows are replaced. */
const foldSources = (keySchema: AvroSchema) => {
  const keyType = avro.Type.forSchema(keySchema as avro.Schema);
  const random = createSeededRandom(11);
  const encoded: RowSource[] = [];
  const decoded: RowSource[] = [];
  for (let offset = 0; offset < 600; offset += 1) {
    const datum = { ...randomValue(random, offset), small: [0, 1, -1][offset % 3] as number };
    const keyValue =
      typeof keySchema === 'string'
        ? datum.id
        : Object.fromEntries(
            (keySchema as { fields: { name: string }[] }).fields.map((field) => [
              field.name,
              datum[field.name as 'id' | 'small'],
            ]),
          );
    const key = encode(keyType, keySchema, keyValue, 8);
    const value = encode(TYPE, VALUE, datum);
    const base = { topic: 'biometrics_t', partition: 0, offset };
    encoded.push({ ...base, key, value });
    decoded.push({ ...base, key: decodedOf(key), value: decodedOf(value) });
  }
  return { encoded, decoded };
};

/** The COPY line of one record through the writer, as text. */
const lineOf = (columns: ReturnType<typeof columnsFor>, source: RowSource): string => {
  const writer = createRowWriter(columns, false);
  const rows = CopyRows.text();
  writer.read(source);
  return rows.lineAt(writer.emit(rows, -1)).toString('utf8');
};

describe('transcoding Avro straight into COPY text', () => {
  const whitelist = VALUE.fields
    .map((field: { name: string }) => field.name)
    .filter((name: string) => !SKIPPED.includes(name));

  it('writes every type exactly as decoding and toCopyCell do, across 2,000 random records', () => {
    const random = createSeededRandom(5);
    const columns = columnsFor({ 'pk.mode': 'kafka', 'fields.whitelist': whitelist.join(',') });
    for (let index = 0; index < 2000; index += 1) {
      const datum = randomValue(random, index);
      const encoded = encode(TYPE, VALUE, datum);
      const base = { topic: 'biometrics_t', partition: 2, offset: 10_000 + index, key: null };
      const transcoded = lineOf(columns, { ...base, value: encoded });
      const viaDecoding = lineOf(columns, { ...base, value: decodedOf(encoded) });
      expect(transcoded).toBe(viaDecoding);
    }
  });

  it('escapes COPY specials, drops NUL and keeps non-ASCII text', () => {
    const columns = columnsFor({ 'fields.whitelist': 'id,last' });
    const datum = { ...randomValue(createSeededRandom(1), 0), id: 'a\tb\\c\u0000d', last: 'ünï\n' };
    expect(
      lineOf(columns, { topic: 't', partition: 0, offset: 0, key: null, value: encode(TYPE, VALUE, datum) }),
    ).toBe('a\\tb\\\\cd\tünï\\n');
  });

  it('turns malformed UTF-8 into U+FFFD as decoding does', () => {
    const schema: AvroSchema = { type: 'record', name: 'S', fields: [{ name: 's', type: 'bytes' }] };
    const asString: AvroSchema = { type: 'record', name: 'S', fields: [{ name: 's', type: 'string' }] };
    // Same bytes on the wire: a bytes field and a string field are both length-prefixed.
    const bytes = avro.Type.forSchema(schema as avro.Schema).toBuffer({ s: Buffer.from([0x61, 0xff, 0x62]) });
    const encoded = new EncodedAvro(
      1,
      asString,
      avro.Type.forSchema(asString as avro.Schema),
      writeWireFormat(1, bytes),
    );
    const columns = columnsOfValue(asString);
    const source = { topic: 't', partition: 0, offset: 0, key: null };
    expect(lineOf(columns, { ...source, value: encoded })).toBe('a\ufffdb');
    expect(lineOf(columns, { ...source, value: decodedOf(encoded) })).toBe('a\ufffdb');
  });

  it('reads Avro keys, primitive or record, for pk.mode record_key', () => {
    const keySchema: AvroSchema = {
      type: 'record',
      name: 'K',
      fields: [{ name: 'patient', type: 'string' }],
    };
    const keyType = avro.Type.forSchema(keySchema as avro.Schema);
    const datum = randomValue(createSeededRandom(2), 3);
    const columns = columnsFor({ 'pk.mode': 'record_key', 'fields.whitelist': 'small,last' }, keySchema);
    const encodedKey = encode(keyType, keySchema, { patient: 'p-1' }, 8);
    const value = encode(TYPE, VALUE, datum);
    const source = { topic: 't', partition: 0, offset: 0 };
    expect(lineOf(columns, { ...source, key: encodedKey, value })).toBe(
      lineOf(columns, { ...source, key: decodedOf(encodedKey), value: decodedOf(value) }),
    );
    expect(lineOf(columns, { ...source, key: encodedKey, value }).endsWith('\tp-1')).toBe(true);

    const primitive: AvroSchema = 'long';
    const primitiveColumns = extractFieldsMetadata(
      't',
      connector({ 'pk.mode': 'record_key', 'pk.fields': 'patient_no', 'fields.whitelist': 'small' }),
      toConnectSchema(primitive),
      toConnectSchema(VALUE),
    ).allFields;
    const longKey = encode(avro.Type.forSchema('long'), primitive, 2 ** 40, 9);
    expect(lineOf(primitiveColumns, { ...source, key: longKey, value })).toBe(
      lineOf(primitiveColumns, { ...source, key: decodedOf(longKey), value: decodedOf(value) }),
    );
  });

  it('folds by the key cells, the same whether transcoded or decoded', () => {
    const keySchema: AvroSchema = {
      type: 'record',
      name: 'K',
      fields: [{ name: 'patient', type: 'string' }],
    };
    const keyType = avro.Type.forSchema(keySchema as avro.Schema);
    const columns = columnsFor({ 'pk.mode': 'record_key', 'fields.whitelist': 'small' }, keySchema);
    const value = encode(TYPE, VALUE, randomValue(createSeededRandom(3), 0));
    const key = encode(keyType, keySchema, { patient: 'p\t2' }, 8);
    const writer = createRowWriter(columns, true);
    const source = { topic: 't', partition: 0, offset: 0 };
    expect(writer.read({ ...source, key, value })).toBe(
      writer.read({ ...source, key: decodedOf(key), value: decodedOf(value) }),
    );
  });

  describe('folding rows whose key cells come first (the key field is also the first value field)', () => {
    /** Rows folded by key as the sink folds a chunk: a repeated key replaces its row. */
    const foldAll = (columns: ReturnType<typeof columnsFor>, sources: RowSource[]) => {
      const writer = createRowWriter(columns, true);
      const rows = CopyRows.text();
      const index = new Map<string, number>();
      const keys: (string | undefined)[] = [];
      for (const source of sources) {
        const key = writer.read(source);
        keys.push(key);
        const existing = key === undefined ? undefined : index.get(key);
        const row = writer.emit(rows, existing ?? -1);
        if (key !== undefined && existing === undefined) index.set(key, row);
      }
      return { keys, rows: rows.length, data: Buffer.concat(rows.data()).toString('utf8') };
    };
    it.each(FOLD_CASES)('folds %s exactly as the decoded path does', (_name, keySchema, extra) => {
      const columns = foldColumnsFor(keySchema, extra);
      expect(columns[0]?.name).toBe('id');
      const { encoded, decoded } = foldSources(keySchema);
      const transcoded = foldAll(columns, encoded);
      const viaDecoding = foldAll(columns, decoded);
      expect(transcoded.keys).toEqual(viaDecoding.keys);
      expect(transcoded.data).toBe(viaDecoding.data);
      expect(transcoded.rows).toBeLessThan(100);
      expect(transcoded.rows).toBe(new Set(viaDecoding.keys).size);
    });

    it('leaves no half-written row when a folded record is malformed', () => {
      const keySchema: AvroSchema = { type: 'record', name: 'K', fields: [{ name: 'id', type: 'string' }] };
      const keyType = avro.Type.forSchema(keySchema as avro.Schema);
      const columns = columnsFor(
        { 'pk.mode': 'record_key', 'insert.mode': 'upsert', 'fields.whitelist': 'last' },
        keySchema,
      );
      const writer = createRowWriter(columns, true);
      const rows = CopyRows.text();
      const good = { ...randomValue(createSeededRandom(12), 0), id: 'p1', last: 'ok' };
      const source = { topic: 't', partition: 0, offset: 0, key: encode(keyType, keySchema, { id: 'p1' }) };
      const broken = encode(TYPE, VALUE, good);
      expect(() =>
        writer.read({ ...source, value: new EncodedAvro(7, VALUE, TYPE, broken.bytes.subarray(0, 9)) }),
      ).toThrow(ParseError);
      expect(writer.read({ ...source, value: encode(TYPE, VALUE, good) })).toBe('p1\t');
      writer.emit(rows, -1);
      expect(Buffer.concat(rows.data()).toString()).toBe('p1\tok\n');
    });
  });

  it('refuses truncated bytes, trailing bytes, bad union branches and longs beyond 2^53', () => {
    const columns = columnsFor({ 'fields.whitelist': whitelist.join(',') });
    const good = encode(TYPE, VALUE, randomValue(createSeededRandom(4), 0));
    const withBytes = (bytes: Buffer) => new EncodedAvro(7, VALUE, TYPE, bytes);
    const source = { topic: 't', partition: 0, offset: 0, key: null };
    const attempt = (bytes: Buffer) => () => lineOf(columns, { ...source, value: withBytes(bytes) });
    expect(attempt(good.bytes.subarray(0, good.bytes.length - 3))).toThrow(ParseError);
    expect(attempt(Buffer.concat([good.bytes, Buffer.from([0])]))).toThrow(ParseError);

    const nullable: AvroSchema = {
      type: 'record',
      name: 'N',
      fields: [{ name: 'n', type: ['null', 'int'] }],
    };
    const nullableType = avro.Type.forSchema(nullable as avro.Schema);
    const nullableColumns = columnsOfValue(nullable);
    const badBranch = new EncodedAvro(3, nullable, nullableType, writeWireFormat(3, Buffer.from([4, 2])));
    expect(() => lineOf(nullableColumns, { ...source, value: badBranch })).toThrow(ParseError);

    const long: AvroSchema = { type: 'record', name: 'L', fields: [{ name: 'l', type: 'long' }] };
    const longType = avro.Type.forSchema(long as avro.Schema);
    const longColumns = columnsOfValue(long);
    // 2^60 as a zig-zag varint.
    const huge = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    const unsafe = new EncodedAvro(4, long, longType, writeWireFormat(4, huge));
    expect(() => lineOf(longColumns, { ...source, value: unsafe })).toThrow(ParseError);
    expect(() => decodedOf(unsafe)).toThrow(ParseError);
  });

  it('leaves the rows untouched when a record fails half way, and goes on after it', () => {
    const columns = columnsFor({ 'pk.mode': 'kafka', 'fields.whitelist': 'id,last' });
    const writer = createRowWriter(columns, false);
    const rows = CopyRows.text();
    const source = { topic: 't', partition: 0, offset: 0, key: null };
    const write = (value: EncodedAvro) => {
      writer.read({ ...source, value });
      return writer.emit(rows, -1);
    };
    const first = write(
      encode(TYPE, VALUE, { ...randomValue(createSeededRandom(6), 0), id: 'one', last: 'x' }),
    );
    const broken = encode(TYPE, VALUE, randomValue(createSeededRandom(7), 1));
    // Cut inside the record: the first field is read, the rest is missing.
    expect(() => write(new EncodedAvro(7, VALUE, TYPE, broken.bytes.subarray(0, 9)))).toThrow(ParseError);
    write(encode(TYPE, VALUE, { ...randomValue(createSeededRandom(8), 2), id: 'two', last: 'y' }));
    expect(rows.length).toBe(2);
    expect(rows.lineAt(first).toString()).toBe('t\t0\t0\tone\tx');
    expect(Buffer.concat(rows.data()).toString()).toBe('t\t0\t0\tone\tx\nt\t0\t0\ttwo\ty\n');
  });
});

/** The cells of COPY binary data, row by row (NULL: null), after checking its header and trailer. */
const binaryCells = (data: Buffer): (Buffer | null)[][] => {
  expect(data.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
  expect(data.readInt32BE(11)).toBe(0);
  expect(data.readInt32BE(15)).toBe(0);
  const rows: (Buffer | null)[][] = [];
  let at = 19;
  for (;;) {
    const count = data.readInt16BE(at);
    at += 2;
    if (count === -1) break;
    const cells: (Buffer | null)[] = [];
    for (let cell = 0; cell < count; cell += 1) {
      const length = data.readInt32BE(at);
      at += 4;
      cells.push(length < 0 ? null : data.subarray(at, at + length));
      at += Math.max(length, 0);
    }
    rows.push(cells);
  }
  expect(at).toBe(data.length);
  return rows;
};

/** The column types the sink's auto.create gives these fields. */
const AUTO_CREATED: Record<string, string> = {
  __connect_topic: 'text',
  __connect_partition: 'integer',
  __connect_offset: 'bigint',
  id: 'text',
  patient: 'text',
  small: 'integer',
  big: 'bigint',
  ratio: 'real',
  reading: 'double precision',
  flag: 'boolean',
  note: 'text',
  count: 'bigint',
  raw: 'bytea',
  tag: 'bytea',
  level: 'text',
  again: 'text',
  at: 'timestamp without time zone',
  maybe_at: 'timestamp without time zone',
  last: 'text',
};

/** A binary cell read back as the value the column's type stores. */
const cellValue = (type: string, cell: Buffer | null): unknown => {
  if (cell === null) return null;
  switch (type) {
    case 'integer':
      expect(cell.length).toBe(4);
      return cell.readInt32BE(0);
    case 'bigint':
      expect(cell.length).toBe(8);
      return Number(cell.readBigInt64BE(0));
    case 'real':
      expect(cell.length).toBe(4);
      return cell.readFloatBE(0);
    case 'double precision':
      expect(cell.length).toBe(8);
      return cell.readDoubleBE(0);
    case 'boolean':
      expect(cell.length).toBe(1);
      return cell[0] === 1;
    case 'bytea':
      return Buffer.from(cell);
    case 'timestamp without time zone': {
      // Microseconds since 2000-01-01, exact even where they pass 2^53.
      const micros = cell.readBigInt64BE(0);
      expect(micros % 1000n).toBe(0n);
      return Number(micros / 1000n) + 946_684_800_000;
    }
    default:
      return cell.toString('utf8');
  }
};

/** What a column stores of a decoded value (text without NUL, floats as float32). */
const storedOf = (type: string, value: unknown): unknown => {
  if (value === null || value === undefined) return null;
  if (type === 'text') return String(value).replaceAll('\u0000', '');
  if (type === 'real') return Math.fround(value as number);
  return value;
};

describe('transcoding Avro straight into COPY binary', () => {
  const whitelist = ['id', 'small', 'big', 'ratio', 'reading', 'flag', 'note', 'count', 'raw', 'tag'].concat([
    'level',
    'again',
    'at',
    'maybe_at',
    'last',
  ]);
  const columns = columnsFor({ 'pk.mode': 'kafka', 'fields.whitelist': whitelist.join(',') });
  const typeOf = (field: { name: string }) => AUTO_CREATED[field.name];

  it('writes the cell of every type as PostgreSQL stores the value, across 2,000 random records', () => {
    const random = createSeededRandom(11);
    const writer = createRowWriter(columns, false);
    const sources: RowSource[] = [];
    for (let index = 0; index < 2000; index += 1) {
      const datum = randomValue(random, index);
      // avsc writes negative longs exactly down to −2^52 only.
      if (datum.big < -(2 ** 52)) datum.big = -(2 ** 52);
      sources.push({
        topic: 'biometrics_t',
        partition: 2,
        offset: 2 ** 40 + index,
        key: null,
        value: encode(TYPE, VALUE, datum),
      });
    }
    expect(writer.binaryFor(sources, typeOf)).toBe(true);
    const rows = CopyRows.binary(columns.length);
    for (const source of sources) {
      writer.read(source);
      writer.emit(rows, -1);
    }
    const cells = binaryCells(Buffer.concat(rows.data()));
    expect(cells).toHaveLength(sources.length);
    cells.forEach((row, index) => {
      const source = sources[index] as RowSource;
      const value = decodedOf(source.value as EncodedAvro) as Record<string, unknown>;
      const expected = columns.map((field) => {
        const type = AUTO_CREATED[field.name] as string;
        const { source: from } = field;
        if (from.from === 'kafka') return source[from.coordinate];
        return storedOf(type, value[from.path as string]);
      });
      expect(
        row.map((cell, column) => cellValue(AUTO_CREATED[columns[column]?.name ?? ''] ?? '', cell)),
      ).toEqual(expected);
    });
  });

  describe('rows keyed or folded by key', () => {
    /** The rows the binary writer makes of `sources`, folded as the sink folds a chunk. */
    const binaryRowsOf = (columns: ReturnType<typeof columnsFor>, folded: boolean, sources: RowSource[]) => {
      const writer = createRowWriter(columns, folded);
      expect(writer.binaryFor(sources, typeOf)).toBe(true);
      const rows = CopyRows.binary(columns.length);
      const index = new Map<string, number>();
      for (const source of sources) {
        const key = writer.read(source, true);
        const existing = key === undefined ? undefined : index.get(key);
        const row = writer.emit(rows, existing ?? -1);
        if (key !== undefined && existing === undefined) index.set(key, row);
      }
      return binaryCells(Buffer.concat(rows.data())).map((row) =>
        row.map((cell, column) => cellValue(AUTO_CREATED[columns[column]?.name ?? ''] ?? '', cell)),
      );
    };
    /** What the columns store of the records the text rows keep: per text key, the last one. */
    const keptByText = (columns: ReturnType<typeof columnsFor>, folded: boolean, sources: RowSource[]) => {
      const textWriter = createRowWriter(columns, folded);
      const kept = new Map<string | number | undefined, RowSource>();
      sources.forEach((source, index) => {
        kept.set(folded ? textWriter.read(source) : index, source);
      });
      return [...kept.values()].map((source) => {
        const key = decodedOf(source.key as EncodedAvro);
        const value = decodedOf(source.value as EncodedAvro) as Record<string, unknown>;
        return columns.map(({ name, source: from }) => {
          if (from.from === 'kafka') return source[from.coordinate];
          const datum =
            from.from === 'value'
              ? value[from.path]
              : from.path === undefined
                ? key
                : (key as Record<string, unknown>)[from.path];
          return storedOf(AUTO_CREATED[name] ?? '', datum);
        });
      });
    };

    it.each(FOLD_CASES)('folds %s as the text rows fold, last record per key', (_name, keySchema, extra) => {
      const columns = foldColumnsFor(keySchema, extra);
      const { encoded } = foldSources(keySchema);
      const expected = keptByText(columns, true, encoded);
      expect(expected.length).toBeLessThan(100);
      expect(binaryRowsOf(columns, true, encoded)).toEqual(expected);
    });

    /** Records keyed by a patient id that is not a value field (its column comes last). */
    const patientKey = keyRecord('P', ['patient', 'string']);
    const patientSources = (count: number) => {
      const random = createSeededRandom(12);
      const keyType = avro.Type.forSchema(patientKey as avro.Schema);
      return Array.from({ length: count }, (_unused, offset) => ({
        topic: 'biometrics_t',
        partition: 1,
        offset,
        key: encode(keyType, patientKey, { patient: `patient-${offset % 7}` }, 8),
        value: encode(TYPE, VALUE, randomValue(random, offset)),
      }));
    };

    it('folds by a key field that is not in the value, and by value fields (pk.mode record_value)', () => {
      const byKey = columnsFor(
        { 'pk.mode': 'record_key', 'insert.mode': 'upsert', 'fields.whitelist': 'patient,small,note,at' },
        patientKey,
      );
      expect(byKey.at(-1)?.name).toBe('patient');
      const sources = patientSources(200);
      expect(binaryRowsOf(byKey, true, sources)).toEqual(keptByText(byKey, true, sources));
      expect(keptByText(byKey, true, sources)).toHaveLength(7);
      const byValue = columnsFor({
        'pk.mode': 'record_value',
        'pk.fields': 'level',
        'insert.mode': 'upsert',
        'fields.whitelist': 'small,level,last',
      });
      expect(binaryRowsOf(byValue, true, sources)).toEqual(keptByText(byValue, true, sources));
      expect(keptByText(byValue, true, sources)).toHaveLength(5);
    });

    it('writes every record of an insert that reads the key (pk.mode record_key)', () => {
      const columns = columnsFor(
        {
          'pk.mode': 'record_key',
          'fields.whitelist': 'patient,small,at',
        },
        patientKey,
      );
      const sources = patientSources(50);
      expect(binaryRowsOf(columns, false, sources)).toEqual(keptByText(columns, false, sources));
    });

    it('keeps text rows when a key column is floating point (-0 and 0 are one key to PostgreSQL)', () => {
      const keySchema = keyRecord('F', ['reading', 'double']);
      const columns = foldColumnsFor(keySchema, { 'fields.whitelist': 'reading,small' });
      const source = {
        topic: 'biometrics_t',
        partition: 0,
        offset: 0,
        key: encode(avro.Type.forSchema(keySchema as avro.Schema), keySchema, { reading: -0 }, 8),
        value: encode(TYPE, VALUE, randomValue(createSeededRandom(5), 0)),
      };
      expect(createRowWriter(columns, true).binaryFor([source], typeOf)).toBe(false);
      const [patient] = patientSources(1);
      const byFloatValue = columnsFor({
        'pk.mode': 'record_value',
        'pk.fields': 'reading',
        'insert.mode': 'upsert',
        'fields.whitelist': 'reading,small',
      });
      expect(createRowWriter(byFloatValue, true).binaryFor([patient as RowSource], typeOf)).toBe(false);
      // A key still decoded (not Avro in the wire format): text rows.
      const byKey = foldColumnsFor(patientKey, { 'fields.whitelist': 'patient,small' });
      expect(createRowWriter(byKey, true).binaryFor([patient as RowSource], typeOf)).toBe(true);
      expect(createRowWriter(byKey, true).binaryFor([{ ...source, key: 'p1' }], typeOf)).toBe(false);
    });
  });

  it('is used only when every column has a binary cell, the values are still encoded, and rows are appended or folded by an Avro key', () => {
    const datum = randomValue(createSeededRandom(3), 0);
    const source = { topic: 't', partition: 0, offset: 0, key: null, value: encode(TYPE, VALUE, datum) };
    expect(createRowWriter(columns, false).binaryFor([source], typeOf)).toBe(true);
    // Debezium's sink makes timestamp(3) columns, and a varchar has a length: still binary.
    const narrower = (field: { name: string }) =>
      field.name === 'at'
        ? 'timestamp(3) without time zone'
        : field.name === 'id'
          ? 'character varying(64)'
          : typeOf(field);
    expect(createRowWriter(columns, false).binaryFor([source], narrower)).toBe(true);
    // Types whose binary cell would differ from what their text stores: text rows.
    for (const [name, type] of [
      ['small', 'smallint'],
      ['big', 'numeric'],
      ['at', 'timestamp with time zone'],
      ['__connect_offset', 'integer'],
      ['id', 'uuid'],
    ])
      expect(
        createRowWriter(columns, false).binaryFor([source], (field) =>
          field.name === name ? type : typeOf(field),
        ),
      ).toBe(false);
    // Logical types other than timestamps (date, time, decimal) are text.
    const withDay = columnsFor({ 'fields.whitelist': 'id,day' });
    expect(createRowWriter(withDay, false).binaryFor([source], () => 'date')).toBe(false);
    expect(
      createRowWriter(columns, false).binaryFor([{ ...source, value: decodedOf(source.value) }], typeOf),
    ).toBe(false);
    expect(createRowWriter(columns, true).binaryFor([source], typeOf)).toBe(false);
  });

  it('dead-letters an int beyond 32 bits as PostgreSQL would, and leaves the other rows whole', () => {
    const intColumns = columnsFor({ 'pk.mode': 'kafka', 'fields.whitelist': 'id,small' });
    const writer = createRowWriter(intColumns, false);
    const source = { topic: 't', partition: 0, offset: 0, key: null };
    const datum = { ...randomValue(createSeededRandom(4), 0), id: 'p1', small: 5 };
    const fine = { ...source, value: encode(TYPE, VALUE, datum) };
    // An Avro int is a varint: a writer can put more than 32 bits in it. After the header and
    // "p1" (a length byte and two bytes), `small` is one byte: replaced by 2^33's varint.
    const tooBig = avro.Type.forSchema({ type: 'long' }).toBuffer(2 ** 33);
    const bytes = fine.value.bytes;
    const patched = Buffer.concat([bytes.subarray(0, 8), tooBig, bytes.subarray(9)]);
    expect(writer.binaryFor([fine], typeOf)).toBe(true);
    const rows = CopyRows.binary(intColumns.length);
    writer.read(fine);
    writer.emit(rows, -1);
    writer.read({ ...source, value: new EncodedAvro(7, VALUE, TYPE, patched) });
    expect(() => writer.emit(rows, -1)).toThrow(
      new SchemaError('value "8589934592" is out of range for type integer'),
    );
    writer.read(fine);
    writer.emit(rows, -1);
    const cells = binaryCells(Buffer.concat(rows.data()));
    const types = intColumns.map((field) => typeOf(field) ?? '');
    expect(cells.map((row) => row.map((cell, index) => cellValue(types[index] ?? '', cell)))).toEqual([
      ['t', 0, 0, 'p1', 5],
      ['t', 0, 0, 'p1', 5],
    ]);
    // One row alone, framed for a COPY of its own (to find a row the database refuses).
    expect(binaryCells(Buffer.concat(rows.rowData(1)))).toEqual([cells[1]]);
  });

  it('turns malformed UTF-8 into U+FFFD and drops NUL, as text cells do', () => {
    const schema: AvroSchema = { type: 'record', name: 'S', fields: [{ name: 's', type: 'bytes' }] };
    const asString: AvroSchema = { type: 'record', name: 'S', fields: [{ name: 's', type: 'string' }] };
    const type = avro.Type.forSchema(asString as avro.Schema);
    const stringColumns = columnsOfValue(asString);
    const source = { topic: 't', partition: 0, offset: 0, key: null };
    const stringOf = (raw: number[]) =>
      new EncodedAvro(
        1,
        asString,
        type,
        writeWireFormat(1, avro.Type.forSchema(schema as avro.Schema).toBuffer({ s: Buffer.from(raw) })),
      );
    const writer = createRowWriter(stringColumns, false);
    const values = [stringOf([0x61, 0xff, 0x62]), stringOf([0x61, 0x00, 0x62]), stringOf([0xc3, 0xbc, 0x00])];
    expect(
      writer.binaryFor(
        values.map((value) => ({ ...source, value })),
        () => 'text',
      ),
    ).toBe(true);
    const rows = CopyRows.binary(1);
    for (const value of values) {
      writer.read({ ...source, value });
      writer.emit(rows, -1);
    }
    expect(binaryCells(Buffer.concat(rows.data())).map(([cell]) => cell?.toString('utf8'))).toEqual([
      'a\ufffdb',
      'ab',
      'ü',
    ]);
  });
});
