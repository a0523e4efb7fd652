import { selectRowsInMemory } from '../../../lib/fhir/memory-source';
import { transformRows } from '../../../lib/fhir/transform';
import { baseMapping, compileOne } from './helpers';

const tables = {
  patients: [
    { subject_id: 3, gender: 'M', dob: '2050-01-01 00:00:00' },
    { subject_id: 1, gender: 'F', dob: '2040-01-01 00:00:00' },
    { subject_id: 2, gender: 'F', dob: null },
  ],
  admissions: [
    { row_id: 12, subject_id: 1, hadm_id: 100, admission_type: 'URGENT' },
    { row_id: 11, subject_id: 1, hadm_id: 101, admission_type: 'EMERGENCY' },
    { row_id: 13, subject_id: 3, hadm_id: 102, admission_type: 'ELECTIVE' },
  ],
};

const compiled = compileOne(
  baseMapping({
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
      { path: 'x[*].y', each: 'adm', inputGroups: [{ inputs: [{ column: 'adm.admission_type' }] }] },
    ],
  }),
);

describe('selectRowsInMemory', () => {
  it('left joins, orders by key then many-join key, and keeps unmatched rows with nulls', () => {
    expect(
      selectRowsInMemory(compiled, tables).map((row) => [row['patients.subject_id'], row['adm.row_id']]),
    ).toEqual([
      [1, 11],
      [1, 12],
      [2, null],
      [3, 13],
    ]);
  });

  it('pages by key without splitting a key, and selects one key', () => {
    const page = selectRowsInMemory(compiled, tables, { limit: 1 });
    expect(page.map((row) => row['adm.row_id'])).toEqual([11, 12]);
    expect(
      selectRowsInMemory(compiled, tables, { after: 1, limit: 5 }).map((row) => row['patients.subject_id']),
    ).toEqual([2, 3]);
    expect(selectRowsInMemory(compiled, tables, { key: 3 })).toHaveLength(1);
  });

  it('applies filters with SQL NULL semantics', () => {
    const filtered = (filters: object[]) =>
      selectRowsInMemory(compileOne(baseMapping({ filters: filters as never })), tables).map(
        (row) => row['patients.subject_id'],
      );
    expect(filtered([{ column: 'patients.dob', op: '<>', value: 'x' }])).toEqual([1, 3]);
    expect(filtered([{ column: 'patients.gender', op: 'LIKE', value: 'F%' }])).toEqual([1, 2]);
    expect(filtered([{ column: 'patients.subject_id', op: 'BETWEEN', value: [2, 3] }])).toEqual([2, 3]);
    expect(
      filtered([
        { column: 'patients.subject_id', op: 'IN', value: [1, 3] },
        { column: 'patients.subject_id', op: '>=', value: 2 },
      ]),
    ).toEqual([3]);
  });
});

describe('multi-hop joins', () => {
  it('reach a table two joins away and feed an attribute', () => {
    const hops = compileOne(
      baseMapping({
        id: 'test-observation',
        resourceType: 'Observation',
        source: { name: 'mimic', table: 'chartevents', primaryKey: 'row_id' },
        joins: [
          { alias: 'stay', table: 'icustays', from: 'chartevents', on: [['icustay_id', 'icustay_id']] },
          { alias: 'adm', table: 'admissions', from: 'stay', on: [['hadm_id', 'hadm_id']] },
        ],
        attributes: [{ path: 'note[0].text', inputGroups: [{ inputs: [{ column: 'adm.admission_type' }] }] }],
      }),
    );
    const rows = selectRowsInMemory(hops, {
      chartevents: [
        { row_id: 1, icustay_id: 500 },
        { row_id: 2, icustay_id: null },
      ],
      icustays: [{ icustay_id: 500, hadm_id: 101 }],
      admissions: tables.admissions,
    });
    expect(rows).toEqual([
      { 'chartevents.row_id': 1, 'adm.admission_type': 'EMERGENCY' },
      { 'chartevents.row_id': 2, 'adm.admission_type': null },
    ]);
    const now = new Date(0);
    expect(transformRows(hops, [rows[0] ?? {}], now).note).toEqual([{ text: 'EMERGENCY' }]);
    expect(transformRows(hops, [rows[1] ?? {}], now)).not.toHaveProperty('note');
  });
});
