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

const fakes = (columnTypes?: Record<string, string>) => {
  const ensured: { table: string; fields: string[] }[] = [];
  const written: WriteChunk<SinkRecord>[] = [];
  return {
    ensured,
    written,
    tables: {
      // Without column types, rows are COPY text.
      ensureTable: async (table: { name: string }, fields: readonly SinkField[]) => {
        ensured.push({ table: table.name, fields: fields.map((field) => field.name) });
        return columnTypes === undefined
          ? undefined
          : { columns: Object.entries(columnTypes).map(([name, type]) => ({ name, type })) };
      },
    },
    writer: {
      writeChunks: async <R>(chunks: Iterable<WriteChunk<R>> | AsyncIterable<WriteChunk<R>>) => {
        for await (const chunk of chunks) {
          // A chunk still being built is written once its rows are all there.
          await chunk.progress?.complete;
          written.push(chunk as unknown as WriteChunk<SinkRecord>);
        }
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
    expect(lines(ports.written[0]?.rows ?? CopyRows.text())[0]).toMatch(/^biometrics_icu\t0\t\d+\ta\t1$/);
  });

  it("writes COPY binary rows when the table's column types allow it, and Avro values are still encoded", async () => {
    const types = {
      __connect_topic: 'text',
      __connect_partition: 'integer',
      __connect_offset: 'bigint',
      id: 'text',
    };
    for (const [hr, binary] of [
      ['integer', encoding],
      ['smallint', false],
    ] as const) {
      const ports = fakes({ ...types, hr });
      const sink = createPostgresSink(connector({ 'pk.mode': 'kafka' }), ports);
      await expect(sink.sinkRecords([record('a', 1), record('b', 2)])).resolves.toMatchObject({ written: 2 });
      const rows = ports.written[0]?.rows ?? CopyRows.text();
      expect(rows.binary).toBe(binary);
      const data = Buffer.concat(rows.data());
      if (!binary) {
        expect(lines(rows)).toEqual([expect.stringMatching(/\ta\t1$/), expect.stringMatching(/\tb\t2$/)]);
        continue;
      }
      // Signature, two rows of five cells, trailer; the last cells: "b" and 2.
      expect(data.subarray(0, 6).toString()).toBe('PGCOPY');
      expect(data.readInt16BE(19)).toBe(5);
      expect(data.subarray(-15)).toEqual(Buffer.from([0, 0, 0, 1, 0x62, 0, 0, 0, 4, 0, 0, 0, 2, 0xff, 0xff]));
    }
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
        return undefined;
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

describe('createPostgresSink streaming a batch to the writer while it is built', () => {
  beforeEach(() => {
    encode = true;
  });

  /**
   * A writer that reads each chunk's first COPY data as a database connection would; a slow one
   * takes a while over every slice, so the batch is finished while it still has slices to take.
   */
  const streamingWriter = (slow = false) => {
    const seen: { streamed: boolean; slices: Buffer[]; rowsAtFirstSlice: number; rows: Buffer }[] = [];
    return {
      seen,
      writeChunks: async <R>(chunks: Iterable<WriteChunk<R>> | AsyncIterable<WriteChunk<R>>) => {
        for await (const chunk of chunks) {
          const slices: Buffer[] = [];
          let rowsAtFirstSlice = -1;
          for await (const slice of chunk.progress?.rowsAsBuilt() ?? chunk.rows.data()) {
            if (rowsAtFirstSlice < 0) rowsAtFirstSlice = chunk.rows.length;
            slices.push(Buffer.from(slice));
            if (slow) await new Promise((resolve) => setTimeout(resolve, 5));
          }
          seen.push({
            streamed: chunk.progress !== undefined,
            slices,
            rowsAtFirstSlice,
            rows: Buffer.concat(chunk.rows.data()),
          });
        }
        return [];
      },
    };
  };
  const tables = { ensureTable: async () => undefined };

  it('streams an insert batch of one plan while it is built, and what it streams is exactly its rows', async () => {
    const writer = streamingWriter();
    const records = Array.from({ length: 5000 }, (_unused, index) => record(`p${index}`, index));
    const result = await createPostgresSink(connector({ 'batch.size': '10000' }), {
      tables,
      writer,
    }).sinkRecords(records);

    expect(result).toMatchObject({ written: 5000, failures: [] });
    expect(writer.seen).toHaveLength(1);
    const [chunk] = writer.seen;
    expect(chunk?.streamed).toBe(true);
    // The first rows left before the last were built, in several slices.
    expect(chunk?.rowsAtFirstSlice).toBeLessThan(5000);
    expect(chunk?.slices.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunk?.slices ?? []).equals(chunk?.rows ?? Buffer.alloc(1))).toBe(true);
    expect(chunk?.rows.toString('utf8').split('\n')).toHaveLength(5001);
  });

  it('ends the stream when the batch is finished while the writer is still taking slices', async () => {
    const writer = streamingWriter(true);
    const records = Array.from({ length: 7000 }, (_unused, index) => record(`p${index}`, index));
    const result = await createPostgresSink(connector({ 'batch.size': '10000' }), {
      tables,
      writer,
    }).sinkRecords(records);
    expect(result.written).toBe(7000);
    const [chunk] = writer.seen;
    expect(Buffer.concat(chunk?.slices ?? []).equals(chunk?.rows ?? Buffer.alloc(1))).toBe(true);
  });

  it('does not stream rows that a later record may replace (upserts folded by key)', async () => {
    const writer = streamingWriter();
    await createPostgresSink(connector({ 'insert.mode': 'upsert', 'pk.mode': 'record_key' }), {
      tables,
      writer,
    }).sinkRecords([record('a', 1), record('b', 2), record('a', 3)]);
    expect(writer.seen.map((chunk) => chunk.streamed)).toEqual([false]);
  });

  it('fails the stream and the batch with the error that stopped the building', async () => {
    const writer = streamingWriter();
    const records = Array.from({ length: 3000 }, (_unused, index) => record(`p${index}`, index));
    // The 2,500th record fails with a retryable error once it is being turned into a row.
    const failing = records[2500] as SinkRecord;
    let reads = 0;
    const value = failing.value;
    Object.defineProperty(failing, 'value', {
      get: () => {
        reads += 1;
        if (reads > 1) throw new UnavailableError('schema registry unreachable');
        return value;
      },
    });
    await expect(createPostgresSink(connector(), { tables, writer }).sinkRecords(records)).rejects.toThrow(
      'schema registry unreachable',
    );
    // The writer saw the chunk fail while streaming it (it recorded nothing as written).
    expect(writer.seen).toHaveLength(0);
  });
});
