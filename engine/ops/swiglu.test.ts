import { describe, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { swigluBackward, swigluForward } from './swiglu.ts';
import { swigluBackwardRef, swigluForwardRef } from './swiglu.ref.ts';
import { dotWith, expectClose, finiteDifference, randomArray, toF32 } from './testing.ts';

const TOL = { atol: 1e-6, rtol: 1e-5 };

function f32(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(a));
}

async function check(ctx: GpuContext, gate: Float64Array, seed: number): Promise<void> {
  const n = gate.length;
  const up = f32(randomArray(n, seed, 2));
  const dh = f32(randomArray(n, seed + 1));
  const gg = upload(ctx.device, toF32(gate));
  const gu = upload(ctx.device, toF32(up));
  const gdh = upload(ctx.device, toF32(dh));
  const [gh, gdg, gdu] = [0, 1, 2].map(() => ctx.pool.acquire(n * 4));
  swigluForward(ctx, { gate: gg, up: gu, h: gh, n });
  swigluBackward(ctx, { gate: gg, up: gu, dh: gdh, dGate: gdg, dUp: gdu, n });
  const grad = swigluBackwardRef(gate, up, dh);
  expectClose(await ctx.readF32(gh, n), swigluForwardRef(gate, up), TOL, `h n=${n}`);
  expectClose(await ctx.readF32(gdg, n), grad.dGate, TOL, `dGate n=${n}`);
  expectClose(await ctx.readF32(gdu, n), grad.dUp, TOL, `dUp n=${n}`);
  for (const b of [gg, gu, gdh]) b.destroy();
  for (const b of [gh, gdg, gdu]) ctx.pool.release(b);
}

describe('swiglu on a real adapter', () => {
  // 1, 5, 577: odd sizes around the 256 workgroup; 3 x 1536: SmolLM2's MLP width for 3 tokens.
  for (const n of [1, 5, 577, 3 * 1536]) {
    it(`forward + backward match float64, n=${n}`, async () => {
      const ctx = await testContext();
      await check(ctx, f32(randomArray(n, n, 6)), n);
    });
  }

  it('saturated gates (|g| up to 100) stay finite and exact', async () => {
    const ctx = await testContext();
    await check(ctx, Float64Array.from([-100, -60, -20, -1e-3, 0, 1e-3, 20, 60, 100]), 7);
  });

  it('elements wrap into a 2-D grid past the per-dimension workgroup limit', async () => {
    const real = await testContext();
    const ctx = new GpuContext(real.device, { ...real.caps, maxComputeWorkgroupsPerDimension: 3 });
    await check(ctx, f32(randomArray(2000, 8, 6)), 8);
  });

  it('the reference backward matches finite differences', () => {
    const gate = randomArray(13, 9, 6);
    const up = randomArray(13, 10, 2);
    const dh = randomArray(13, 11);
    const grad = swigluBackwardRef(gate, up, dh);
    const tol = { atol: 1e-7, rtol: 1e-6 };
    expectClose(finiteDifference((v) => dotWith(swigluForwardRef(v, up), dh), gate), grad.dGate, tol, 'dL/dgate');
    expectClose(finiteDifference((v) => dotWith(swigluForwardRef(gate, v), dh), up), grad.dUp, tol, 'dL/dup');
  });
});
