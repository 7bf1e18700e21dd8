import { describe, expect, it } from 'vitest';
import { createBuffer, upload } from '../gpu/buffers.ts';
import { testContext } from '../gpu/testing.ts';
import { completionLogprobSums, completionNllBackward } from './completionLogprobs.ts';
import { completionLogprobSumsRef, completionNllBackwardRef, leadingRowsTokenMeanRef } from './completionLogprobs.ref.ts';
import { IGNORE_INDEX } from './crossEntropy.ref.ts';
import { maskedTokenMean } from './lossReduce.ts';
import { dotWith, expectClose, finiteDifference, randomArray, rng, toF32 } from './testing.ts';

const TOL = { atol: 1e-5, rtol: 1e-5 };

/** (S, T) labels: a padded tail per row, some ignored positions, row 2 without a counted token. */
function makeRows(S: number, T: number, seed: number): { labels: Int32Array; starts: Uint32Array; loss: Float64Array } {
  const r = rng(seed);
  const labels = new Int32Array(S * T);
  const starts = new Uint32Array(S);
  for (let s = 0; s < S; s++) {
    const len = s === S - 1 ? T : Math.max(3, Math.floor(T * (0.5 + 0.5 * r())));
    starts[s] = s === 1 ? 0 : 1 + Math.floor(r() * (len - 1));
    for (let t = 0; t < T; t++) labels[s * T + t] = t < len - 1 && r() > 0.05 ? Math.floor(r() * 300) : IGNORE_INDEX;
  }
  labels.fill(IGNORE_INDEX, 2 * T, 3 * T);
  const loss = Float64Array.from(toF32(randomArray(S * T, seed + 1, 2).map((v) => v + 2.5)));
  return { labels, starts, loss };
}

describe('completion log-prob sums and the completion + NLL backward on a real adapter', async () => {
  const ctx = await testContext();
  // T = 77 and 300 are not multiples of the 256-wide workgroup.
  for (const [S, T] of [
    [5, 77],
    [4, 300],
  ] as const) {
    it(`S=${S}, T=${T}: sums and counts from each row's completion start; dLoss with and without the NLL of the first rows`, async () => {
      const { labels, starts, loss } = makeRows(S, T, S * 10 + T);
      const gLabels = upload(ctx.device, labels);
      const gStarts = upload(ctx.device, starts);
      const gLoss = upload(ctx.device, toF32(loss));
      const sums = createBuffer(ctx.device, S * 4);
      const counts = createBuffer(ctx.device, S * 4);
      completionLogprobSums(ctx, { lossPerToken: gLoss, labels: gLabels, starts: gStarts, S, T, sums, counts });
      const want = completionLogprobSumsRef(loss, labels, starts, S, T);
      expect(want.counts[2]).toBe(0);
      // Row 1 starts at 0: every counted token of the row is in its sum.
      expect(want.counts[1]).toBe(labels.slice(T, 2 * T).filter((l) => l !== IGNORE_INDEX).length);
      expectClose(await ctx.readF32(counts, S), want.counts, { atol: 0, rtol: 0 }, 'counts');
      expectClose(await ctx.readF32(sums, S), want.sums, { atol: 1e-4, rtol: 1e-5 }, 'sums');

      const dSums = Float64Array.from(toF32(randomArray(S, 5)));
      const nllRows = 2;
      const nllStats = createBuffer(ctx.device, 8);
      maskedTokenMean(ctx, { lossPerToken: gLoss, labels: gLabels, N: nllRows * T, out: nllStats });
      expectClose(await ctx.readF32(nllStats, 2), leadingRowsTokenMeanRef(loss, labels, nllRows, T), TOL, 'NLL of the first rows');
      for (const withNll of [true, false]) {
        const dLoss = upload(ctx.device, new Float32Array(S * T).fill(123)); // overwritten everywhere
        const nll = withNll ? { nllRows, nllScale: 0.7, nllStats } : { nllRows: 0, nllScale: 0 };
        completionNllBackward(ctx, { labels: gLabels, starts: gStarts, S, T, dSums: upload(ctx.device, toF32(dSums)), dLoss, ...nll });
        const ref = completionNllBackwardRef(labels, starts, dSums, S, T, nll.nllRows, nll.nllScale);
        expectClose(await ctx.readF32(dLoss, S * T), ref, TOL, `dLoss (${withNll ? 'with' : 'without'} NLL)`);
      }
    });
  }

  it('the reference backward matches finite differences of dot(sums, w) + scale · NLL mean', () => {
    const S = 4;
    const T = 9;
    const { labels, starts, loss } = makeRows(S, T, 3);
    const w = randomArray(S, 8);
    const f = (l: Float64Array) => dotWith(completionLogprobSumsRef(l, labels, starts, S, T).sums, w) + 0.7 * leadingRowsTokenMeanRef(l, labels, 2, T)[0];
    expectClose(finiteDifference(f, loss), completionNllBackwardRef(labels, starts, w, S, T, 2, 0.7), { atol: 1e-8, rtol: 1e-6 }, 'd/dloss');
  });
});
