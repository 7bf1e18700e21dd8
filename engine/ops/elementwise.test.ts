import { describe, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import { testContext } from '../gpu/testing.ts';
import { add, axpy, scale } from './elementwise.ts';
import { addRef, axpyRef, scaleRef } from './elementwise.ref.ts';
import { dotWith, expectClose, finiteDifference, randomArray, toF32 } from './testing.ts';

const TOL = { atol: 1e-6, rtol: 1e-6 };

describe('elementwise on a real adapter', () => {
  // 1000 is not a multiple of the 256-wide workgroup; 576 * 3 is a SmolLM2 row triple.
  for (const n of [1, 1000, 576 * 3]) {
    it(`add / axpy / scale match float64, n=${n}`, async () => {
      const ctx = await testContext();
      const a = randomArray(n, 1);
      const b = randomArray(n, 2);
      const ga = upload(ctx.device, toF32(a));
      const gb = upload(ctx.device, toF32(b));
      const out = ctx.pool.acquire(n * 4);
      add(ctx, ga, gb, out, n);
      expectClose(await ctx.readF32(out, n), addRef(toF64(a), toF64(b)), TOL, 'add');

      axpy(ctx, -0.5, ga, gb, n);
      expectClose(await ctx.readF32(gb, n), axpyRef(-0.5, toF64(a), toF64(b)), TOL, 'axpy');

      scale(ctx, 3, ga, out, n);
      expectClose(await ctx.readF32(out, n), scaleRef(3, toF64(a)), TOL, 'scale');
    });
  }

  it('a grid wider than the per-dimension limit covers every element', async () => {
    const ctx = await testContext();
    const n = (ctx.caps.maxComputeWorkgroupsPerDimension + 3) * 256;
    const x = new Float32Array(n).fill(1);
    const gx = upload(ctx.device, x);
    const out = ctx.pool.acquire(n * 4);
    scale(ctx, 2, gx, out, n);
    const got = await ctx.readF32(out, n);
    expectClose([got[0], got[n - 1], got.reduce((s, v) => s + v, 0)], [2, 2, 2 * n], TOL, 'wide scale');
  });

  it('the scale reference backward matches finite differences', () => {
    const x = randomArray(17, 3);
    const w = randomArray(17, 4);
    const numeric = finiteDifference((v) => dotWith(scaleRef(1.7, v), w), x);
    expectClose(numeric, scaleRef(1.7, w), { atol: 1e-7, rtol: 1e-6 }, 'dL/dx');
  });
});

function toF64(a: Float32Array | Float64Array): Float64Array {
  // The GPU sees f32-rounded inputs: compare against the reference on the same rounded values.
  return Float64Array.from(Float32Array.from(a));
}
