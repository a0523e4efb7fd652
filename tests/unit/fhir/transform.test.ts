import { TransformError } from '../../../lib/fhir/errors';
import { deriveResourceId } from '../../../lib/fhir/ids';
import type { MappingInput } from '../../../lib/fhir/mapping-schema';
import { groupRowsByKey, prefixRow } from '../../../lib/fhir/rows';
import { META_TAG_SYSTEMS, transformRows } from '../../../lib/fhir/transform';
import { baseMapping, compileOne } from './helpers';

const NOW = new Date('2026-11-22T23:00:00.000Z');
type Attr = NonNullable<MappingInput['attributes']>[number];
const one = (path: string, input: object, extra: object = {}): Attr =>
  ({ path, inputGroups: [{ inputs: [input] }], ...extra }) as Attr;
const patientRow = (values: Record<string, unknown>) => prefixRow('patients', { subject_id: 10, ...values });

const run = (attributes: Attr[], rows: Record<string, unknown>[], extra: Partial<MappingInput> = {}) =>
  transformRows(compileOne(baseMapping({ attributes, ...extra })), rows, NOW);

const failureOf = (thunk: () => unknown): TransformError => {
  try {
    thunk();
  } catch (error) {
    expect(error).toBeInstanceOf(TransformError);
    return error as TransformError;
  }
  throw new Error('no error');
};

