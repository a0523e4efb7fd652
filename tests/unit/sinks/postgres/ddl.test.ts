import type { AvroSchema } from '../../../../lib/avro/registry';
import { SchemaError } from '../../../../lib/errors';
import { toConnectSchema } from '../../../../lib/sinks/postgres/connect-schema';
import {
  checkUniqueKey,
  parseTableRef,
  planCreateTable,
  planTableDdl,
  quoteIdentifier,
  sqlTypeOf,
} from '../../../../lib/sinks/postgres/ddl';
import { extractFieldsMetadata } from '../../../../lib/sinks/postgres/fields';

const record = (fields: unknown[]): AvroSchema => ({ type: 'record', name: 'Row', fields });
const typeOf = (type: unknown) => sqlTypeOf(toConnectSchema(type as AvroSchema));

const settings = {
  autoCreate: true,
  autoEvolve: true,
  quoteIdentifiers: true,
  insertMode: 'insert',
  pkMode: 'none',
} as const;
const table = parseTableRef('biometrics_default');

const fieldsOf = (
  value: AvroSchema,
  pk: { pkMode?: 'none' | 'kafka' | 'record_key' | 'record_value'; pkFields?: string[] } = {},
  key?: AvroSchema,
) =>
  extractFieldsMetadata(
    'biometrics_default',
    { pkMode: pk.pkMode ?? 'none', pkFields: pk.pkFields ?? [], fieldsWhitelist: [] },
    key === undefined ? undefined : toConnectSchema(key),
    toConnectSchema(value),
  ).allFields;

describe('sqlTypeOf', () => {
  it.each([
    ['int', 'INT'],
    ['long', 'BIGINT'],
    ['float', 'REAL'],
    ['double', 'DOUBLE PRECISION'],
    ['boolean', 'BOOLEAN'],
    ['string', 'TEXT'],
    ['bytes', 'BYTEA'],
    [{ type: 'long', logicalType: 'timestamp-millis' }, 'TIMESTAMP'],
    [{ type: 'int', logicalType: 'date' }, 'DATE'],
    [{ type: 'int', logicalType: 'time-millis' }, 'TIME'],
    [{ type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 }, 'DECIMAL'],
    [{ type: 'fixed', name: 'Money', size: 8, logicalType: 'decimal', precision: 9, scale: 2 }, 'DECIMAL'],
    [{ type: 'fixed', name: 'Hash', size: 16 }, 'BYTEA'],
    [{ type: 'enum', name: 'Acvpu', symbols: ['A', 'C'] }, 'TEXT'],
    [{ type: 'string', logicalType: 'uuid' }, 'TEXT'],
    [{ type: 'int', 'connect.type': 'int16' }, 'SMALLINT'],
    [{ type: 'int', 'connect.type': 'int8' }, 'SMALLINT'],
    [{ type: 'array', items: 'int' }, 'INT[]'],
    [['null', 'string'], 'TEXT'],
  ])('maps Avro %j to %s', (avro, sql) => {
    expect(typeOf(avro)).toBe(sql);
  });

  it('refuses a nested record with the connector message', () => {
    expect(() => typeOf(record([{ name: 'a', type: 'int' }]))).toThrow(
      "Row (STRUCT) type doesn't have a mapping to the SQL database column type",
    );
  });

  it('refuses a map', () => {
    expect(() => typeOf({ type: 'map', values: 'int' })).toThrow("null (MAP) type doesn't have a mapping");
  });
});

