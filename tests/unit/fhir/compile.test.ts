import { compileMappings } from '../../../lib/fhir/compile';
import { MappingError } from '../../../lib/fhir/errors';
import { parseMapping } from '../../../lib/fhir/mapping-files';
import type { MappingInput } from '../../../lib/fhir/mapping-schema';
import { baseMapping, compileOne } from './helpers';

const attribute = (path: string, input: object, extra: object = {}) => ({
  path,
  inputGroups: [{ inputs: [input] }],
  ...extra,
});
const admissionsJoin: NonNullable<MappingInput['joins']>[number] = {
  alias: 'adm',
  table: 'admissions',
  from: 'patients',
  on: [['subject_id', 'subject_id']],
  cardinality: 'many',
  key: 'row_id',
};

const compileError = (document: MappingInput, others: MappingInput[] = []): string => {
  try {
    compileOne(document, others);
  } catch (error) {
    expect(error).toBeInstanceOf(MappingError);
    return (error as Error).message;
  }
  throw new Error('compiled');
};

describe('compileMappings', () => {
  it('lists the columns to select: key, many-join keys, then every column read', () => {
    const compiled = compileOne(
      baseMapping({
        filters: [{ column: 'patients.gender', op: '=', value: 'F' }],
        joins: [admissionsJoin],
        attributes: [
          attribute('birthDate', { column: 'patients.dob', cleaning: 'date' }),
          attribute('x[*].y', { column: 'adm.admittime' }, { each: 'adm' }),
        ],
      }),
    );
    expect(compiled.keyColumn).toBe('patients.subject_id');
    expect(compiled.columns).toEqual([
      'patients.subject_id',
      'adm.row_id',
      'patients.gender',
      'patients.dob',
      'adm.admittime',
    ]);
    expect(compiled.manyJoins).toEqual([{ alias: 'adm', keyColumn: 'adm.row_id' }]);
  });

  it('names the problem when an alias, path, function or concept map is unknown', () => {
    expect(
      compileError(baseMapping({ attributes: [attribute('gender', { column: 'nope.gender' })] })),
    ).toContain('unknown alias nope');
    expect(compileError(baseMapping({ attributes: [attribute('gender..x', { static: 'x' })] }))).toContain(
      'not a FHIR path',
    );
    expect(
      compileError(baseMapping({ attributes: [attribute('gender', { static: 'x', cleaning: 'shout' })] })),
    ).toContain('unknown cleaning function shout');
    expect(
      compileError(
        baseMapping({
          attributes: [
            { path: 'g', inputGroups: [{ inputs: [{ static: 'x' }, { static: 'y' }], merging: 'blend' }] },
          ],
        }),
      ),
    ).toContain('unknown merging function blend');
    expect(
      compileError(baseMapping({ attributes: [attribute('gender', { static: 'x', conceptMap: 'nope' })] })),
    ).toContain('unknown concept map nope');
    expect(
      compileError(
        baseMapping({ attributes: [attribute('link.reference', { static: 'x', reference: 'nope' })] }),
      ),
    ).toContain('reference to unknown mapping nope');
  });

  it('requires each for columns of a many join and for [*], and a many join for each', () => {
    const joined = (attr: object) => baseMapping({ joins: [admissionsJoin], attributes: [attr as never] });
    expect(compileError(joined(attribute('x', { column: 'adm.admittime' })))).toContain('set "each": "adm"');
    expect(compileError(joined(attribute('x[*].y', { static: 1 })))).toContain('[*] needs "each"');
    expect(compileError(joined(attribute('x.y', { static: 1 }, { each: 'adm' })))).toContain('one [*]');
    expect(compileError(joined(attribute('x[*].y', { static: 1 }, { each: 'patients' })))).toContain(
      'must name a many join',
    );
  });

  it('checks join aliases and refuses a many join under another', () => {
    expect(compileError(baseMapping({ joins: [{ ...admissionsJoin, from: 'ghost' }] }))).toContain(
      'unknown alias ghost',
    );
    expect(compileError(baseMapping({ joins: [admissionsJoin, { ...admissionsJoin }] }))).toContain(
      'used twice',
    );
    expect(
      compileError(
        baseMapping({
          joins: [
            admissionsJoin,
            {
              alias: 'dx',
              table: 'diagnoses_icd',
              from: 'adm',
              on: [['hadm_id', 'hadm_id']],
              cardinality: 'many',
              key: 'row_id',
            },
          ],
        }),
      ),
    ).toContain('cannot hang off many join adm');
  });

  it('refuses duplicate mapping ids and resolves references to the target type', () => {
    const patient = parseMapping(baseMapping(), 'a');
    expect(() => compileMappings([patient, patient])).toThrow('duplicate mapping id test-patient');
    const observation = baseMapping({
      id: 'test-observation',
      resourceType: 'Observation',
      source: { name: 'mimic', table: 'chartevents', primaryKey: 'row_id' },
      attributes: [
        attribute('subject.reference', { column: 'chartevents.subject_id', reference: 'test-patient' }),
      ],
    });
    const compiled = compileOne(observation, [baseMapping()]);
    expect(compiled.attributes[0]?.groups[0]?.inputs[0]?.reference).toEqual({
      mapping: 'test-patient',
      resourceType: 'Patient',
    });
  });
});
