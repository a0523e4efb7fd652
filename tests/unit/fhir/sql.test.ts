import { buildChangeQuery, buildKeyQuery, buildPageQuery } from '../../../lib/fhir/sql';
import { baseMapping, compileOne } from './helpers';

const simple = compileOne(
  baseMapping({
    attributes: [
      { path: 'birthDate', inputGroups: [{ inputs: [{ column: 'patients.dob', cleaning: 'date' }] }] },
    ],
  }),
);

describe('buildPageQuery', () => {
  it('pages by primary key with bound parameters only', () => {
    expect(buildPageQuery(simple, { limit: 500 })).toEqual({
      text:
        'SELECT "patients"."subject_id" AS "patients.subject_id", "patients"."dob" AS "patients.dob" ' +
        'FROM "patients" AS "patients" ORDER BY "patients"."subject_id" LIMIT $1',
      values: [500],
    });
    expect(buildPageQuery(simple, { after: 42, limit: 500 })).toEqual({
      text:
        'SELECT "patients"."subject_id" AS "patients.subject_id", "patients"."dob" AS "patients.dob" ' +
        'FROM "patients" AS "patients" WHERE "patients"."subject_id" > $1 ORDER BY "patients"."subject_id" LIMIT $2',
      values: [42, 500],
    });
  });

  it('renders every filter operator as a bound comparison', () => {
    const compiled = compileOne(
      baseMapping({
        filters: [
          { column: 'patients.gender', op: '=', value: 'M' },
          { column: 'patients.gender', op: '<>', value: 'F' },
          { column: 'patients.subject_id', op: 'IN', value: [1, 2, 3] },
          { column: 'patients.subject_id', op: '<', value: 90 },
          { column: 'patients.subject_id', op: '<=', value: 91 },
          { column: 'patients.subject_id', op: '>', value: 0 },
          { column: 'patients.subject_id', op: '>=', value: 1 },
          { column: 'patients.dob', op: 'BETWEEN', value: ['2000-01-01', '2100-01-01'] },
          { column: 'patients.gender', op: 'LIKE', value: "M%'; DROP TABLE patients; --" },
        ],
      }),
    );
    const query = buildPageQuery(compiled, { after: 5, limit: 10 });
    expect(query.text).toContain(
      'WHERE "patients"."gender" = $1 AND "patients"."gender" <> $2 AND "patients"."subject_id" IN ($3, $4, $5) ' +
        'AND "patients"."subject_id" < $6 AND "patients"."subject_id" <= $7 AND "patients"."subject_id" > $8 ' +
        'AND "patients"."subject_id" >= $9 AND "patients"."dob" BETWEEN $10 AND $11 AND "patients"."gender" LIKE $12 ' +
        'AND "patients"."subject_id" > $13 ORDER BY "patients"."subject_id" LIMIT $14',
    );
    expect(query.values).toEqual([
      'M',
      'F',
      1,
      2,
      3,
      90,
      91,
      0,
      1,
      '2000-01-01',
      '2100-01-01',
      "M%'; DROP TABLE patients; --",
      5,
      10,
    ]);
    expect(query.text).not.toContain('DROP');
  });

  it('renders multi-hop LEFT joins off the alias they hang from', () => {
    const compiled = compileOne(
      baseMapping({
        id: 'test-observation',
        resourceType: 'Observation',
        source: { name: 'mimic', table: 'chartevents', primaryKey: 'row_id' },
        joins: [
          { alias: 'stay', table: 'icustays', from: 'chartevents', on: [['icustay_id', 'icustay_id']] },
          {
            alias: 'adm',
            table: 'admissions',
            from: 'stay',
            on: [
              ['hadm_id', 'hadm_id'],
              ['subject_id', 'subject_id'],
            ],
          },
        ],
        attributes: [{ path: 'status', inputGroups: [{ inputs: [{ column: 'adm.admission_type' }] }] }],
      }),
    );
    expect(buildPageQuery(compiled, { limit: 1 }).text).toBe(
      'SELECT "chartevents"."row_id" AS "chartevents.row_id", "adm"."admission_type" AS "adm.admission_type" ' +
        'FROM "chartevents" AS "chartevents" ' +
        'LEFT JOIN "icustays" AS "stay" ON "stay"."icustay_id" = "chartevents"."icustay_id" ' +
        'LEFT JOIN "admissions" AS "adm" ON "adm"."hadm_id" = "stay"."hadm_id" AND "adm"."subject_id" = "stay"."subject_id" ' +
        'ORDER BY "chartevents"."row_id" LIMIT $1',
    );
  });

  it('with a many join, limits keys in a subquery so a page never splits a resource', () => {
    const compiled = compileOne(
      baseMapping({
        filters: [{ column: 'patients.gender', op: '=', value: 'F' }],
        joins: [
          {
            alias: 'adm',
            table: 'admissions',
            from: 'patients',
            on: [['subject_id', 'subject_id']],
            cardinality: 'many',
            key: 'row_id',
          },
        ],
        attributes: [
          { path: 'x[*].y', each: 'adm', inputGroups: [{ inputs: [{ column: 'adm.admittime' }] }] },
        ],
      }),
    );
    const from =
      'FROM "patients" AS "patients" LEFT JOIN "admissions" AS "adm" ON "adm"."subject_id" = "patients"."subject_id"';
    expect(buildPageQuery(compiled, { after: 7, limit: 100 })).toEqual({
      text:
        'SELECT "patients"."subject_id" AS "patients.subject_id", "adm"."row_id" AS "adm.row_id", ' +
        `"patients"."gender" AS "patients.gender", "adm"."admittime" AS "adm.admittime" ${from} ` +
        `WHERE "patients"."gender" = $4 AND "patients"."subject_id" IN (SELECT DISTINCT "patients"."subject_id" ${from} ` +
        'WHERE "patients"."gender" = $1 AND "patients"."subject_id" > $2 ORDER BY "patients"."subject_id" LIMIT $3) ' +
        'ORDER BY "patients"."subject_id", "adm"."row_id"',
      values: ['F', 7, 100, 'F'],
    });
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => buildPageQuery(simple, { limit: 0 })).toThrow(RangeError);
    expect(() => buildPageQuery(simple, { limit: 1.5 })).toThrow(RangeError);
  });
});

