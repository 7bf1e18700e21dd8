import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import { testContext } from '../gpu/testing.ts';
import { IGNORE_INDEX, maskedTokenMeanBackwardRef, maskedTokenMeanRef, sequenceLogprobSumsBackwardRef, sequenceLogprobSumsRef } from './crossEntropy.ref.ts';
import { maskedTokenMean, maskedTokenMeanBackward, sequenceLogprobSums, sequenceLogprobSumsBackward } from './lossReduce.ts';
import { dotWith, expectClose, finiteDifference, randomArray, rng, toF32 } from './testing.ts';

const TOL = { atol: 1e-5, rtol: 1e-5 };

/** Labels (n) with about `ignoredShare` of them -100, the rest token ids in [0, 1000). */
function randomLabels(n: number, seed: number, ignoredShare: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => (r() < ignoredShare ? IGNORE_INDEX : Math.floor(r() * 1000)));
}

/** Positive per-token losses, rounded to f32 as the GPU sees them. */
function randomLoss(n: number, seed: number): Float64Array {
  return Float64Array.from(toF32(randomArray(n, seed, 2).map((v) => v + 2.5)));
}

describe('masked token mean and sequence log-prob sums on a real adapter', () => {
  // 1000 and 77 are not multiples of the 256-wide workgroup.
  for (const [n, share] of [
    [1000, 0.3],
    [77, 0],
    [5, 1],
  ] as const) {
    it(`maskedTokenMean forward and backward, N=${n}, ${share * 100}% ignored`, async () => {
      const ctx = await testContext();
      const loss = randomLoss(n, 1);
      const labels = randomLabels(n, 2, share);
      const gLoss = upload(ctx.device, toF32(loss));
      const gLabels = upload(ctx.device, labels);
      const out = ctx.pool.acquire(8);
      maskedTokenMean(ctx, { lossPerToken: gLoss, labels: gLabels, N: n, out });
      expectClose(await ctx.readF32(out, 2), maskedTokenMeanRef(loss, labels), TOL, 'mean, count');

      const dLoss = upload(ctx.device, new Float32Array(n).fill(123)); // overwritten everywhere
      maskedTokenMeanBackward(ctx, { labels: gLabels, N: n, dMean: 0.5, dLoss });
      expectClose(await ctx.readF32(dLoss, n), maskedTokenMeanBackwardRef(labels, 0.5), TOL, 'dLoss');
    });
  }

  it('maskedTokenMean into a one-float output writes only out[0]', async () => {
    const ctx = await testContext();
    const labels = Int32Array.from([3, IGNORE_INDEX, 7]);
    const out = ctx.device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    maskedTokenMean(ctx, { lossPerToken: upload(ctx.device, Float32Array.from([1, 100, 2])), labels: upload(ctx.device, labels), N: 3, out });
    expect(Array.from(await ctx.readF32(out, 1))).toEqual([1.5]);
  });

  for (const [S, T] of [
    [3, 77],
    [4, 300],
  ] as const) {
    it(`sequenceLogprobSums forward and backward, S=${S}, T=${T}`, async () => {
      const ctx = await testContext();
      const n = S * T;
      const loss = randomLoss(n, 3);
      const labels = randomLabels(n, 4, 0.4);
      labels.fill(IGNORE_INDEX, T, 2 * T); // a sequence with nothing to sum
      const out = ctx.pool.acquire(S * 4);
      const gLabels = upload(ctx.device, labels);
      sequenceLogprobSums(ctx, { lossPerToken: upload(ctx.device, toF32(loss)), labels: gLabels, S, T, out });
      const want = sequenceLogprobSumsRef(loss, labels, S, T);
      expect(want[1]).toBe(0);
      expectClose(await ctx.readF32(out, S), want, { atol: 1e-4, rtol: 1e-5 }, 'sums');

      const dSums = Float64Array.from(toF32(randomArray(S, 5)));
      const dLoss = upload(ctx.device, new Float32Array(n).fill(123));
      sequenceLogprobSumsBackward(ctx, { dSums: upload(ctx.device, toF32(dSums)), labels: gLabels, S, T, dLoss });
      expectClose(await ctx.readF32(dLoss, n), sequenceLogprobSumsBackwardRef(labels, dSums, S, T), TOL, 'dLoss');
    });
  }

  it('the reference backwards match finite differences', () => {
    const S = 3;
    const T = 7;
    const labels = randomLabels(S * T, 6, 0.3);
    const loss = randomLoss(S * T, 7);
    const numericMean = finiteDifference((l) => maskedTokenMeanRef(l, labels)[0] * 0.7, loss);
    expectClose(numericMean, maskedTokenMeanBackwardRef(labels, 0.7), { atol: 1e-8, rtol: 1e-6 }, 'd mean / d loss');
    const w = randomArray(S, 8);
    const numericSums = finiteDifference((l) => dotWith(sequenceLogprobSumsRef(l, labels, S, T), w), loss);
    expectClose(numericSums, sequenceLogprobSumsBackwardRef(labels, w, S, T), { atol: 1e-8, rtol: 1e-6 }, 'd sums / d loss');
  });
});