describe('planTableDdl', () => {
  const value = record([
    { name: 'id', type: 'string' },
    { name: 'hr', type: 'int' },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'unit', type: 'string', default: "b'pm" },
    { name: 'on_o2', type: 'boolean', default: false },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ]);

  it('creates the table with NULL for optional, NOT NULL for required and DEFAULT for defaults', () => {
    expect(planTableDdl(table, fieldsOf(value), undefined, settings)).toEqual([
      'CREATE TABLE IF NOT EXISTS "biometrics_default" (\n' +
        '"id" TEXT NOT NULL,\n' +
        '"hr" INT NOT NULL,\n' +
        '"note" TEXT NULL,\n' +
        `"unit" TEXT DEFAULT 'b''pm' NOT NULL,\n` +
        '"on_o2" BOOLEAN DEFAULT FALSE NOT NULL,\n' +
        '"at" TIMESTAMP NOT NULL)',
    ]);
  });

  it('puts the Kafka coordinates first and makes them the primary key under pk.mode kafka', () => {
    const [sql] = planTableDdl(table, fieldsOf(value, { pkMode: 'kafka' }), undefined, settings);
    expect(sql).toMatch(
      /^CREATE TABLE IF NOT EXISTS "biometrics_default" \(\n"__connect_topic" TEXT NOT NULL,\n"__connect_partition" INT NOT NULL,\n"__connect_offset" BIGINT NOT NULL,\n"id" TEXT NOT NULL,/,
    );
    expect(sql).toMatch(/PRIMARY KEY\("__connect_topic","__connect_partition","__connect_offset"\)\)$/);
  });

  it('makes an optional field NOT NULL when it is part of the primary key', () => {
    const [sql] = planTableDdl(
      table,
      fieldsOf(value, { pkMode: 'record_value', pkFields: ['note'] }),
      undefined,
      settings,
    );
    expect(sql).toContain('"note" TEXT NOT NULL');
    expect(sql).toContain('PRIMARY KEY("note")');
  });

  it('takes record_key fields from a struct key, after the value fields', () => {
    const key = record([{ name: 'patient_id', type: 'string' }]);
    const [sql] = planTableDdl(table, fieldsOf(value, { pkMode: 'record_key' }, key), undefined, settings);
    expect(sql).toMatch(
      /"at" TIMESTAMP NOT NULL,\n"patient_id" TEXT NOT NULL,\nPRIMARY KEY\("patient_id"\)\)$/,
    );
  });

  it('refuses to create when auto.create is off', () => {
    expect(() => planTableDdl(table, fieldsOf(value), undefined, { ...settings, autoCreate: false })).toThrow(
      new SchemaError('Table "biometrics_default" is missing and auto-creation is disabled'),
    );
  });

  it('plans nothing when every field has a column (matching case-insensitively)', () => {
    const existing = {
      columns: ['ID', 'hr', 'note', 'unit', 'on_o2', 'at'].map((name) => ({ name, type: 'text' })),
    };
    expect(planTableDdl(table, fieldsOf(value), existing, settings)).toEqual([]);
  });

  it('adds a nullable column for a new optional field', () => {
    const existing = { columns: ['id', 'hr', 'unit', 'on_o2', 'at'].map((name) => ({ name, type: 'text' })) };
    expect(planTableDdl(table, fieldsOf(value), existing, settings)).toEqual([
      'ALTER TABLE "biometrics_default" \nADD COLUMN IF NOT EXISTS "note" TEXT NULL',
    ]);
  });

  it('adds a required field that has a default with its default', () => {
    const existing = { columns: ['id', 'hr', 'note', 'at'].map((name) => ({ name, type: 'text' })) };
    expect(planTableDdl(table, fieldsOf(value), existing, settings)).toEqual([
      `ALTER TABLE "biometrics_default" \nADD COLUMN IF NOT EXISTS "unit" TEXT DEFAULT 'b''pm' NOT NULL,\nADD COLUMN IF NOT EXISTS "on_o2" BOOLEAN DEFAULT FALSE NOT NULL`,
    ]);
  });

  it('refuses a new required field without a default with the connector message', () => {
    const existing = {
      columns: ['id', 'note', 'unit', 'on_o2', 'at'].map((name) => ({ name, type: 'text' })),
    };
    expect(() => planTableDdl(table, fieldsOf(value), existing, settings)).toThrow(
      new SchemaError(
        `Cannot ALTER TABLE "biometrics_default" to add missing field SinkRecordField{schema=Schema{INT32}, name='hr', isPrimaryKey=false}, as the field is not optional and does not have a default value`,
      ),
    );
  });

  it('refuses to evolve when auto.evolve is off', () => {
    const existing = { columns: ['id', 'hr', 'unit', 'on_o2', 'at'].map((name) => ({ name, type: 'text' })) };
    expect(() => planTableDdl(table, fieldsOf(value), existing, { ...settings, autoEvolve: false })).toThrow(
      `Table "biometrics_default" is missing fields [SinkRecordField{schema=Schema{STRING}, name='note', isPrimaryKey=false}] and auto-evolution is disabled`,
    );
  });

  it('never drops or retypes: extra columns and other types are left alone', () => {
    const existing = {
      columns: ['id', 'hr', 'note', 'unit', 'on_o2', 'at', 'legacy'].map((name) => ({
        name,
        type: 'character varying',
      })),
    };
    expect(planTableDdl(table, fieldsOf(value), existing, settings)).toEqual([]);
  });

  it('writes defaults of every kind as SQL literals', () => {
    const withDefaults = record([
      { name: 'i', type: 'int', default: 7 },
      { name: 'l', type: 'long', default: 9007199254740991 },
      { name: 'd', type: 'double', default: 1.5 },
      { name: 'b', type: 'bytes', default: '\u0001\u00ff' },
      { name: 't', type: { type: 'long', logicalType: 'timestamp-millis' }, default: 0 },
      { name: 'day', type: { type: 'int', logicalType: 'date' }, default: 1 },
      {
        name: 'dec',
        type: { type: 'bytes', logicalType: 'decimal', precision: 5, scale: 2 },
        default: '\u0004\u00d2',
      },
    ]);
    const [sql] = planTableDdl(table, fieldsOf(withDefaults), undefined, settings);
    expect(sql).toContain('"i" INT DEFAULT 7 NOT NULL');
    expect(sql).toContain('"l" BIGINT DEFAULT 9007199254740991 NOT NULL');
    expect(sql).toContain('"d" DOUBLE PRECISION DEFAULT 1.5 NOT NULL');
    expect(sql).toContain(`"b" BYTEA DEFAULT '\\x01ff' NOT NULL`);
    expect(sql).toContain(`"t" TIMESTAMP DEFAULT '1970-01-01 00:00:00.000' NOT NULL`);
    expect(sql).toContain(`"day" DATE DEFAULT '1970-01-02' NOT NULL`);
    expect(sql).toContain('"dec" DECIMAL DEFAULT 12.34 NOT NULL');
  });

  it('quotes identifiers, doubling embedded quotes, and leaves them bare when quoting is off', () => {
    expect(quoteIdentifier('we"ird Name', true)).toBe('"we""ird Name"');
    expect(quoteIdentifier('heart_rate', false)).toBe('heart_rate');
    expect(() => quoteIdentifier('heart rate', false)).toThrow(SchemaError);
    expect(
      planCreateTable(
        parseTableRef('clinical.vitals'),
        fieldsOf(record([{ name: 'a', type: 'int' }])),
        false,
      ),
    ).toBe('CREATE TABLE IF NOT EXISTS clinical.vitals (\na INT NOT NULL)');
  });
});

