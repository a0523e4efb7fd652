import avro from 'avsc';
import { type AvroSchema, EncodedAvro, writeWireFormat } from '../../../../lib/avro/registry';
import { SchemaError, UnavailableError } from '../../../../lib/errors';
import { parseSinkConnectorConfig } from '../../../../lib/sinks/postgres/config';
import { CopyRows } from '../../../../lib/sinks/postgres/copy-rows';
import type { SinkField } from '../../../../lib/sinks/postgres/fields';
import { createPostgresSink, type SinkRecord, type WriteChunk } from '../../../../lib/sinks/postgres/sink';

const KEY = { type: 'record', name: 'K', fields: [{ name: 'id', type: 'string' }] };
const VALUE = {
  type: 'record',
  name: 'V',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'hr', type: 'int' },
  ],
};

// Records reach the sink decoded (values from any decoder) or still encoded (the Avro hot path):
// every test runs with both, and both must write the same rows.
const KEY_TYPE = avro.Type.forSchema(KEY as avro.Schema);
const VALUE_TYPE = avro.Type.forSchema(VALUE as avro.Schema);
const encoded = (schemaId: number, schema: AvroSchema, type: avro.Type, datum: unknown) =>
  new EncodedAvro(schemaId, schema, type, writeWireFormat(schemaId, type.toBuffer(datum)));

let offset = 0;
let encode = false;
const record = (id: string, hr: number | null, topic = 'biometrics_icu'): SinkRecord => {
  const value = hr === null ? null : { id, hr };
  return {
    topic,
    partition: 0,
    offset: offset++,
    timestamp: 1,
    key: encode ? encoded(1, KEY, KEY_TYPE, { id }) : { id },
    value: encode && value !== null ? encoded(2, VALUE, VALUE_TYPE, value) : value,
    keySchema: KEY,
    ...(hr === null ? {} : { valueSchema: VALUE }),
  };
};

/** A chunk's rows as COPY lines, in the order they are written. */
const lines = (rows: CopyRows): string[] =>
  Buffer.concat(rows.data()).toString('utf8').split('\n').slice(0, -1);

const fakes = () => {
  const ensured: { table: string; fields: string[] }[] = [];
  const written: WriteChunk<SinkRecord>[] = [];
  return {
    ensured,
    written,
    tables: {
      ensureTable: async (table: { name: string }, fields: readonly SinkField[]) => {
        ensured.push({ table: table.name, fields: fields.map((field) => field.name) });
      },
    },
    writer: {
      writeChunks: async <R>(chunks: WriteChunk<R>[]) => {
        written.push(...(chunks as unknown as WriteChunk<SinkRecord>[]));
        return [];
      },
    },
  };
};

const connector = (extra: Record<string, string> = {}) =>
  parseSinkConnectorConfig({
    name: 's',
    'connector.class': 'io.confluent.connect.jdbc.JdbcSinkConnector',
    'topics.regex': 'biometrics_(.*)',
    ...extra,
  });

describe.each([
  ['decoded', false],
  ['encoded', true],
])('createPostgresSink (%s records)', (_name, encoding) => {
  beforeEach(() => {
    encode = encoding;
  });

  it('writes a batch as one chunk per table and schema, in record order', async () => {
    const ports = fakes();
    const sink = createPostgresSink(connector({ 'pk.mode': 'kafka' }), ports);
    const result = await sink.sinkRecords([
      record('a', 1),
      record('b', 2),
      record('c', 3, 'biometrics_ward2'),
    ]);
    expect(result).toMatchObject({ written: 3, deleted: 0, skipped: 0, failures: [] });
    expect(ports.written.map((chunk) => [chunk.table.name, chunk.rows.length])).toEqual([
      ['biometrics_icu', 2],
      ['biometrics_ward2', 1],
    ]);
    expect(ports.ensured.map((call) => call.table)).toEqual(['biometrics_icu', 'biometrics_ward2']);
    expect(lines(ports.written[0]?.rows ?? new CopyRows())[0]).toMatch(/^biometrics_icu\t0\t\d+\ta\t1$/);
  });

  it('skips topics the connector does not subscribe to', async () => {
    const ports = fakes();
    const result = await createPostgresSink(connector(), ports).sinkRecords([record('a', 1, 'other')]);
    expect(result).toMatchObject({ written: 0, skipped: 1 });
  });

  it('splits chunks at batch.size', async () => {
    const ports = fakes();
    await createPostgresSink(connector({ 'batch.size': '2' }), ports).sinkRecords([
      record('a', 1),
      record('b', 2),
      record('c', 3),
    ]);
    expect(ports.written.map((chunk) => chunk.rows.length)).toEqual([2, 1]);
  });

  it('keeps the last record per key in an upsert chunk and starts a delete chunk for a tombstone', async () => {
    const ports = fakes();
    const sink = createPostgresSink(
      connector({ 'insert.mode': 'upsert', 'pk.mode': 'record_key', 'delete.enabled': 'true' }),
      ports,
    );
    const result = await sink.sinkRecords([
      record('a', 1),
      record('a', 2),
      record('b', 3),
      record('a', null),
      record('a', 4),
    ]);
    expect(ports.written.map((chunk) => [chunk.kind, lines(chunk.rows)])).toEqual([
      ['write', ['a\t2', 'b\t3']],
      ['delete', ['a']],
      ['write', ['a\t4']],
    ]);
    expect(result).toMatchObject({ written: 4, deleted: 1 });
  });

  it('fails a tombstone as a poison record when deletes are off', async () => {
    const ports = fakes();
    const result = await createPostgresSink(connector(), ports).sinkRecords([record('a', null)]);
    expect(result.failures).toHaveLength(1);
    const error = result.failures[0]?.error as Error;
    expect(error).toBeInstanceOf(SchemaError);
    expect(error.message).toContain("'delete.enabled=false' and 'pk.mode=none'");
  });

  it('fails the records of a schema whose DDL the rules refuse, and writes the others', async () => {
    const ports = fakes();
    const refusing = {
      ensureTable: async (table: { name: string }) => {
        if (table.name === 'biometrics_bad')
          throw new SchemaError('Table "biometrics_bad" is missing and auto-creation is disabled');
      },
    };
    const result = await createPostgresSink(connector(), {
      tables: refusing,
      writer: ports.writer,
    }).sinkRecords([record('a', 1), record('b', 2, 'biometrics_bad')]);
    expect(result.written).toBe(1);
    expect(result.failures.map((failure) => failure.record.topic)).toEqual(['biometrics_bad']);
  });

  it('lets a database outage escape so the whole batch is retried', async () => {
    const down = {
      ensureTable: async () => Promise.reject(new UnavailableError('cannot connect to PostgreSQL')),
    };
    await expect(
      createPostgresSink(connector(), { tables: down, writer: fakes().writer }).sinkRecords([record('a', 1)]),
    ).rejects.toBeInstanceOf(UnavailableError);
  });
});
