import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import { GpuContext } from '../gpu/context.ts';
import { GpuValidationError } from '../gpu/errors.ts';
import { testContext } from '../gpu/testing.ts';
import { roundToF16, toF16 } from './half.ts';
import { rmsnormBackward, rmsnormForward } from './rmsnorm.ts';
import { rmsnormBackwardRef, rmsnormForwardRef } from './rmsnorm.ref.ts';
import { dotWith, expectClose, finiteDifference, randomArray, sampleIndices, toF32 } from './testing.ts';

const FWD = { atol: 2e-6, rtol: 2e-5 };
const BWD = { atol: 1e-5, rtol: 1e-4 };

/** f32-rounded copy: the reference must see the values the GPU sees. */
function f32(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(a));
}

interface Case {
  rows: number;
  dim: number;
  eps: number;
  f16?: boolean;
  accumulate?: boolean;
  dWeight?: boolean;
}

async function runCase(ctx: GpuContext, c: Case, seed: number): Promise<void> {
  const { rows, dim, eps } = c;
  const x = f32(randomArray(rows * dim, seed, 2));
  const wRaw = randomArray(dim, seed + 1, 1).map((v) => 1 + 0.5 * v);
  const w = c.f16 ? roundToF16(wRaw) : f32(wRaw);
  const dy = f32(randomArray(rows * dim, seed + 2));
  const dx0 = f32(randomArray(rows * dim, seed + 3));
  const dw0 = f32(randomArray(dim, seed + 4));

  const gx = upload(ctx.device, toF32(x));
  const gw = c.f16 ? upload(ctx.device, toF16(w)) : upload(ctx.device, toF32(w));
  const gy = ctx.pool.acquire(rows * dim * 4);
  const grstd = ctx.pool.acquire(rows * 4);
  const gdy = upload(ctx.device, toF32(dy));
  const gdx = upload(ctx.device, toF32(dx0));
  const gdw = upload(ctx.device, toF32(dw0));
  const weightType = c.f16 ? 'f16' : 'f32';

  rmsnormForward(ctx, { x: gx, weight: gw, y: gy, rstd: grstd, rows, dim, eps, weightType });
  rmsnormBackward(ctx, { x: gx, weight: gw, rstd: grstd, dy: gdy, dx: gdx, rows, dim, weightType, accumulate: c.accumulate, dWeight: c.dWeight ? gdw : null });

  const ref = rmsnormForwardRef(x, w, rows, dim, eps);
  const grad = rmsnormBackwardRef(x, w, dy, rows, dim, eps);
  const tag = `rows=${rows} dim=${dim}${c.f16 ? ' f16' : ''}`;
  expectClose(await ctx.readF32(gy, rows * dim), ref.y, FWD, `y ${tag}`);
  expectClose(await ctx.readF32(grstd, rows), ref.rstd, FWD, `rstd ${tag}`);
  const wantDx = c.accumulate ? grad.dx.map((v, i) => v + dx0[i]) : grad.dx;
  expectClose(await ctx.readF32(gdx, rows * dim), wantDx, BWD, `dx ${tag}`);
  const wantDw = c.dWeight ? grad.dWeight.map((v, i) => v + dw0[i]) : dw0;
  expectClose(await ctx.readF32(gdw, dim), wantDw, { atol: 1e-5 * Math.sqrt(rows), rtol: 1e-4 }, `dWeight ${tag}`);
  for (const b of [gx, gw, gdy, gdx, gdw]) b.destroy();
  ctx.pool.release(gy);
  ctx.pool.release(grstd);
}