describe('extractFieldsMetadata', () => {
  const value = record([
    { name: 'patient_id', type: 'string' },
    { name: 'hr', type: 'int' },
    { name: 'rr', type: 'int' },
  ]);

  it('keeps only fields.whitelist value fields (and the key fields)', () => {
    const fields = extractFieldsMetadata(
      't',
      { pkMode: 'record_value', pkFields: ['patient_id'], fieldsWhitelist: ['hr'] },
      undefined,
      toConnectSchema(value),
    );
    expect(fields.allFields.map((field) => field.name)).toEqual(['patient_id', 'hr']);
  });

  it('needs exactly one pk.fields name for a primitive key', () => {
    expect(() =>
      extractFieldsMetadata(
        't',
        { pkMode: 'record_key', pkFields: [], fieldsWhitelist: [] },
        toConnectSchema('string'),
        toConnectSchema(value),
      ),
    ).toThrow(
      'Need exactly one PK column defined since the key schema for records is a primitive type, defined columns are: []',
    );
    const fields = extractFieldsMetadata(
      't',
      { pkMode: 'record_key', pkFields: ['pid'], fieldsWhitelist: [] },
      toConnectSchema('string'),
      toConnectSchema(value),
    );
    expect(fields.keyFieldNames).toEqual(['pid']);
  });

  it('names the missing pk field of the value', () => {
    expect(() =>
      extractFieldsMetadata(
        't',
        { pkMode: 'record_value', pkFields: ['nope'], fieldsWhitelist: [] },
        undefined,
        toConnectSchema(value),
      ),
    ).toThrow(
      "PK mode for table 't' is RECORD_VALUE with configured PK fields [nope], but record value schema does not contain field: nope",
    );
  });

  it('reports a missing key schema under record_key', () => {
    expect(() =>
      extractFieldsMetadata(
        't',
        { pkMode: 'record_key', pkFields: [], fieldsWhitelist: [] },
        undefined,
        toConnectSchema(value),
      ),
    ).toThrow("PK mode for table 't' is RECORD_KEY, but record key schema is missing");
  });

  it('uses all value fields as the key under record_value without pk.fields', () => {
    const fields = extractFieldsMetadata(
      't',
      { pkMode: 'record_value', pkFields: [], fieldsWhitelist: [] },
      undefined,
      toConnectSchema(value),
    );
    expect(fields.keyFieldNames).toEqual(['patient_id', 'hr', 'rr']);
  });
});

