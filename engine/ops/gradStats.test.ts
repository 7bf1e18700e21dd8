import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { GRAD_STATS_FLOATS, MAX_PARTIALS, STEP_SLOTS, gradStatsAccumulate, gradStatsCheckValues, gradStatsFinalize, gradStatsReset, partialCount } from './gradStats.ts';
import { clipCoefficientRef, globalNormRef, gradStatsRef } from './gradStats.ref.ts';
import { expectClose, finiteDifference, randomArray, toF32 } from './testing.ts';

// f32 partial sums per thread and per workgroup, then a fixed tree: relative error ~1e-6 at 70000.
const TOL = { atol: 0, rtol: 1e-5 };

function newStats(ctx: GpuContext): GPUBuffer {
  // Garbage in it first, so the tests prove gradStatsReset zeroes it.
  return upload(ctx.device, new Float32Array(GRAD_STATS_FLOATS).fill(123));
}

/** Records reset + accumulate(each) + check(loss) + finalize, reads stats once. */
async function runStats(ctx: GpuContext, grads: Float32Array[], maxNorm: number, loss?: Float32Array, slots?: number): Promise<Float32Array> {
  const stats = newStats(ctx);
  const buffers = grads.map((g) => upload(ctx.device, g));
  gradStatsReset(ctx, stats, { slots });
  grads.forEach((g, i) => gradStatsAccumulate(ctx, { grad: buffers[i], n: g.length, stats }));
  if (loss) gradStatsCheckValues(ctx, { values: upload(ctx.device, loss), n: loss.length, stats });
  gradStatsFinalize(ctx, { stats, maxNorm });
  const out = await ctx.readF32(stats, GRAD_STATS_FLOATS);
  for (const b of buffers) b.destroy();
  stats.destroy();
  return out;
}

function expectStats(got: Float32Array, grads: Float32Array[], maxNorm: number, what: string): void {
  const ref = gradStatsRef(grads, maxNorm);
  expect(got[3], `${what}: flag`).toBe(0);
  expectClose([got[0], got[1]], [ref.sumSq, ref.norm], TOL, `${what}: sum, norm`);
  expectClose([got[2]], [ref.clip], { atol: 0, rtol: 2e-5 }, `${what}: clip`);
}