describe('transformRows', () => {
  it('derives the id from mapping id and key and writes meta', () => {
    const resource = run([one('gender', { static: 'female' })], [patientRow({})], {
      profile: ['http://example.org/p'],
    });
    expect(resource).toEqual({
      resourceType: 'Patient',
      id: deriveResourceId('test-patient', 10),
      meta: {
        lastUpdated: '2026-11-22T23:00:00.000Z',
        profile: ['http://example.org/p'],
        tag: [
          { system: META_TAG_SYSTEMS.source, code: 'mimic' },
          { system: META_TAG_SYSTEMS.mapping, code: 'test-patient' },
        ],
      },
      gender: 'female',
    });
  });

  it('writes columns and static values at FHIR paths, arrays included', () => {
    const resource = run(
      [
        one('name[0].family', { column: 'patients.family', cleaning: 'string' }),
        one('name[0].given[0]', { column: 'patients.first' }),
        one('name[0].given[1]', { column: 'patients.middle' }),
        one('identifier[0].system', { static: 'urn:x' }),
        one('identifier[0].value', { column: 'patients.subject_id', cleaning: 'string' }),
        one('active', { static: true }),
      ],
      [patientRow({ family: ' Doe ', first: 'Jane', middle: null })],
    );
    expect(resource).toMatchObject({
      name: [{ family: 'Doe', given: ['Jane'] }],
      identifier: [{ system: 'urn:x', value: '10' }],
      active: true,
    });
  });

  it('keeps resourceType, id and meta out of the attributes reach', () => {
    const resource = run(
      [one('id', { static: 'forged' }), one('meta.source', { static: 'x' })],
      [patientRow({})],
    );
    expect(resource.id).toBe(deriveResourceId('test-patient', 10));
    expect(resource.meta).not.toHaveProperty('source');
  });

  it('takes the first input group whose conditions hold, include and exclude', () => {
    const deceased: Attr = {
      path: 'deceasedString',
      inputGroups: [
        {
          inputs: [{ static: 'dead' }],
          conditions: [{ action: 'include', column: 'patients.dod', relation: 'not-null' }],
        },
        {
          inputs: [{ static: 'alive-old' }],
          conditions: [{ action: 'exclude', column: 'patients.age', relation: 'lt', value: 80 }],
        },
        { inputs: [{ static: 'alive' }] },
      ],
    } as Attr;
    const at = (values: Record<string, unknown>) => run([deceased], [patientRow(values)]).deceasedString;
    expect(at({ dod: '2100-01-01 00:00:00', age: 30 })).toBe('dead');
    expect(at({ dod: null, age: 85 })).toBe('alive-old');
    expect(at({ dod: null, age: 30 })).toBe('alive');
    expect(at({ dod: null, age: null })).toBe('alive-old');
  });

  it('evaluates every relation: eq, gt, ge, lt, le, null, not-null', () => {
    const cases: [string, unknown, unknown, boolean][] = [
      ['eq', 5, 5, true],
      ['eq', '5', 5, true],
      ['eq', 'M', 'M', true],
      ['eq', 'M', 'F', false],
      ['gt', 6, 5, true],
      ['gt', 5, 5, false],
      ['ge', 5, 5, true],
      ['lt', 4, 5, true],
      ['lt', 'abc', 5, false],
      ['le', 5, 5, true],
      ['le', 6, 5, false],
      ['gt', '2100-01-02', '2100-01-01', true],
      ['eq', null, 5, false],
      ['null', null, undefined, true],
      ['null', 0, undefined, false],
      ['not-null', 0, undefined, true],
    ];
    for (const [relation, actual, value, expected] of cases) {
      const attribute = {
        path: 'gender',
        inputGroups: [
          {
            inputs: [{ static: 'other' }],
            conditions: [
              {
                action: 'include',
                column: 'patients.x',
                relation,
                ...(value === undefined ? {} : { value }),
              },
            ],
          },
        ],
      } as Attr;
      expect({
        relation,
        actual,
        value,
        applied: run([attribute], [patientRow({ x: actual })]).gender === 'other',
      }).toEqual({
        relation,
        actual,
        value,
        applied: expected,
      });
    }
  });

  it('cleans, then translates through a concept map with a default', () => {
    const conceptMaps = { gender: { entries: { M: 'male', F: 'female' }, default: 'unknown' } };
    const attribute = one('gender', {
      column: 'patients.gender',
      cleaning: 'uppercase',
      conceptMap: 'gender',
    });
    expect(run([attribute], [patientRow({ gender: 'f' })], { conceptMaps }).gender).toBe('female');
    expect(run([attribute], [patientRow({ gender: 'x' })], { conceptMaps }).gender).toBe('unknown');
    expect(run([attribute], [patientRow({ gender: null })], { conceptMaps })).not.toHaveProperty('gender');
  });

  it('fails a code missing from a concept map without a default, naming the rule', () => {
    const error = failureOf(() =>
      run(
        [one('gender', { column: 'patients.gender', conceptMap: 'gender' })],
        [patientRow({ gender: 'X-SECRET' })],
        {
          conceptMaps: { gender: { entries: { M: 'male' } } },
        },
      ),
    );
    expect(error.failure).toEqual({
      mapping: 'test-patient',
      attribute: 'gender',
      column: 'patients.gender',
      rule: 'conceptMap:gender',
      valueType: 'string',
    });
    expect(error.retryable).toBe(false);
    expect(error.message).not.toContain('X-SECRET');
  });

  it('merges inputs with a named merging function and arguments', () => {
    const attribute = {
      path: 'name[0].text',
      inputGroups: [
        {
          inputs: [
            { column: 'patients.first' },
            { static: '/' },
            { column: 'patients.family', cleaning: 'uppercase' },
          ],
          merging: { name: 'concatenate', args: { separator: '' } },
        },
      ],
    } as Attr;
    expect(run([attribute], [patientRow({ first: 'Jane', family: 'doe' })]).name).toEqual([
      { text: 'Jane/DOE' },
    ]);
  });

  it('turns keys into references to the deterministic id of another mapping', () => {
    const encounter = baseMapping({
      id: 'test-encounter',
      resourceType: 'Encounter',
      source: { name: 'mimic', table: 'admissions', primaryKey: 'hadm_id' },
      attributes: [one('subject.reference', { column: 'admissions.subject_id', reference: 'test-patient' })],
    });
    const compiled = compileOne(encounter, [baseMapping()]);
    const resource = transformRows(compiled, [prefixRow('admissions', { hadm_id: 5, subject_id: 10 })], NOW);
    expect(resource.subject).toEqual({ reference: `Patient/${deriveResourceId('test-patient', 10)}` });
    expect(
      transformRows(compiled, [prefixRow('admissions', { hadm_id: 5, subject_id: null })], NOW),
    ).not.toHaveProperty('subject');
  });

  it('fills a nested array with one element per row of a many join, skipping unmatched rows', () => {
    const mapping = baseMapping({
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
        one('gender', { column: 'patients.gender' }),
        one('contact[*].name.text', { column: 'adm.religion' }, { each: 'adm' }),
        one('contact[*].relationship[0].text', { column: 'adm.marital_status' }, { each: 'adm' }),
      ],
    });
    const compiled = compileOne(mapping);
    const rows = [
      {
        'patients.subject_id': 10,
        'patients.gender': 'F',
        'adm.row_id': 1,
        'adm.religion': 'A',
        'adm.marital_status': 'M',
      },
      {
        'patients.subject_id': 10,
        'patients.gender': 'F',
        'adm.row_id': 1,
        'adm.religion': 'A',
        'adm.marital_status': 'M',
      },
      {
        'patients.subject_id': 10,
        'patients.gender': 'F',
        'adm.row_id': 2,
        'adm.religion': 'B',
        'adm.marital_status': null,
      },
    ];
    expect(transformRows(compiled, rows, NOW).contact).toEqual([
      { name: { text: 'A' }, relationship: [{ text: 'M' }] },
      { name: { text: 'B' } },
    ]);
    const unmatched = [
      {
        'patients.subject_id': 11,
        'patients.gender': 'M',
        'adm.row_id': null,
        'adm.religion': null,
        'adm.marital_status': null,
      },
    ];
    expect(transformRows(compiled, unmatched, NOW)).not.toHaveProperty('contact');
  });

  it('writes profile slices as named array elements', () => {
    const resource = run(
      [
        one('category:VSCat.coding[0].code', { static: 'vital-signs' }),
        one('category:Local.text', { static: 'local' }),
        one('category:VSCat.coding[0].system', {
          static: 'http://terminology.hl7.org/CodeSystem/observation-category',
        }),
      ],
      [patientRow({})],
    );
    expect(resource.category).toEqual([
      {
        coding: [
          { code: 'vital-signs', system: 'http://terminology.hl7.org/CodeSystem/observation-category' },
        ],
      },
      { text: 'local' },
    ]);
  });

  it('names mapping, attribute, column, rule and value type when cleaning fails, never the value', () => {
    const error = failureOf(() =>
      run(
        [one('birthDate', { column: 'patients.dob', cleaning: 'date' })],
        [patientRow({ dob: 'SMITH-1955' })],
      ),
    );
    expect(error.failure).toEqual({
      mapping: 'test-patient',
      attribute: 'birthDate',
      column: 'patients.dob',
      rule: 'cleaning:date',
      valueType: 'string',
    });
    expect(error.message).toBe(
      'mapping test-patient: attribute birthDate: column patients.dob: rule cleaning:date rejected a value of type string',
    );
    expect(error.message).not.toContain('SMITH');
  });

  it('fails a row that lacks a column the mapping reads, and one without a key', () => {
    expect(
      failureOf(() => run([one('gender', { column: 'patients.gender' })], [patientRow({})])).failure.rule,
    ).toBe('column-present');
    expect(
      failureOf(() => run([one('gender', { static: 'x' })], [{ 'patients.subject_id': null }])).failure.rule,
    ).toBe('primary-key');
  });

  it('reports a merging failure with the values type', () => {
    const attribute = {
      path: 'name[0].text',
      inputGroups: [{ inputs: [{ column: 'patients.a' }, { column: 'patients.b' }], merging: 'sum' }],
    } as Attr;
    expect(failureOf(() => run([attribute], [patientRow({ a: 1, b: 'x' })])).failure).toMatchObject({
      rule: 'merging:sum',
      column: null,
      valueType: 'string',
    });
  });
});

