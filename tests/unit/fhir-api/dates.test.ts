import {
  boundaryKey,
  DATE_PREFIXES,
  type DatePrefix,
  type DateTarget,
  parseDateValue,
  planDateFilter,
} from '../../../lib/fhir-api/dates';
import { BadRequestError } from '../../../lib/http/errors';
import { matchesFilter } from './match-filter';

const at = (iso: string): number => Date.parse(iso);

describe('parseDateValue', () => {
  it('reads the prefix, eq by default', () => {
    expect(parseDateValue('2020', 'date').prefix).toBe('eq');
    for (const prefix of DATE_PREFIXES) expect(parseDateValue(`${prefix}2020`, 'date').prefix).toBe(prefix);
  });

  it('turns each precision into the range it covers', () => {
    expect(parseDateValue('2020', 'date')).toMatchObject({
      start: at('2020-01-01T00:00:00Z'),
      end: at('2021-01-01T00:00:00Z'),
    });
    expect(parseDateValue('ge2020-02', 'date')).toMatchObject({
      start: at('2020-02-01T00:00:00Z'),
      end: at('2020-03-01T00:00:00Z'),
    });
    expect(parseDateValue('2020-12-31', 'date')).toMatchObject({
      start: at('2020-12-31T00:00:00Z'),
      end: at('2021-01-01T00:00:00Z'),
    });
    expect(parseDateValue('2020-03-01T10:15', 'date')).toMatchObject({
      start: at('2020-03-01T10:15:00Z'),
      end: at('2020-03-01T10:16:00Z'),
    });
    expect(parseDateValue('lt2020-03-01T10:15:30Z', 'date')).toMatchObject({
      start: at('2020-03-01T10:15:30Z'),
      end: at('2020-03-01T10:15:31Z'),
    });
    expect(parseDateValue('2020-03-01T10:15:30.250Z', 'date')).toMatchObject({
      start: at('2020-03-01T10:15:30.250Z'),
      end: at('2020-03-01T10:15:30.251Z'),
    });
  });

  it('converts a zone offset to UTC', () => {
    expect(parseDateValue('2020-03-01T10:00:00+02:00', 'date').start).toBe(at('2020-03-01T08:00:00Z'));
    expect(parseDateValue('2020-03-01T10:00:00-05:30', 'date').start).toBe(at('2020-03-01T15:30:00Z'));
  });

  it('keeps years below 100 as they are', () => {
    expect(new Date(parseDateValue('0050', 'date').start).getUTCFullYear()).toBe(50);
  });

  it.each([
    'gt',
    'xx2020',
    '20',
    '2020-13',
    '2021-02-29',
    '2020-02-30',
    '2020-01-01T25:00',
    '2020-01-01T10:60',
    '2020-01-01T10:00:61Z',
    '2020-01-01T10',
    '2020/01/01',
    'ge 2020',
    '2020-01-01T10:00:00+15:00',
  ])('refuses %s with a 400 naming the parameter', (value) => {
    expect(() => parseDateValue(value, 'birthdate')).toThrow(BadRequestError);
    expect(() => parseDateValue(value, 'birthdate')).toThrow(/birthdate/);
  });

  it('refuses the approximate prefix, which it does not implement', () => {
    expect(() => parseDateValue('ap2020', 'date')).toThrow(/ap is not supported/);
  });

  it('accepts 29 February in a leap year', () => {
    expect(parseDateValue('2024-02-29', 'date').start).toBe(at('2024-02-29T00:00:00Z'));
  });
});

