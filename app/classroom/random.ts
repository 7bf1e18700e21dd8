// Seeded randomness for the classroom: the arena's left/right order must be reproducible (the
// revealed table says which side each model was on) and independent of Math.random.

/** mulberry32: a small 32-bit PRNG; the same seed gives the same sequence, floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates with a seeded PRNG: a permutation of `items` (the input is not changed). */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Which side model B sits on for each of `n` prompts: true = B on the left. Balanced (as even a
 * split as n allows) and shuffled, so a judge cannot learn a side and neither side is favoured.
 */
export function leftRightPlan(n: number, seed: number): boolean[] {
  const half = Array.from({ length: n }, (_, i) => i < Math.floor(n / 2));
  // An odd n: the middle prompt's side is a coin flip too.
  if (n % 2 === 1) half[n - 1] = mulberry32(seed ^ 0x9e3779b9)() < 0.5;
  return seededShuffle(half, seed);
}