describe('checkUniqueKey', () => {
  const value = record([
    { name: 'patient_id', type: 'string' },
    { name: 'hr', type: 'int' },
  ]);
  const key = record([{ name: 'patient_id', type: 'string' }]);
  const connectKey = ['__connect_topic', '__connect_partition', '__connect_offset'];
  const upsert = { ...settings, insertMode: 'upsert', pkMode: 'record_key' } as const;
  const byKafka = { ...settings, insertMode: 'insert', pkMode: 'kafka' } as const;
  const keyed = fieldsOf(value, { pkMode: 'record_key', pkFields: ['patient_id'] }, key);
  const uniqueKeys = (...keys: string[][]) => keys;

  it('passes a table keyed on exactly the key columns, in any order', () => {
    expect(() => checkUniqueKey(table, keyed, uniqueKeys(['patient_id']), upsert)).not.toThrow();
    const kafkaFields = fieldsOf(value, { pkMode: 'kafka' });
    const reordered = uniqueKeys(['id'], [...connectKey].reverse());
    expect(() => checkUniqueKey(table, kafkaFields, reordered, byKafka)).not.toThrow();
  });

  it('refuses upsert into a table keyed otherwise, saying what it has and what is needed', () => {
    const check = () => checkUniqueKey(table, keyed, uniqueKeys(connectKey), upsert);
    expect(check).toThrow(SchemaError);
    expect(check).toThrow(
      'Table "biometrics_default" has unique keys (__connect_topic, __connect_partition, __connect_offset) only, but insert.mode upsert with pk.mode record_key writes by the key (patient_id)',
    );
    expect(() => checkUniqueKey(table, keyed, uniqueKeys(), upsert)).toThrow(
      /has no primary key or unique index, but insert\.mode upsert/,
    );
    expect(() => checkUniqueKey(table, keyed, uniqueKeys(['patient_id', 'hr']), upsert)).toThrow(SchemaError);
  });

  it('folds names to lower case when identifiers are not quoted, as PostgreSQL does', () => {
    const upperKey = record([{ name: 'Patient_ID', type: 'string' }]);
    const fields = fieldsOf(record([{ name: 'hr', type: 'int' }]), { pkMode: 'record_key' }, upperKey);
    const unquoted = { ...upsert, quoteIdentifiers: false };
    expect(() => checkUniqueKey(table, fields, uniqueKeys(['patient_id']), unquoted)).not.toThrow();
    expect(() => checkUniqueKey(table, fields, uniqueKeys(['patient_id']), upsert)).toThrow(SchemaError);
  });

  it('asks nothing of writes that name no key: plain inserts, updates, pk.mode none', () => {
    const none = uniqueKeys();
    expect(() => checkUniqueKey(table, keyed, none, { ...upsert, insertMode: 'update' })).not.toThrow();
    expect(() => checkUniqueKey(table, keyed, none, { ...upsert, insertMode: 'insert' })).not.toThrow();
    expect(() => checkUniqueKey(table, fieldsOf(value), none, settings)).not.toThrow();
  });
});
