import { randomUUID } from 'node:crypto';
import { Client, types } from 'pg';
import { generateClinicalDataset } from '../../../lib/clinical/generate';
import { loadClinicalDataset } from '../../../lib/clinical/load';
import { loadConfig } from '../../../lib/config';
import { selectRowsInMemory } from '../../../lib/fhir/memory-source';
import { groupRowsByKey, type SourceRow } from '../../../lib/fhir/rows';
import {
  buildChangeQuery,
  buildKeyQuery,
  buildPageQuery,
  type ChangeOffset,
  type KeyValue,
} from '../../../lib/fhir/sql';
import { type FhirResource, transformRows } from '../../../lib/fhir/transform';
import { createSeededRandom } from '../../../lib/random';
import { loadShippedMappings } from '../../../lib/transform/shipped-mappings';
import { listFhirProblems } from '../../support/fhir-validator';

const TIMESTAMP_OID = 1114;
const NOW = new Date('2026-11-22T23:00:00.000Z');
const PATIENTS = 25;

// The seeded database on the real PostgreSQL, in a schema of this test's own, queried with the SQL
// the mappings generate; the in-memory source is the oracle for what the rows must be.
describe('clinical database -> generated SQL -> FHIR', () => {
  const schema = `it_${randomUUID().replaceAll('-', '')}`;
  const dataset = generateClinicalDataset({ patients: PATIENTS }, createSeededRandom(606));
  const registry = loadShippedMappings();
  // TIMESTAMP WITHOUT TIME ZONE as text: pg would otherwise read it in the process's local zone.
  const client = new Client({
    connectionString: loadConfig().CLINICAL_DATABASE_URL,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === TIMESTAMP_OID
          ? (value: string) => value
          : types.getTypeParser(oid, format as 'text')) as typeof types.getTypeParser,
    },
  });

  beforeAll(async () => {
    await client.connect();
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`SET search_path TO "${schema}"`);
    await loadClinicalDataset(client, dataset);
  });

  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await client.end();
  });

  const readAll = async (id: string, limit: number): Promise<{ rows: SourceRow[]; pages: number }> => {
    const compiled = registry.get(id);
    if (compiled === undefined) throw new Error(id);
    const rows: SourceRow[] = [];
    let after: KeyValue | undefined;
    let pages = 0;
    for (;;) {
      const query = buildPageQuery(compiled, { after, limit });
      const page = (await client.query(query.text, query.values)).rows as SourceRow[];
      if (page.length === 0) break;
      pages += 1;
      rows.push(...page);
      after = page.at(-1)?.[compiled.keyColumn] as KeyValue;
    }
    return { rows, pages };
  };

  it('reloads idempotently: a second load gives the same tables', async () => {
    await loadClinicalDataset(client, dataset);
    const counts = await client.query(
      'SELECT (SELECT count(*) FROM patients)::int AS patients, (SELECT count(*) FROM chartevents)::int AS chartevents',
    );
    expect(counts.rows[0]).toEqual({ patients: PATIENTS, chartevents: dataset.chartevents.length });
  });

  it.each([
    'mimic-patient',
    'mimic-encounter-admission',
    'mimic-encounter-icu',
    'mimic-observation-vital-signs',
    'mimic-observation-laboratory',
    'mimic-condition',
  ])('%s: paged SQL returns the expected rows and every resource is valid', async (id) => {
    const compiled = registry.get(id);
    if (compiled === undefined) throw new Error(id);
    const limit = id.startsWith('mimic-observation') ? 997 : 7;
    const { rows, pages } = await readAll(id, limit);
    expect(rows).toEqual(selectRowsInMemory(compiled, dataset));
    const groups = groupRowsByKey(compiled, rows);
    expect(pages).toBe(Math.ceil(groups.length / limit));
    expect(new Set(groups.map((group) => group.key)).size).toBe(groups.length);
    const resources = groups.map((group) => transformRows(compiled, group.rows, NOW));
    expect(listFhirProblems(resources)).toEqual([]);
  });

  it('previews one key with the same resource the batch makes', async () => {
    const compiled = registry.get('mimic-encounter-admission');
    if (compiled === undefined) throw new Error('missing');
    const admission = dataset.admissions[3];
    if (admission === undefined) throw new Error('missing');
    const query = buildKeyQuery(compiled, admission.hadm_id);
    const rows = (await client.query(query.text, query.values)).rows as SourceRow[];
    const preview: FhirResource = transformRows(compiled, rows, NOW);
    const expected = transformRows(
      compiled,
      selectRowsInMemory(compiled, dataset, { key: admission.hadm_id }),
      NOW,
    );
    expect(preview).toEqual(expected);
    expect((preview.diagnosis as unknown[]).length).toBe(
      dataset.diagnoses_icd.filter((row) => row.hadm_id === admission.hadm_id).length,
    );
    const none = buildKeyQuery(compiled, -1);
    expect((await client.query(none.text, none.values)).rows).toEqual([]);
  });

  it('reads changes by (timestamp, key) offsets: every admission once, resources whole', async () => {
    const compiled = registry.get('mimic-encounter-admission');
    if (compiled === undefined) throw new Error('missing');
    const seen: KeyValue[] = [];
    let since: ChangeOffset | undefined;
    for (;;) {
      const query = buildChangeQuery(compiled, {
        timestampColumn: 'admissions.admittime',
        since,
        until: '2300-01-01 00:00:00',
        limit: 4,
      });
      const rows = (await client.query(query.text, query.values)).rows as SourceRow[];
      if (rows.length === 0) break;
      const groups = groupRowsByKey(compiled, rows);
      for (const group of groups) {
        const expected = selectRowsInMemory(compiled, dataset, { key: group.key });
        expect(group.rows.length).toBe(expected.length);
      }
      seen.push(...groups.map((group) => group.key));
      const last = rows.at(-1);
      since = { timestamp: String(last?.$timestamp), key: last?.[compiled.keyColumn] as KeyValue };
    }
    expect(seen.length).toBe(dataset.admissions.length);
    expect(new Set(seen).size).toBe(seen.length);
  });
});