describe('boundaryKey', () => {
  it('drops the components at their minimum', () => {
    expect(boundaryKey(at('2020-01-01T00:00:00Z'))).toBe('2020');
    expect(boundaryKey(at('2020-03-01T00:00:00Z'))).toBe('2020-03');
    expect(boundaryKey(at('2020-03-15T00:00:00Z'))).toBe('2020-03-15');
    expect(boundaryKey(at('2020-03-15T10:00:00Z'))).toBe('2020-03-15T10');
    expect(boundaryKey(at('2020-03-15T10:30:00Z'))).toBe('2020-03-15T10:30');
    expect(boundaryKey(at('2020-03-15T10:30:05Z'))).toBe('2020-03-15T10:30:05');
    expect(boundaryKey(at('2020-03-15T10:30:05.250Z'))).toBe('2020-03-15T10:30:05.25');
  });

  it('sorts past every stored date after year 9999', () => {
    expect(boundaryKey(at('9999-12-31T00:00:00Z') + 86_400_000) > '9999-12-31T23:59:59Z').toBe(true);
  });
});

// The reference semantics (R4 search.html#prefix), computed with instants rather than strings.
const rangeOf = (stored: string): [number, number] => {
  const parsed = parseDateValue(stored.replace(/\.\d+/, ''), 'stored');
  const fraction = /\.(\d+)/.exec(stored)?.[1];
  if (fraction === undefined) return [parsed.start, parsed.end];
  const start = parsed.start + Number(`0.${fraction}`) * 1000;
  return [start, start + 10 ** (3 - fraction.length)];
};

const expected = (
  prefix: DatePrefix,
  [start, end]: [number, number],
  search: { start: number; end: number },
) => {
  const contained = start >= search.start && end <= search.end;
  switch (prefix) {
    case 'eq':
      return contained;
    case 'ne':
      return !contained;
    case 'gt':
      return end > search.end;
    case 'lt':
      return start < search.start;
    case 'ge':
      return end > search.end || contained;
    case 'le':
      return start < search.start || contained;
    case 'sa':
      return start >= search.end;
    case 'eb':
      return end <= search.start;
  }
};

// Stored values in the forms the pipeline writes: partial dates and UTC dateTimes at second (or
// finer) precision, around the boundaries of the search values below.
const STORED = [
  '2019',
  '2020',
  '2021',
  '2019-12',
  '2020-01',
  '2020-02',
  '2020-03',
  '2020-02-29',
  '2020-03-01',
  '2020-03-02',
  '2019-12-31T23:59:59Z',
  '2020-01-01T00:00:00Z',
  '2020-03-01T00:00:00Z',
  '2020-03-01T09:59:59Z',
  '2020-03-01T10:00:00Z',
  '2020-03-01T10:00:00.100Z',
  '2020-03-01T10:00:00.500Z',
  '2020-03-01T10:00:00.9Z',
  '2020-03-01T10:00:01Z',
  '2020-03-01T10:15:00Z',
  '2020-03-01T23:59:59Z',
  '2020-03-01T23:59:59.999Z',
  '2020-03-02T00:00:00Z',
  '2020-12-31T23:59:59Z',
];

const SEARCHED = [
  '2020',
  '2020-03',
  '2020-02',
  '2020-03-01',
  '2020-03-01T10:00',
  '2020-03-01T10:00:00Z',
  '2020-03-01T10:00:00.500Z',
  '2020-03-01T12:00:00+02:00',
  '2019-12-31',
];