describe('buildKeyQuery', () => {
  it('selects the rows of one key, filters kept, with the key bound', () => {
    const compiled = compileOne(
      baseMapping({ filters: [{ column: 'patients.gender', op: 'IN', value: ['M', 'F'] }] }),
    );
    expect(buildKeyQuery(compiled, '1 OR 1=1')).toEqual({
      text:
        'SELECT "patients"."subject_id" AS "patients.subject_id", "patients"."gender" AS "patients.gender" ' +
        'FROM "patients" AS "patients" WHERE "patients"."gender" IN ($1, $2) AND "patients"."subject_id" = $3 ' +
        'ORDER BY "patients"."subject_id"',
      values: ['M', 'F', '1 OR 1=1'],
    });
  });
});

describe('buildChangeQuery', () => {
  it('reads rows after a (timestamp, key) offset and before a cut-off, ordered by both', () => {
    expect(
      buildChangeQuery(simple, {
        timestampColumn: 'patients.dob',
        since: { timestamp: '2100-01-01 00:00:00', key: 12 },
        until: '2100-02-01 00:00:00',
        limit: 50,
      }),
    ).toEqual({
      text:
        'SELECT "patients"."dob" AS "$timestamp", "patients"."subject_id" AS "patients.subject_id", "patients"."dob" AS "patients.dob" ' +
        'FROM "patients" AS "patients" WHERE "patients"."dob" < $1 AND ("patients"."dob" > $2 OR ("patients"."dob" = $2 ' +
        'AND "patients"."subject_id" > $3)) ORDER BY "patients"."dob", "patients"."subject_id" LIMIT $4',
      values: ['2100-02-01 00:00:00', '2100-01-01 00:00:00', 12, 50],
    });
  });

  it('starts from the beginning without an offset, and refuses a column off the source table', () => {
    const query = buildChangeQuery(simple, {
      timestampColumn: 'patients.dob',
      until: '2100-01-01',
      limit: 5,
    });
    expect(query.values).toEqual(['2100-01-01', 5]);
    expect(() =>
      buildChangeQuery(simple, { timestampColumn: 'adm.admittime', until: 'x', limit: 5 }),
    ).toThrow('the timestamp column must be a column of the source table');
  });
});
