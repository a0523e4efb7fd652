import {
  matchesAnyPattern,
  matchesPattern,
  validateFilterPattern,
} from '../../../../plugins/serverless-offline-kafka/src/filter';

const reading = {
  value: { kind: 'heart_rate', value: 120, ward: 'icu-2', tags: ['adult', 'cardio'], device: { id: 'd-1' } },
};

describe('filter patterns', () => {
  it('matches exact strings, numbers and booleans', () => {
    expect(matchesPattern({ value: { kind: ['heart_rate'] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { kind: ['spo2'] } }, reading)).toBe(false);
    expect(matchesPattern({ value: { value: [120] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { flag: [true] } }, { value: { flag: true } })).toBe(true);
    expect(matchesPattern({ value: { flag: [null] } }, { value: { flag: null } })).toBe(true);
  });

  it('ORs the matchers of a leaf and ANDs the keys', () => {
    expect(
      matchesPattern({ value: { kind: ['spo2', 'heart_rate'], ward: [{ prefix: 'icu' }] } }, reading),
    ).toBe(true);
    expect(matchesPattern({ value: { kind: ['heart_rate'], ward: [{ prefix: 'ward' }] } }, reading)).toBe(
      false,
    );
  });

  it('matches prefix, suffix, equals-ignore-case and wildcard', () => {
    expect(matchesPattern({ value: { ward: [{ prefix: 'icu-' }] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { ward: [{ suffix: '-2' }] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { kind: [{ 'equals-ignore-case': 'HEART_RATE' }] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { ward: [{ wildcard: 'i*2' }] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { ward: [{ prefix: 'ICU' }] } }, reading)).toBe(false);
  });

  it('matches numeric ranges', () => {
    expect(matchesPattern({ value: { value: [{ numeric: ['>', 100, '<=', 120] }] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { value: [{ numeric: ['<', 100] }] } }, reading)).toBe(false);
    expect(matchesPattern({ value: { value: [{ numeric: ['=', 120] }] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { ward: [{ numeric: ['>', 0] }] } }, reading)).toBe(false);
  });

  it('matches exists true and false', () => {
    expect(matchesPattern({ value: { ward: [{ exists: true }] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { bed: [{ exists: false }] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { ward: [{ exists: false }] } }, reading)).toBe(false);
    // exists applies to leaves, not to objects
    expect(matchesPattern({ value: { device: [{ exists: true }] } }, reading)).toBe(false);
  });

  it('matches anything-but values, lists and prefixes, never a missing key', () => {
    expect(matchesPattern({ value: { ward: [{ 'anything-but': 'ward-3' }] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { ward: [{ 'anything-but': ['icu-2', 'ward-3'] }] } }, reading)).toBe(
      false,
    );
    expect(matchesPattern({ value: { ward: [{ 'anything-but': { prefix: 'icu' } }] } }, reading)).toBe(false);
    expect(matchesPattern({ value: { bed: [{ 'anything-but': 'x' }] } }, reading)).toBe(false);
  });

  it('matches nested objects and any element of an array', () => {
    expect(matchesPattern({ value: { device: { id: ['d-1'] } } }, reading)).toBe(true);
    expect(matchesPattern({ value: { tags: ['cardio'] } }, reading)).toBe(true);
    expect(matchesPattern({ value: { tags: ['neuro'] } }, reading)).toBe(false);
  });

  it('delivers everything without patterns and ORs several patterns', () => {
    expect(matchesAnyPattern([], reading)).toBe(true);
    expect(
      matchesAnyPattern([{ value: { kind: ['spo2'] } }, { value: { kind: ['heart_rate'] } }], reading),
    ).toBe(true);
    expect(matchesAnyPattern([{ value: { kind: ['spo2'] } }], reading)).toBe(false);
  });

  it('matches a plain-string value with string matchers', () => {
    expect(matchesPattern({ value: [{ prefix: 'ALERT' }] }, { value: 'ALERT: bed 4' })).toBe(true);
    expect(matchesPattern({ value: { kind: ['x'] } }, { value: 'ALERT: bed 4' })).toBe(false);
  });

  it('rejects unknown operators and malformed patterns', () => {
    expect(validateFilterPattern({ value: { a: [{ between: [1, 2] }] } })).toMatch(/unsupported operator/);
    expect(validateFilterPattern({ value: { a: 'x' } })).toMatch(/list of matchers/);
    expect(validateFilterPattern({ value: { a: [{ numeric: ['>>', 1] }] } })).toMatch(/numeric/);
    expect(validateFilterPattern({ value: { a: [] } })).toMatch(/empty/);
    expect(validateFilterPattern({ value: { a: [{ numeric: ['>', 1] }] } })).toBeUndefined();
  });
});