describe('planDateFilter on a single date', () => {
  const target: DateTarget = { kind: 'value', path: 'effectiveDateTime' };
  for (const prefix of DATE_PREFIXES) {
    it(`matches exactly what R4 ${prefix} means, for every precision`, () => {
      for (const searched of SEARCHED) {
        const search = parseDateValue(`${prefix}${searched}`, 'date');
        const filter = planDateFilter(search, [target]);
        const mismatches = STORED.filter(
          (stored) =>
            matchesFilter({ effectiveDateTime: stored }, filter) !==
            expected(prefix, rangeOf(stored), search),
        );
        expect({ searched, mismatches }).toEqual({ searched, mismatches: [] });
      }
    });
  }

  it('agrees with R4 for stored values of every precision around every search boundary', () => {
    const iso = (instant: number) => new Date(instant).toISOString();
    const forms = (instant: number) => [
      iso(instant).slice(0, 4),
      iso(instant).slice(0, 7),
      iso(instant).slice(0, 10),
      `${iso(instant).slice(0, 19)}Z`,
      iso(instant),
    ];
    const steps = [-86_400_000, -1_000, -1, 0, 1, 999, 1_000, 86_400_000];
    for (const prefix of DATE_PREFIXES) {
      for (const searched of SEARCHED) {
        const search = parseDateValue(`${prefix}${searched}`, 'date');
        const filter = planDateFilter(search, [target]);
        const stored = [search.start, search.end].flatMap((edge) =>
          steps.flatMap((step) => forms(edge + step)),
        );
        const mismatches = stored.filter(
          (value) =>
            matchesFilter({ effectiveDateTime: value }, filter) !== expected(prefix, rangeOf(value), search),
        );
        expect({ prefix, searched, mismatches }).toEqual({ prefix, searched, mismatches: [] });
      }
    }
  });

  it('never matches a resource without the date', () => {
    for (const prefix of DATE_PREFIXES) {
      expect(matchesFilter({}, planDateFilter(parseDateValue(`${prefix}2020`, 'date'), [target]))).toBe(
        false,
      );
    }
  });
});

describe('planDateFilter on a Period', () => {
  const target: DateTarget = { kind: 'period', start: 'period.start', end: 'period.end' };
  const periods: [string | undefined, string | undefined][] = [
    ['2020-02-20T08:00:00Z', '2020-03-05T12:00:00Z'],
    ['2020-03-01T08:00:00Z', '2020-03-01T18:00:00Z'],
    ['2020-03-01T10:00:00Z', undefined],
    [undefined, '2020-03-01T09:00:00Z'],
    ['2019-06-01', '2019-12'],
    ['2020-03-02T00:00:00Z', '2020-04-01T00:00:00Z'],
    ['2020', '2020'],
  ];
  const rangeOfPeriod = ([start, end]: [string | undefined, string | undefined]): [number, number] => [
    start === undefined ? Number.NEGATIVE_INFINITY : rangeOf(start)[0],
    end === undefined ? Number.POSITIVE_INFINITY : rangeOf(end)[1],
  ];

  for (const prefix of DATE_PREFIXES) {
    it(`treats ${prefix} on a period as a range with open ends unbounded`, () => {
      for (const searched of SEARCHED) {
        const search = parseDateValue(`${prefix}${searched}`, 'date');
        const filter = planDateFilter(search, [target]);
        const mismatches = periods.filter(([start, end]) => {
          const period = { ...(start === undefined ? {} : { start }), ...(end === undefined ? {} : { end }) };
          return matchesFilter({ period }, filter) !== expected(prefix, rangeOfPeriod([start, end]), search);
        });
        expect({ searched, mismatches }).toEqual({ searched, mismatches: [] });
      }
    });
  }

  it('never matches a resource without the period', () => {
    for (const prefix of DATE_PREFIXES) {
      expect(
        matchesFilter(
          { status: 'finished' },
          planDateFilter(parseDateValue(`${prefix}2020`, 'date'), [target]),
        ),
      ).toBe(false);
    }
  });
});

describe('planDateFilter on several targets', () => {
  it('matches when any of the dates does', () => {
    const targets: DateTarget[] = [
      { kind: 'value', path: 'onsetDateTime' },
      { kind: 'value', path: 'recordedDate' },
    ];
    const filter = planDateFilter(parseDateValue('ge2020-03', 'date'), targets);
    expect(matchesFilter({ onsetDateTime: '2019-01-01', recordedDate: '2020-03-04' }, filter)).toBe(true);
    expect(matchesFilter({ onsetDateTime: '2020-05-01' }, filter)).toBe(true);
    expect(matchesFilter({ onsetDateTime: '2019-01-01', recordedDate: '2020-02-04' }, filter)).toBe(false);
  });
});
