// Seeded randomness for the classroom: the arena's left/right order must be reproducible (the
// revealed table says which side each model was on) and independent of Math.random
// (the engine's seeded stream, engine/util/random.ts: pure, so the studio may import it).
import { seededUniform } from '../../engine/util/random.ts';

/** Fisher–Yates with a seeded PRNG: a permutation of `items` (the input is not changed). */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = seededUniform(seed);
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
  if (n % 2 === 1) half[n - 1] = seededUniform(seed ^ 0x9e3779b9)() < 0.5;
  return seededShuffle(half, seed);
}
