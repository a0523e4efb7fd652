/** A source of uniform numbers in [0, 1): `Math.random` in production, a seeded generator in tests. */
export type Random = () => number;

/**
 * mulberry32: a tiny, fast 32-bit generator. Not cryptographic; chosen because a seed fully
 * determines a simulation, so a run (and a failing test) can be replayed.
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
