import { generateClinicalDataset } from '../../../lib/clinical/generate';
import { loadClinicalDataset, planBulkInsert } from '../../../lib/clinical/load';
import { CLINICAL_TABLE_ORDER, CLINICAL_TABLES, planClinicalDdl } from '../../../lib/clinical/schema';
import { UnavailableError } from '../../../lib/errors';
import { createSeededRandom } from '../../../lib/random';

const recorder = (failOn?: RegExp) => {
  const calls: { text: string; values?: unknown[] }[] = [];
  return {
    calls,
    query: async (text: string, values?: unknown[]) => {
      calls.push({ text, values });
      if (failOn?.test(text)) throw new Error('connection reset');
      return {};
    },
  };
};

describe('planClinicalDdl', () => {
  it('drops every table before creating it with MIMIC column names and types, keys after the load', () => {
    const { create, finish } = planClinicalDdl();
    const ddl = create;
    const lastDrop = ddl.findLastIndex((statement) => statement.startsWith('DROP TABLE'));
    const firstCreate = ddl.findIndex((statement) => statement.startsWith('CREATE TABLE'));
    expect(lastDrop).toBeLessThan(firstCreate);
    const chartevents = ddl.find((statement) => statement.startsWith('CREATE TABLE "chartevents"'));
    expect(chartevents).toContain('"valuenum" DOUBLE PRECISION');
    expect(chartevents).toContain('"charttime" TIMESTAMP(0)');
    expect(finish).toContain(
      'ALTER TABLE "patients" ADD CONSTRAINT "patients_subject_id_unique" UNIQUE ("subject_id")',
    );
    expect(finish).toContain(
      'ALTER TABLE "chartevents" ADD CONSTRAINT "chartevents_rowid_pk" PRIMARY KEY ("row_id")',
    );
    expect(finish).toContain('CREATE INDEX "chartevents_idx_icustay_id" ON "chartevents" ("icustay_id")');
    expect(ddl.filter((statement) => statement.startsWith('CREATE TABLE'))).toHaveLength(
      CLINICAL_TABLE_ORDER.length,
    );
  });
});

describe('planBulkInsert', () => {
  it('inserts one array parameter per column through unnest', () => {
    expect(planBulkInsert('diagnoses_icd')).toBe(
      'INSERT INTO "diagnoses_icd" ("row_id", "subject_id", "hadm_id", "seq_num", "icd9_code") ' +
        'SELECT * FROM unnest($1::int4[], $2::int4[], $3::int4[], $4::int4[], $5::text[])',
    );
    expect(planBulkInsert('icustays')).toContain('$10::timestamp[]');
    expect(planBulkInsert('icustays')).toContain('$12::float8[]');
  });
});

describe('loadClinicalDataset', () => {
  const dataset = generateClinicalDataset({ patients: 5 }, createSeededRandom(1));

  it('replaces the tables in one transaction and reports the row counts', async () => {
    const connection = recorder();
    const report = await loadClinicalDataset(connection, dataset);
    expect(connection.calls[0]?.text).toBe('BEGIN');
    expect(connection.calls.at(-1)?.text).toBe('COMMIT');
    const texts = connection.calls.map((call) => call.text);
    expect(texts.findIndex((text) => text.startsWith('ALTER TABLE'))).toBeGreaterThan(
      texts.findLastIndex((text) => text.startsWith('INSERT')),
    );
    expect(report).toEqual(CLINICAL_TABLE_ORDER.map((table) => ({ table, rows: dataset[table].length })));
    const insert = connection.calls.find((call) => call.text.startsWith('INSERT INTO "patients"'));
    const columns = insert?.values as unknown[][];
    expect(columns).toHaveLength(CLINICAL_TABLES.patients.columns.length);
    expect(columns[1]).toEqual(dataset.patients.map((patient) => patient.subject_id));
  });

  it('rolls back and reports a retryable error when a statement fails', async () => {
    const connection = recorder(/^INSERT INTO "chartevents"/);
    await expect(loadClinicalDataset(connection, dataset)).rejects.toBeInstanceOf(UnavailableError);
    expect(connection.calls.at(-1)?.text).toBe('ROLLBACK');
    expect(connection.calls.some((call) => call.text === 'COMMIT')).toBe(false);
  });
});
