import { describe, expect, it } from 'vitest';
import { seededUniform } from '../../engine/util/random.ts';
import { leftRightPlan, seededShuffle } from './random.ts';

describe('seeded shuffling', () => {
  it('repeats for a seed and differs between seeds', () => {
    const a = seededUniform(7);
    const b = seededUniform(7);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const items = Array.from({ length: 20 }, (_, i) => i);
    expect(seededShuffle(items, 1)).toEqual(seededShuffle(items, 1));
    expect(seededShuffle(items, 1)).not.toEqual(seededShuffle(items, 2));
    expect([...seededShuffle(items, 1)].sort((x, y) => x - y)).toEqual(items);
    expect(items).toEqual(Array.from({ length: 20 }, (_, i) => i)); // input untouched
  });

  it('puts every position everywhere about equally often (Fisher–Yates, not a biased sort)', () => {
    const counts = Array.from({ length: 4 }, () => new Array<number>(4).fill(0));
    for (let seed = 0; seed < 4000; seed++) seededShuffle([0, 1, 2, 3], seed).forEach((v, pos) => counts[v][pos]++);
    for (const c of counts.flat()) {
      expect(c).toBeGreaterThan(850);
      expect(c).toBeLessThan(1150);
    }
  });

  it('balances the sides of the arena and varies them by seed', () => {
    for (const n of [1, 2, 7, 10]) {
      const plan = leftRightPlan(n, 3);
      expect(plan).toHaveLength(n);
      const left = plan.filter(Boolean).length;
      expect(Math.abs(left - (n - left))).toBeLessThanOrEqual(1);
    }
    expect(leftRightPlan(10, 3)).toEqual(leftRightPlan(10, 3));
    const plans = new Set(Array.from({ length: 20 }, (_, s) => leftRightPlan(10, s).map(Number).join('')));
    expect(plans.size).toBeGreaterThan(10);
  });
});