describe('groupRowsByKey', () => {
  it('groups adjacent rows of one key, in order', () => {
    const compiled = compileOne(baseMapping());
    const rows = [10, 10, 11, 12, 12].map((key) => prefixRow('patients', { subject_id: key, gender: 'F' }));
    expect(groupRowsByKey(compiled, rows).map((group) => [group.key, group.rows.length])).toEqual([
      [10, 2],
      [11, 1],
      [12, 2],
    ]);
    expect(() => groupRowsByKey(compiled, [prefixRow('patients', { subject_id: null })])).toThrow(
      TransformError,
    );
  });
});

describe('rows from other sources', () => {
  it('maps a CSV record with a reference by identifier, left for a later binding', () => {
    const compiled = compileOne(
      baseMapping({
        id: 'csv-observation',
        resourceType: 'Observation',
        source: { name: 'lab-drop', table: 'results', primaryKey: 'result_id' },
        attributes: [
          one('status', { static: 'final' }),
          one('code.text', { column: 'results.test', cleaning: 'string' }),
          one('subject.identifier.system', { static: 'urn:hospital:mrn' }),
          one('subject.identifier.value', { column: 'results.mrn', cleaning: 'string' }),
        ],
      }),
    );
    const row = prefixRow('results', { result_id: 'r-1', test: 'Sodium', mrn: 'MRN-7' });
    expect(transformRows(compiled, [row], NOW)).toMatchObject({
      id: deriveResourceId('csv-observation', 'r-1'),
      subject: { identifier: { system: 'urn:hospital:mrn', value: 'MRN-7' } },
    });
  });
});
