import { describe, expect, it } from 'vitest';
import { EtaEstimator } from './eta.ts';

describe('EtaEstimator', () => {
  it('says nothing until batches after the first are timed, then the recent rate', () => {
    const eta = new EtaEstimator(100, { warmup: 2, window: 3 });
    // The first batch (10 units) took 30 s (compilation): never timed.
    expect(eta.update(10, 30_000)).toBeNull();
    expect(eta.update(20, 31_000)).toBeNull();
    // Two batches timed at 1 s per 10 units: 70 units left = 7 s (not the 21 s the first batch suggests).
    expect(eta.update(30, 32_000)).toBeCloseTo(7, 9);
    // The pace changes to 2 s per 10 units: the window (3 batches) follows it.
    eta.update(40, 34_000);
    eta.update(50, 36_000);
    expect(eta.update(60, 38_000)).toBeCloseTo(8, 9); // 40 left at 0.2 s per unit
    expect(eta.update(100, 45_000)).toBe(0);
  });
});
