import { CLEANING_FUNCTIONS, readInstant } from '../../../lib/fhir/cleaning';
import { RuleError } from '../../../lib/fhir/errors';
import { MERGING_FUNCTIONS, type MergingFunction } from '../../../lib/fhir/merging';

const merge = (name: keyof typeof MERGING_FUNCTIONS, values: unknown[], args = {}): unknown =>
  (MERGING_FUNCTIONS[name] as MergingFunction)(values, args);
const clean = (name: keyof typeof CLEANING_FUNCTIONS, value: unknown, args = {}): unknown =>
  CLEANING_FUNCTIONS[name](value, args);

describe('date cleaning', () => {
  it('reads MIMIC timestamps as UTC and writes FHIR dateTime, instant and date', () => {
    expect(clean('dateTime', '2101-10-30 11:27:33')).toBe('2101-10-30T11:27:33Z');
    expect(clean('instant', '2101-10-30 11:27:33')).toBe('2101-10-30T11:27:33Z');
    expect(clean('date', '2101-10-30 23:59:59')).toBe('2101-10-30');
    expect(clean('date', '2101-10-30')).toBe('2101-10-30');
  });

  it('converts zoned timestamps and Date objects to UTC', () => {
    expect(clean('dateTime', '2101-10-30T11:27:33+02:00')).toBe('2101-10-30T09:27:33Z');
    expect(clean('dateTime', '2101-10-30T11:27:33.250-0500')).toBe('2101-10-30T16:27:33Z');
    expect(clean('dateTime', new Date(Date.UTC(2020, 0, 2, 3, 4, 5)))).toBe('2020-01-02T03:04:05Z');
    expect(clean('date', Date.UTC(2020, 0, 2))).toBe('2020-01-02');
  });

  it('treats blanks as absent and rejects what is not a date, by type', () => {
    expect(clean('dateTime', null)).toBeNull();
    expect(clean('date', '  ')).toBeNull();
    expect(() => clean('dateTime', '2101-02-30 00:00:00')).toThrow(RuleError);
    expect(() => clean('dateTime', 'yesterday')).toThrow('rejected a value of type string');
    expect(() => clean('date', true)).toThrow('rejected a value of type boolean');
    expect(() => readInstant(new Date(Number.NaN))).toThrow(RuleError);
  });
});

describe('text and code cleaning', () => {
  it('trims text and collapses code whitespace', () => {
    expect(clean('string', '  HOME  ')).toBe('HOME');
    expect(clean('string', 42)).toBe('42');
    expect(clean('string', '')).toBeNull();
    expect(clean('code', ' a   b ')).toBe('a b');
    expect(clean('code', 220045)).toBe('220045');
    expect(clean('lowercase', 'ABNORMAL')).toBe('abnormal');
    expect(clean('uppercase', 'engl')).toBe('ENGL');
    expect(() => clean('code', {})).toThrow(RuleError);
  });

  it('dots ICD-9-CM codes as MIMIC leaves them out', () => {
    expect(clean('icd9', '4019')).toBe('401.9');
    expect(clean('icd9', '42731')).toBe('427.31');
    expect(clean('icd9', '486')).toBe('486');
    expect(clean('icd9', 'V4581')).toBe('V45.81');
    expect(clean('icd9', 'E8497')).toBe('E849.7');
    expect(() => clean('icd9', '40-19')).toThrow(RuleError);
  });

  it('checks LOINC code shape', () => {
    expect(clean('loinc', '8867-4')).toBe('8867-4');
    expect(() => clean('loinc', '8867')).toThrow(RuleError);
  });

  it('maps charted units to UCUM and rejects unknown units', () => {
    expect(clean('ucum', 'mmHg')).toBe('mm[Hg]');
    expect(clean('ucum', 'bpm')).toBe('/min');
    expect(clean('ucum', 'Deg. F')).toBe('[degF]');
    expect(clean('ucum', 'K/uL')).toBe('10*3/uL');
    expect(clean('ucum', 'mEq/L')).toBe('meq/L');
    expect(clean('ucum', null)).toBeNull();
    expect(() => clean('ucum', 'furlongs')).toThrow(RuleError);
  });
});

describe('number cleaning', () => {
  it('reads numbers and numeric text, rounding on request', () => {
    expect(clean('number', '98.6')).toBe(98.6);
    expect(clean('number', 1.23456, { decimals: 2 })).toBe(1.23);
    expect(clean('number', ' 12 ')).toBe(12);
    expect(clean('integer', '7')).toBe(7);
    expect(clean('positiveInt', 3)).toBe(3);
    expect(clean('fahrenheitToCelsius', 98.6)).toBe(37);
    expect(() => clean('number', 'NaN')).toThrow(RuleError);
    expect(() => clean('integer', 1.5)).toThrow(RuleError);
    expect(() => clean('positiveInt', 0)).toThrow(RuleError);
    expect(() => clean('number', Number.POSITIVE_INFINITY)).toThrow(RuleError);
  });

  it('reads source booleans', () => {
    expect(clean('boolean', 1)).toBe(true);
    expect(clean('boolean', 'N')).toBe(false);
    expect(clean('boolean', 'true')).toBe(true);
    expect(clean('boolean', false)).toBe(false);
    expect(() => clean('boolean', 'maybe')).toThrow(RuleError);
  });
});

describe('merging functions', () => {
  it('concatenates present values with a separator', () => {
    expect(merge('concatenate', ['EMERGENCY', null, 'ADMISSION'], {})).toBe('EMERGENCY ADMISSION');
    expect(merge('concatenate', ['a', 1, 'b'], { separator: '-' })).toBe('a-1-b');
    expect(merge('concatenate', [null, ''], {})).toBeNull();
    expect(() => merge('concatenate', [{}], {})).toThrow(RuleError);
  });

  it('takes the first present value', () => {
    expect(merge('coalesce', [null, '', 'b', 'c'], {})).toBe('b');
    expect(merge('coalesce', [null], {})).toBeNull();
  });

  it('sums numbers', () => {
    expect(merge('sum', [1, null, 2.5], {})).toBe(3.5);
    expect(merge('sum', [null], {})).toBeNull();
    expect(() => merge('sum', [1, '2'], {})).toThrow(RuleError);
  });
});
