import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { dropoutBackward, dropoutBackwardSum, dropoutForward } from './dropout.ts';
import { dropoutBackwardSumRef, dropoutMaskRef, dropoutRef } from './dropout.ref.ts';
import { dotWith, expectClose, finiteDifference, randomArray, toF32 } from './testing.ts';

// x * f32(1 / (1 - p)): one f32 rounding of the scale and one of the product.
const TOL = { atol: 0, rtol: 3e-7 };

function f32(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(a));
}

async function run(ctx: GpuContext, x: Float32Array, p: number, seed: number): Promise<Float32Array> {
  const gx = upload(ctx.device, x);
  const gy = ctx.pool.acquire(x.length * 4);
  dropoutForward(ctx, { x: gx, y: gy, n: x.length, p, seed });
  const y = await ctx.readF32(gy, x.length);
  gx.destroy();
  ctx.pool.release(gy);
  return y;
}

describe('dropout on a real adapter', () => {
  for (const n of [1, 5, 577, 3 * 576]) {
    it(`forward + backward match the reference mask exactly, n=${n}`, async () => {
      const ctx = await testContext();
      const x = f32(randomArray(n, n));
      const dy = f32(randomArray(n, n + 1));
      const p = 0.1;
      const seed = 1234 + n;
      const gdy = upload(ctx.device, toF32(dy));
      const gdx = ctx.pool.acquire(n * 4);
      dropoutBackward(ctx, { dy: gdy, dx: gdx, n, p, seed });
      expectClose(await run(ctx, toF32(x), p, seed), dropoutRef(x, p, seed), TOL, `y n=${n}`);
      expectClose(await ctx.readF32(gdx, n), dropoutRef(dy, p, seed), TOL, `dx n=${n}`);
      gdy.destroy();
      ctx.pool.release(gdx);
    });
  }

  for (const p of [0.05, 0.1, 0.5]) {
    it(`drops a fraction ~p of 2^20 elements, kept ones scaled by 1/(1-p), p=${p}`, async () => {
      const ctx = await testContext();
      const n = 1 << 20;
      const y = await run(ctx, new Float32Array(n).fill(1), p, 99);
      let dropped = 0;
      let bothDropped = 0;
      let badScale = 0;
      const scale = Math.fround(1 / (1 - p));
      for (let i = 0; i < n; i++) {
        if (y[i] === 0) {
          dropped++;
          if (i > 0 && y[i - 1] === 0) bothDropped++;
        } else if (y[i] !== scale) badScale++;
      }
      expect(badScale).toBe(0);
      // Binomial: 6 standard deviations.
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(dropped / n - p)).toBeLessThan(6 * sd);
      // Neighbours independent: P(both dropped) ~ p^2.
      expect(Math.abs(bothDropped / (n - 1) - p * p)).toBeLessThan(6 * Math.sqrt((p * p * (1 - p * p)) / n));
      // And the mask is the reference's, bit for bit.
      const keep = dropoutMaskRef(n, p, 99);
      let mismatches = 0;
      for (let i = 0; i < n; i++) if ((y[i] !== 0 ? 1 : 0) !== keep[i]) mismatches++;
      expect(mismatches).toBe(0);
    });
  }

  it('is deterministic by seed; another seed gives another mask', async () => {
    const ctx = await testContext();
    const n = 1 << 16;
    const x = new Float32Array(n).fill(1);
    const a = await run(ctx, x, 0.3, 7);
    const b = await run(ctx, x, 0.3, 7);
    const c = await run(ctx, x, 0.3, 8);
    expect(b).toEqual(a);
    let differ = 0;
    for (let i = 0; i < n; i++) if (a[i] !== c[i]) differ++;
    // Independent masks disagree on a fraction 2 p (1 - p) = 0.42.
    expect(Math.abs(differ / n - 0.42)).toBeLessThan(0.02);
  });

  it('backward uses the forward mask, also in place (y = x, dx = dy)', async () => {
    const ctx = await testContext();
    const n = 5000;
    const [p, seed] = [0.25, 0xdeadbeef];
    const x = toF32(randomArray(n, 81));
    const dy = toF32(randomArray(n, 82));
    const y = await run(ctx, x, p, seed);
    const g = upload(ctx.device, dy);
    dropoutBackward(ctx, { dy: g, dx: g, n, p, seed });
    const dx = await ctx.readF32(g, n);
    const gx = upload(ctx.device, x);
    dropoutForward(ctx, { x: gx, y: gx, n, p, seed });
    expect(await ctx.readF32(gx, n)).toEqual(y);
    const scale = Math.fround(1 / (1 - p));
    for (let i = 0; i < n; i++) {
      expect(dx[i] === 0, `element ${i}`).toBe(y[i] === 0);
      if (y[i] !== 0) expect(dx[i]).toBe(Math.fround(dy[i] * scale));
    }
    g.destroy();
    gx.destroy();
  });

  it('p = 0 is the identity, p = 1 zeroes everything', async () => {
    const ctx = await testContext();
    const x = toF32(randomArray(1000, 83));
    expect(await run(ctx, x, 0, 5)).toEqual(x);
    expect(Array.from(await run(ctx, x, 1, 5)).every((v) => v === 0)).toBe(true);
  });

  it('elements wrap into a 2-D grid past the per-dimension workgroup limit', async () => {
    const real = await testContext();
    const ctx = new GpuContext(real.device, { ...real.caps, maxComputeWorkgroupsPerDimension: 3 });
    const x = f32(randomArray(2000, 84)); // 8 workgroups on a 3-wide grid
    expectClose(await run(ctx, toF32(x), 0.2, 3), dropoutRef(x, 0.2, 3), TOL, 'wrapped');
  });

  it('masked sum of a fused group: dx += sum_z parts_z * keep(seed_z) / (1 - p), n odd, 3 items', async () => {
    const ctx = await testContext();
    const n = 577;
    const items = 3;
    const parts = f32(randomArray(items * n, 93));
    const dx0 = f32(randomArray(n, 94));
    const dx = upload(ctx.device, toF32(dx0));
    dropoutBackwardSum(ctx, { parts: upload(ctx.device, toF32(parts)), dx, n, items, p: 0.25, seed: 77 });
    expectClose(await ctx.readF32(dx, n), dropoutBackwardSumRef(dx0, parts, items, 0.25, 77), { atol: 1e-6, rtol: 1e-6 }, 'dx');
    dx.destroy();
  });

  it('the reference backward matches finite differences', () => {
    const x = randomArray(40, 91);
    const w = randomArray(40, 92);
    const numeric = finiteDifference((v) => dotWith(dropoutRef(v, 0.3, 11), w), x);
    expectClose(numeric, dropoutRef(w, 0.3, 11), { atol: 1e-7, rtol: 1e-6 }, 'dL/dx');
  });
});
