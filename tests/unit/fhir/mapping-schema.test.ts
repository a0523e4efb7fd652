import { MappingError } from '../../../lib/fhir/errors';
import { parseMapping } from '../../../lib/fhir/mapping-files';
import { baseMapping } from './helpers';

const problemsOf = (document: unknown): string => {
  try {
    parseMapping(document, 'test.json');
  } catch (error) {
    expect(error).toBeInstanceOf(MappingError);
    return (error as Error).message;
  }
  throw new Error('parsed');
};

describe('mapping schema', () => {
  it('parses a minimal mapping and fills defaults', () => {
    const mapping = parseMapping(baseMapping(), 'test.json');
    expect(mapping.filters).toEqual([]);
    expect(mapping.joins).toEqual([]);
    expect(mapping.profile).toEqual([]);
  });

  it('rejects unknown keys at every level', () => {
    const attribute = { path: 'gender', inputGroups: [{ inputs: [{ static: 'x' }] }] };
    expect(problemsOf({ ...baseMapping(), extra: 1 })).toContain('Unrecognized key');
    expect(
      problemsOf(baseMapping({ source: { name: 'm', table: 't', primaryKey: 'k', schema: 'x' } as never })),
    ).toContain('source');
    expect(problemsOf(baseMapping({ attributes: [{ ...attribute, colum: 'x' } as never] }))).toContain(
      'attributes.0',
    );
    expect(
      problemsOf(
        baseMapping({
          attributes: [{ path: 'gender', inputGroups: [{ inputs: [{ static: 'x', clean: 'y' }] }] } as never],
        }),
      ),
    ).toContain('attributes.0.inputGroups.0.inputs.0');
    expect(
      problemsOf(
        baseMapping({ filters: [{ column: 'patients.gender', op: '=', value: 'M', note: 1 } as never] }),
      ),
    ).toContain('filters.0');
    expect(
      problemsOf(
        baseMapping({
          joins: [
            {
              alias: 'a',
              table: 'admissions',
              from: 'patients',
              on: [['subject_id', 'subject_id']],
              how: 'x',
            } as never,
          ],
        }),
      ),
    ).toContain('joins.0');
  });

  it('accepts every filter operator with the right value shape', () => {
    const filters = [
      { column: 'patients.gender', op: '=', value: 'M' },
      { column: 'patients.gender', op: '<>', value: 'F' },
      { column: 'patients.subject_id', op: 'IN', value: [1, 2] },
      { column: 'patients.subject_id', op: '<', value: 9 },
      { column: 'patients.subject_id', op: '<=', value: 9 },
      { column: 'patients.subject_id', op: '>', value: 1 },
      { column: 'patients.subject_id', op: '>=', value: 1 },
      { column: 'patients.dob', op: 'BETWEEN', value: ['2000-01-01', '2100-01-01'] },
      { column: 'patients.gender', op: 'LIKE', value: 'M%' },
    ] as const;
    expect(parseMapping(baseMapping({ filters: [...filters] as never }), 't').filters).toHaveLength(9);
    expect(
      problemsOf(baseMapping({ filters: [{ column: 'patients.x', op: 'IN', value: [] }] as never })),
    ).toContain('filters.0');
    expect(
      problemsOf(baseMapping({ filters: [{ column: 'patients.x', op: 'BETWEEN', value: [1] }] as never })),
    ).toContain('filters.0');
    expect(
      problemsOf(baseMapping({ filters: [{ column: 'patients.x', op: '!=', value: 1 }] as never })),
    ).toContain('filters.0');
  });

  it('refuses identifiers that are not plain SQL names', () => {
    expect(
      problemsOf(baseMapping({ source: { name: 'm', table: 'patients; drop', primaryKey: 'k' } })),
    ).toContain('source.table');
    expect(problemsOf(baseMapping({ filters: [{ column: 'patients."x"', op: '=', value: 1 }] }))).toContain(
      'filters.0.column',
    );
    expect(problemsOf(baseMapping({ filters: [{ column: 'gender', op: '=', value: 1 }] }))).toContain(
      'alias.column',
    );
  });

  it('checks conditions, inputs, groups and joins for consistency', () => {
    const group = (extra: object) =>
      baseMapping({
        attributes: [{ path: 'gender', inputGroups: [{ inputs: [{ static: 'x' }], ...extra }] }] as never,
      });
    expect(
      problemsOf(
        group({ conditions: [{ action: 'include', column: 'patients.dod', relation: 'null', value: 1 }] }),
      ),
    ).toContain('null and not-null take no value');
    expect(
      problemsOf(group({ conditions: [{ action: 'include', column: 'patients.dod', relation: 'eq' }] })),
    ).toContain('null and not-null');
    expect(
      problemsOf(group({ conditions: [{ action: 'keep', column: 'patients.dod', relation: 'null' }] })),
    ).toContain('action');
    expect(
      problemsOf(
        baseMapping({
          attributes: [{ path: 'gender', inputGroups: [{ inputs: [{ static: 'x' }, { static: 'y' }] }] }],
        }),
      ),
    ).toContain('several inputs need a merging function');
    expect(
      problemsOf(
        baseMapping({
          attributes: [
            { path: 'gender', inputGroups: [{ inputs: [{ static: 'x', column: 'patients.gender' }] }] },
          ],
        }),
      ),
    ).toContain('either a column or a static value');
    expect(
      problemsOf(
        baseMapping({
          joins: [
            {
              alias: 'a',
              table: 'admissions',
              from: 'patients',
              on: [['subject_id', 'subject_id']],
              cardinality: 'many',
            },
          ],
        }),
      ),
    ).toContain('a many join needs a key column');
  });
});
