import { toConnectSchema } from '../../../../lib/sinks/postgres/connect-schema';
import { parseTableRef } from '../../../../lib/sinks/postgres/ddl';
import { extractFieldsMetadata, type SinkField } from '../../../../lib/sinks/postgres/fields';
import { planWriteStatements, stagingNameOf } from '../../../../lib/sinks/postgres/statements';

const table = parseTableRef('vitals');
const value = toConnectSchema({
  type: 'record',
  name: 'V',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'hr', type: 'int' },
  ],
});
const columns = (pkMode: 'none' | 'kafka' | 'record_value'): SinkField[] =>
  extractFieldsMetadata(
    'vitals',
    { pkMode, pkFields: pkMode === 'record_value' ? ['id'] : [], fieldsWhitelist: [] },
    undefined,
    value,
  ).allFields;
const stage = `"${stagingNameOf(table, columns('record_value'))}"`;

describe('planWriteStatements', () => {
  it('copies straight into the table for plain inserts without a key', () => {
    expect(
      planWriteStatements({
        table,
        columns: columns('none'),
        kind: 'write',
        insertMode: 'insert',
        pkMode: 'none',
        quote: true,
      }),
    ).toEqual({
      optimistic: undefined,
      prepare: undefined,
      copy: 'COPY "vitals" ("id","hr") FROM STDIN',
      merge: undefined,
      cleanup: undefined,
    });
  });

  it('stages and merges an upsert with ON CONFLICT DO UPDATE of the non-key columns', () => {
    const plan = planWriteStatements({
      table,
      columns: columns('record_value'),
      kind: 'write',
      insertMode: 'upsert',
      pkMode: 'record_value',
      quote: true,
    });
    expect(plan.prepare).toBe(
      `CREATE TEMP TABLE IF NOT EXISTS ${stage} ON COMMIT DELETE ROWS AS SELECT "id","hr" FROM "vitals" WITH NO DATA`,
    );
    expect(plan.copy).toBe(`COPY ${stage} ("id","hr") FROM STDIN`);
    expect(plan.merge).toBe(
      `INSERT INTO "vitals" ("id","hr") SELECT "id","hr" FROM ${stage} ON CONFLICT ("id") DO UPDATE SET "hr"=EXCLUDED."hr"`,
    );
    expect(plan.cleanup).toBe(`DELETE FROM ${stage}`);
  });

  it('updates existing rows only in update mode', () => {
    const plan = planWriteStatements({
      table,
      columns: columns('record_value'),
      kind: 'write',
      insertMode: 'update',
      pkMode: 'record_value',
      quote: true,
    });
    expect(plan.merge).toBe(
      `UPDATE "vitals" AS "__t" SET "hr" = "__s"."hr" FROM ${stage} AS "__s" WHERE "__t"."id" = "__s"."id"`,
    );
  });

  it('skips a conflicting insert under pk.mode kafka so redelivery is idempotent', () => {
    const plan = planWriteStatements({
      table,
      columns: columns('kafka'),
      kind: 'write',
      insertMode: 'insert',
      pkMode: 'kafka',
      quote: true,
    });
    expect(plan.merge).toMatch(
      /ON CONFLICT \("__connect_topic","__connect_partition","__connect_offset"\) DO NOTHING$/,
    );
  });

  it('keeps insert semantics for other key modes (a duplicate key fails)', () => {
    const plan = planWriteStatements({
      table,
      columns: columns('record_value'),
      kind: 'write',
      insertMode: 'insert',
      pkMode: 'record_value',
      quote: true,
    });
    expect(plan.merge).toBe(`INSERT INTO "vitals" ("id","hr") SELECT "id","hr" FROM ${stage}`);
  });

  it('deletes by key for tombstones', () => {
    const keys = columns('record_value').filter((field) => field.isPrimaryKey);
    const plan = planWriteStatements({
      table,
      columns: keys,
      kind: 'delete',
      insertMode: 'upsert',
      pkMode: 'record_value',
      quote: true,
    });
    expect(plan.merge).toMatch(
      /^DELETE FROM "vitals" AS "__t" USING "medstream_stage_[0-9a-f]{16}" AS "__s" WHERE "__t"."id" = "__s"."id"$/,
    );
  });

  it('names a new staging table when the column set changes (after auto.evolve)', () => {
    expect(stagingNameOf(table, columns('none'))).not.toBe(stagingNameOf(table, columns('kafka')));
  });
});
