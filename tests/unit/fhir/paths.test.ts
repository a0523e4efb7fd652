import { parsePath, pruneEmpty, type SliceIndex, setAtPath } from '../../../lib/fhir/paths';

const build = (entries: [string, unknown, number?][]): unknown => {
  const target: Record<string, unknown> = {};
  const slices: SliceIndex = new WeakMap();
  for (const [path, value, index] of entries) {
    const segments = parsePath(path);
    if (segments === null) throw new Error(path);
    setAtPath(target, segments, value, index ?? 0, slices);
  }
  return pruneEmpty(target);
};

describe('parsePath', () => {
  it('reads fields, indexes, [*] and slices', () => {
    expect(parsePath('name[0].given[1]')).toEqual([
      { kind: 'index', name: 'name', index: 0 },
      { kind: 'index', name: 'given', index: 1 },
    ]);
    expect(parsePath('diagnosis[*].rank')).toEqual([
      { kind: 'each', name: 'diagnosis' },
      { kind: 'field', name: 'rank' },
    ]);
    expect(parsePath('component:systolic.code')).toEqual([
      { kind: 'slice', name: 'component', slice: 'systolic' },
      { kind: 'field', name: 'code' },
    ]);
  });

  it('refuses what is not a path', () => {
    for (const path of ['', 'a..b', 'name[x]', 'name[0', '0name', 'a.b[-1]', 'a;drop'])
      expect(parsePath(path)).toBeNull();
  });
});

describe('setAtPath and pruneEmpty', () => {
  it('builds nested objects and arrays', () => {
    expect(
      build([
        ['name[0].family', 'Doe'],
        ['name[0].given[0]', 'Jane'],
        ['name[0].given[1]', 'Q'],
        ['birthDate', '2000-01-01'],
      ]),
    ).toEqual({ name: [{ family: 'Doe', given: ['Jane', 'Q'] }], birthDate: '2000-01-01' });
  });

  it('keeps one element per slice, in first-use order, across attributes', () => {
    expect(
      build([
        ['component:systolic.code.text', 'sys'],
        ['component:diastolic.code.text', 'dia'],
        ['component:systolic.valueQuantity.value', 120],
        ['component:diastolic.valueQuantity.value', 80],
      ]),
    ).toEqual({
      component: [
        { code: { text: 'sys' }, valueQuantity: { value: 120 } },
        { code: { text: 'dia' }, valueQuantity: { value: 80 } },
      ],
    });
  });

  it('puts [*] values at the element of their row', () => {
    expect(
      build([
        ['diagnosis[*].rank', 1, 0],
        ['diagnosis[*].rank', 2, 1],
        ['diagnosis[*].condition.reference', 'Condition/b', 1],
      ]),
    ).toEqual({ diagnosis: [{ rank: 1 }, { rank: 2, condition: { reference: 'Condition/b' } }] });
  });

  it('closes holes and drops empty objects, arrays and nulls', () => {
    expect(
      build([
        ['name[2].given[3]', 'x'],
        ['telecom[0].system', null],
      ]),
    ).toEqual({ name: [{ given: ['x'] }] });
    expect(pruneEmpty({ a: {}, b: [], c: [{}], d: 0, e: false, f: '' })).toEqual({ d: 0, e: false, f: '' });
  });
});