describe('gradStats on a real adapter', () => {
  it('global norm of buffers of odd sizes (1, 5, 1000, 70000) matches float64, clipping on and off', async () => {
    const ctx = await testContext();
    // Different scales per buffer so a wrong order or a dropped buffer shows.
    const grads = [randomArray(1, 1, 3), randomArray(5, 2, 0.5), randomArray(1000, 3, 0.01), randomArray(70000, 4, 0.02)].map(toF32);
    expect(partialCount(70000)).toBeGreaterThan(1); // the 2-level path is exercised
    expect(partialCount(1000)).toBe(1); // and the single-workgroup one
    const norm = globalNormRef(grads);
    for (const maxNorm of [0, norm / 3, norm * 2]) {
      expectStats(await runStats(ctx, grads, maxNorm), grads, maxNorm, `maxNorm=${maxNorm}`);
    }
    // maxNorm 0 disables clipping: exactly 1 even though the norm is large.
    expect((await runStats(ctx, [toF32(randomArray(10, 5, 100))], 0))[2]).toBe(1);
  });

  it('a 1M-element buffer (62 workgroups, 64 strided elements per thread) is summed once, deterministically', async () => {
    const ctx = await testContext();
    const n = 1_000_003;
    expect(partialCount(n)).toBe(62);
    // Above MAX_PARTIALS * 16384 elements the workgroup count stays capped and the same strided
    // loop just runs longer (kept off the CPU adapters: 67 MB took ~7 s on SwiftShader).
    expect(partialCount(MAX_PARTIALS * 16_384 * 3)).toBe(MAX_PARTIALS);
    const g = toF32(randomArray(n, 6, 0.05));
    const a = await runStats(ctx, [g, toF32(randomArray(3, 7))], 1);
    expectStats(a, [g, toF32(randomArray(3, 7))], 1, 'large');
    const b = await runStats(ctx, [g, toF32(randomArray(3, 7))], 1);
    expect(Array.from(new Uint32Array(b.buffer))).toEqual(Array.from(new Uint32Array(a.buffer)));
  });

  it('buffers beyond the step slots are combined at once, with the same result and still deterministic', async () => {
    const ctx = await testContext();
    const grads = [70000, 1000, 70000, 5, 40000, 1].map((n, i) => toF32(randomArray(n, 40 + i, 0.1 * (i + 1))));
    // 5 + 1 slots fit in 8; the second 70000 (5 slots) overflows; 5 (1 slot) fits again; 40000 overflows.
    expect(grads.map((g) => partialCount(g.length))).toEqual([5, 1, 5, 1, 3, 1]);
    expect(STEP_SLOTS).toBeGreaterThanOrEqual(8192);
    const small = await runStats(ctx, grads, 1, undefined, 8);
    expectStats(small, grads, 1, 'overflow path');
    expect(Array.from(await runStats(ctx, grads, 1, undefined, 8))).toEqual(Array.from(small));
    // A NaN in a buffer taking the overflow path still sets the flag.
    grads[2][123] = Number.NaN;
    expect((await runStats(ctx, grads, 1, undefined, 8))[3]).toBe(1);
  });

  it('SmolLM2-135M LoRA r=8 gradients of one layer (q,k,v,o,gate,up,down A/B)', async () => {
    const ctx = await testContext();
    const h = 576, kv = 192, mlp = 1536, r = 8;
    const shapes = [r * h, h * r, r * h, kv * r, r * h, kv * r, r * h, h * r, r * h, mlp * r, r * h, mlp * r, r * mlp, h * r];
    const grads = shapes.map((n, i) => toF32(randomArray(n, 10 + i, 1e-3 * (i + 1))));
    expectStats(await runStats(ctx, grads, 1), grads, 1, 'smollm2 lora');
  });

  it('binds a slice of a larger buffer (offset 256 bytes), ignoring what lies outside it', async () => {
    const ctx = await testContext();
    const n = 5000;
    const whole = new Float32Array(64 + n + 100).fill(Number.NaN);
    const g = toF32(randomArray(n, 8));
    whole.set(g, 64);
    const buffer = upload(ctx.device, whole);
    const stats = newStats(ctx);
    gradStatsReset(ctx, stats);
    gradStatsAccumulate(ctx, { grad: { buffer, offset: 256, size: n * 4 }, n, stats });
    gradStatsFinalize(ctx, { stats, maxNorm: 0 });
    expectStats(await ctx.readF32(stats, GRAD_STATS_FLOATS), [g], 0, 'slice');
  });

  for (const [name, bad] of [['NaN', Number.NaN], ['+Inf', Number.POSITIVE_INFINITY], ['-Inf', Number.NEGATIVE_INFINITY]] as const) {
    it(`a ${name} planted in one gradient element sets the flag (1 and 5 workgroups, overflow path)`, async () => {
      const ctx = await testContext();
      for (const [size, at] of [[5, 4], [70000, 0], [70000, 69999], [70000, 40961]]) {
        const grads = [toF32(randomArray(1000, 1)), toF32(randomArray(size, 2))];
        grads[1][at] = bad;
        expect(gradStatsRef(grads, 1).nonFinite).toBe(true);
        for (const slots of [STEP_SLOTS, 1]) {
          const got = await runStats(ctx, grads, 1, undefined, slots);
          expect(got[3], `flag, n=${size} at ${at}, slots=${slots}`).toBe(1);
          expect(got[2], 'clip is 0 when non-finite').toBe(0);
        }
      }
    });

    it(`a ${name} loss sets the flag through gradStatsCheckValues without touching the sum`, async () => {
      const ctx = await testContext();
      const grads = [toF32(randomArray(300, 3))];
      const got = await runStats(ctx, grads, 0, Float32Array.of(0.7, bad, 1.5));
      expect(got[3]).toBe(1);
      expectClose([got[0]], [gradStatsRef(grads, 0).sumSq], TOL, 'sum unaffected by the loss');
    });
  }

  it('a finite loss leaves the flag clear; an overflowing sum of squares (|g| = 1e20) sets it', async () => {
    const ctx = await testContext();
    const grads = [toF32(randomArray(300, 3))];
    expectStats(await runStats(ctx, grads, 1, Float32Array.of(2.3, 0, -1)), grads, 1, 'finite loss');
    const huge = await runStats(ctx, [Float32Array.of(1e20, 1)], 1);
    expect(huge[3]).toBe(1);
  });

  it('the float64 norm reference is the L2 norm (finite differences: d|g|/dg = g/|g|) and clip follows torch', () => {
    const g = randomArray(9, 11);
    const norm = globalNormRef([g]);
    const numeric = finiteDifference((x) => globalNormRef([x]), g);
    expectClose(numeric, g.map((v) => v / norm), { atol: 1e-8, rtol: 1e-6 }, 'dnorm/dg');
    // torch.nn.utils.clip_grad_norm_: coef = clamp(max_norm / (norm + 1e-6), max=1); grads *= coef,
    // so clipped grads have norm max_norm * norm / (norm + 1e-6) when norm > max_norm, else unchanged.
    const maxNorm = norm / 4;
    const clip = clipCoefficientRef(norm, maxNorm);
    expect(clip).toBe(maxNorm / (norm + 1e-6));
    expectClose([globalNormRef([g.map((v) => v * clip)])], [(maxNorm * norm) / (norm + 1e-6)], { atol: 0, rtol: 1e-14 }, 'clipped norm');
    expect(clipCoefficientRef(norm, norm * 2)).toBe(1);
    expect(clipCoefficientRef(norm, 0)).toBe(1);
  });
});