describe('rmsnorm on a real adapter', () => {
  it('per-head rows inside fused q|k|v rows (Qwen3 k_norm layout): 2 heads x 6 at column 13 of 31-wide rows', async () => {
    const ctx = await testContext();
    const [tokens, heads, dim, stride, offset] = [3, 2, 6, 31, 13];
    const x = f32(randomArray(tokens * stride, 71, 2));
    const w = f32(randomArray(dim, 72).map((v) => 1 + 0.5 * v));
    const dy = f32(randomArray(tokens * stride, 73));
    const layout = { rows: heads, stride, offset };
    const rows = tokens * heads;
    const pick = (a: Float64Array) => Float64Array.from({ length: rows * dim }, (_, i) => a[Math.floor(i / (heads * dim)) * stride + offset + (i % (heads * dim))]);
    const y0 = f32(randomArray(tokens * stride, 74));
    const gy = upload(ctx.device, toF32(y0));
    const gdx = upload(ctx.device, toF32(y0));
    const grstd = ctx.pool.acquire(rows * 4);
    const gx = upload(ctx.device, toF32(x));
    rmsnormForward(ctx, { x: gx, weight: upload(ctx.device, toF32(w)), y: gy, rstd: grstd, rows, dim, eps: 1e-6, layout });
    rmsnormBackward(ctx, { x: gx, weight: upload(ctx.device, toF32(w)), rstd: grstd, dy: upload(ctx.device, toF32(dy)), dx: gdx, rows, dim, layout });
    const ref = rmsnormForwardRef(pick(x), w, rows, dim, 1e-6);
    const grad = rmsnormBackwardRef(pick(x), w, pick(dy), rows, dim, 1e-6);
    const y = await ctx.readF32(gy, tokens * stride);
    expectClose(pick(Float64Array.from(y)), ref.y, FWD, 'y');
    expectClose(pick(Float64Array.from(await ctx.readF32(gdx, tokens * stride))), grad.dx, BWD, 'dx');
    // Columns outside the heads are untouched.
    const outside = Array.from(y).filter((_, i) => i % stride < offset || i % stride >= offset + heads * dim);
    expectClose(outside, Array.from(y0).filter((_, i) => i % stride < offset || i % stride >= offset + heads * dim), { atol: 0, rtol: 0 }, 'other columns');
    ctx.pool.release(grstd);
  });

  // Odd sizes: rows not a multiple of anything, dims below, at and above the 256-wide workgroup.
  for (const rows of [1, 3, 7]) {
    for (const dim of [5, 24, 577]) {
      it(`forward + backward (dx +=, dWeight +=) match float64, rows=${rows} dim=${dim}`, async () => {
        const ctx = await testContext();
        await runCase(ctx, { rows, dim, eps: 1e-5, accumulate: true, dWeight: true }, rows * 1000 + dim);
      });
    }
  }

  it('SmolLM2 shape (dim 576, eps 1e-5), dx overwritten, frozen weight', async () => {
    const ctx = await testContext();
    await runCase(ctx, { rows: 5, dim: 576, eps: 1e-5 }, 11);
  });

  it('Qwen3 q/k norm shape (rows = 3 tokens x 16 heads, dim = headDim 128, eps 1e-6)', async () => {
    const ctx = await testContext();
    await runCase(ctx, { rows: 48, dim: 128, eps: 1e-6, dWeight: true }, 12);
  });

  it('dim 8192 and 200 rows (several dWeight chunks)', async () => {
    const ctx = await testContext();
    await runCase(ctx, { rows: 2, dim: 8192, eps: 1e-6, accumulate: true, dWeight: true }, 13);
    await runCase(ctx, { rows: 200, dim: 24, eps: 1e-5, dWeight: true }, 14);
  });

  it('f16 weight (where the adapter has shader-f16; a typed error where it does not)', async () => {
    const ctx = await testContext();
    if (ctx.caps.f16) {
      await runCase(ctx, { rows: 3, dim: 577, eps: 1e-5, f16: true, accumulate: true, dWeight: true }, 15);
      await runCase(ctx, { rows: 4, dim: 576, eps: 1e-5, f16: true }, 16);
    } else {
      const b = ctx.pool.acquire(64);
      expect(() => rmsnormForward(ctx, { x: b, weight: b, y: b, rstd: b, rows: 1, dim: 4, eps: 1e-5, weightType: 'f16' })).toThrow(GpuValidationError);
    }
  });

  it('rows wrap into a 2-D grid past the per-dimension workgroup limit', async () => {
    // A context that claims a limit of 4 workgroups per dimension exercises the wrap cheaply.
    const real = await testContext();
    const ctx = new GpuContext(real.device, { ...real.caps, maxComputeWorkgroupsPerDimension: 4 });
    await runCase(ctx, { rows: 11, dim: 33, eps: 1e-5, accumulate: true, dWeight: true }, 17);
  });

  it('the reference backward matches finite differences (dx and dWeight)', () => {
    const rows = 3;
    const dim = 7;
    const x = randomArray(rows * dim, 21, 2);
    const w = randomArray(dim, 22).map((v) => 1 + 0.5 * v);
    const dy = randomArray(rows * dim, 23);
    const eps = 1e-5;
    const grad = rmsnormBackwardRef(x, w, dy, rows, dim, eps);
    const numX = finiteDifference((v) => dotWith(rmsnormForwardRef(v, w, rows, dim, eps).y, dy), x);
    expectClose(numX, grad.dx, { atol: 1e-7, rtol: 1e-6 }, 'dL/dx');
    const numW = finiteDifference((v) => dotWith(rmsnormForwardRef(x, v, rows, dim, eps).y, dy), w);
    expectClose(numW, grad.dWeight, { atol: 1e-7, rtol: 1e-6 }, 'dL/dweight');
    // And at a SmolLM2 row, on a sample of coordinates.
    const xs = randomArray(2 * 576, 24, 2);
    const ws = randomArray(576, 25);
    const dys = randomArray(2 * 576, 26);
    const gs = rmsnormBackwardRef(xs, ws, dys, 2, 576, 1e-5);
    const idx = sampleIndices(2 * 576, 12);
    const num = finiteDifference((v) => dotWith(rmsnormForwardRef(v, ws, 2, 576, 1e-5).y, dys), xs, idx);
    expectClose(num, idx.map((i) => gs.dx[i]), { atol: 1e-7, rtol: 1e-6 }, 'dL/dx SmolLM2 row');
  });
});
