import { createSeededRandom, pickOne, randomInt, randomNormal } from '../../lib/random';

describe('createSeededRandom', () => {
  it('repeats its sequence for a seed and stays in [0, 1)', () => {
    const a = createSeededRandom(7);
    const b = createSeededRandom(7);
    const values = Array.from({ length: 1000 }, () => a());
    expect(values).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true);
    expect(createSeededRandom(8)()).not.toBe(values[0]);
  });

  it('draws integers in a closed range, list items, and normal values around the mean', () => {
    const random = createSeededRandom(1);
    const ints = Array.from({ length: 2000 }, () => randomInt(random, 3, 5));
    expect(new Set(ints)).toEqual(new Set([3, 4, 5]));
    expect(pickOne(random, ['only'])).toBe('only');
    expect(() => pickOne(random, [])).toThrow(RangeError);
    const normals = Array.from({ length: 5000 }, () => randomNormal(random, 100, 10));
    const mean = normals.reduce((sum, value) => sum + value, 0) / normals.length;
    expect(Math.abs(mean - 100)).toBeLessThan(1);
  });
});
