/** A source of uniform numbers in [0, 1): generation takes one, so a seeded run is reproducible. */
export type Random = () => number;

/**
 * mulberry32: a tiny, fast 32-bit generator. Not cryptographic; chosen because a seed fully
 * determines a simulation or a generated data set, so a run (and a failing test) can be replayed.
 */
export const createSeededRandom = (seed: number): Random => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** A standard normal draw (Box–Muller); two uniforms per draw keeps the sequence simple to replay. */
export const drawNormal = (random: Random): number => {
  const u = Math.max(random(), Number.EPSILON);
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};

/** A normally distributed number around a mean, for vitals and lab values. */
export const randomNormal = (random: Random, mean: number, sd: number): number => {
  const u = 1 - random();
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};

/** An integer in [min, max], both inclusive. */
export const randomInt = (random: Random, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1));

/** One element of a non-empty list. */
export const pickOne = <T>(random: Random, items: readonly T[]): T => {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new RangeError('pickOne needs a non-empty list');
  return item;
};
