// Fused NF4 dequantize + matmul on a real adapter (Mesa lavapipe, or SwiftShader with
// WHETSTONE_ADAPTER=swiftshader: no shader-f16, the kernel only loads u32) against the float64
// reference, with shapes that are not tile multiples, rows that cross 64-element blocks, both
// paths of the weight fetch (runs of 8 and single elements), bf16 / f16 / f32 weights, with and
// without double quantization.
import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import { testContext } from '../gpu/testing.ts';
import { roundToDtype, type Nf4Dtype } from '../quant/nf4.ts';
import { dequantizeWeight, quantizeWeight, type Nf4Weight } from '../quant/nf4Weight.ts';
import { goldenInput, loadNf4Golden } from '../quant/testing.ts';
import { nf4Dequantize, nf4MatmulBackwardDx, nf4MatmulForward, uploadNf4Weight } from './nf4Matmul.ts';
import { nf4MatmulBackwardDxRef, nf4MatmulForwardRef } from './nf4Matmul.ref.ts';
import { dotWith, expectClose, finiteDifference, randomArray, toF32 } from './testing.ts';

/** A random (out, in) weight as a checkpoint of `dtype` holds it, quantized. */
function weight(out: number, inF: number, dtype: Nf4Dtype, doubleQuant: boolean, seed: number): Nf4Weight {
  const x = Float32Array.from(randomArray(out * inF, seed, 0.5), (v, i) => roundToDtype(Math.fround(v * (1 + (i % 7))), dtype));
  return quantizeWeight(x, [out, inF], dtype, { doubleQuant });
}

const f32 = (x: Float64Array) => Float64Array.from(toF32(x));

describe('nf4 matmul on a real adapter', () => {
  it('dequantizes every golden tensor bit for bit (block scales, double quantization, bf16/f16 rounding)', async () => {
    const ctx = await testContext();
    for (const t of loadNf4Golden().tensors) {
      for (const doubleQuant of [true, false]) {
        const n = t.shape.reduce((p, d) => p * d, 1);
        const w = quantizeWeight(goldenInput(t), [1, n], t.dtype, { doubleQuant });
        const out = upload(ctx.device, new Float32Array(n).fill(NaN));
        nf4Dequantize(ctx, uploadNf4Weight(ctx.device, w), out);
        const got = new Uint32Array((await ctx.readF32(out, n)).buffer);
        const want = new Uint32Array(dequantizeWeight(w).buffer);
        const bad = got.findIndex((g, i) => g !== want[i]);
        expect(bad, `${t.name} doubleQuant=${doubleQuant}: element ${bad}`).toBe(-1);
      }
    }
  });

  type Case = { M: number; out: number; inF: number; dtype: Nf4Dtype; dq: boolean; bias?: boolean; accumulate?: boolean; alpha?: number };
  const tol = { atol: 3e-5, rtol: 3e-5 };

  async function forward(c: Case, seed: number, tolerance = tol): Promise<void> {
    const ctx = await testContext();
    const w = weight(c.out, c.inF, c.dtype, c.dq, seed);
    const x = f32(randomArray(c.M * c.inF, seed + 1));
    const bias = c.bias ? f32(randomArray(c.out, seed + 2)) : null;
    const init = c.accumulate ? f32(randomArray(c.M * c.out, seed + 3)) : null;
    const y = upload(ctx.device, init ? toF32(init) : new Float32Array(c.M * c.out).fill(NaN));
    nf4MatmulForward(ctx, { x: upload(ctx.device, toF32(x)), w: uploadNf4Weight(ctx.device, w), y, M: c.M, bias: bias ? upload(ctx.device, toF32(bias)) : null, alpha: c.alpha, accumulate: c.accumulate });
    const want = nf4MatmulForwardRef(x, w, { M: c.M, bias, alpha: c.alpha, accumulateInto: init });
    expectClose(await ctx.readF32(y, c.M * c.out), want, tolerance, `forward ${JSON.stringify(c)}`);
  }

  async function backwardDx(c: Case, seed: number, tolerance = tol): Promise<void> {
    const ctx = await testContext();
    const w = weight(c.out, c.inF, c.dtype, c.dq, seed);
    const dy = f32(randomArray(c.M * c.out, seed + 1));
    const init = c.accumulate ? f32(randomArray(c.M * c.inF, seed + 3)) : null;
    const dx = upload(ctx.device, init ? toF32(init) : new Float32Array(c.M * c.inF).fill(NaN));
    nf4MatmulBackwardDx(ctx, { dy: upload(ctx.device, toF32(dy)), w: uploadNf4Weight(ctx.device, w), dx, M: c.M, alpha: c.alpha, accumulate: c.accumulate });
    const want = nf4MatmulBackwardDxRef(dy, w, { M: c.M, alpha: c.alpha, accumulateInto: init });
    expectClose(await ctx.readF32(dx, c.M * c.inF), want, tolerance, `dx ${JSON.stringify(c)}`);
  }

  it('forward y = x W^T: runs of 8 and single elements, bias, alpha and accumulate, 8- and 64-row tiles', async () => {
    await forward({ M: 7, out: 37, inF: 24, dtype: 'BF16', dq: true }, 10); // runs of 8, rows cross blocks
    await forward({ M: 5, out: 13, inF: 50, dtype: 'F16', dq: false, bias: true }, 20); // single elements, odd blocks
    await forward({ M: 70, out: 72, inF: 40, dtype: 'BF16', dq: true, accumulate: true, alpha: -0.5 }, 30); // 64-row tile, 2 row tiles
  });

  it('input gradient dx = dy W (transposed walk of the same buffer), accumulate', async () => {
    await backwardDx({ M: 7, out: 37, inF: 24, dtype: 'BF16', dq: true, accumulate: true }, 40);
    await backwardDx({ M: 6, out: 50, inF: 13, dtype: 'F32', dq: true }, 50);
  });

  it('Qwen2.5-0.5B k_proj shape (128 x 896) with 8 tokens: forward and dx', async () => {
    const big = { atol: 1e-4, rtol: 1e-4 };
    await forward({ M: 7, out: 128, inF: 896, dtype: 'BF16', dq: true }, 60, big);
    await backwardDx({ M: 7, out: 128, inF: 896, dtype: 'BF16', dq: true, accumulate: true }, 70, big);
  });

  it('the dx reference is the gradient of the forward reference (finite differences)', () => {
    const w = weight(6, 9, 'BF16', true, 80);
    const M = 3;
    const x = randomArray(M * 9, 81);
    const g = randomArray(M * 6, 82);
    const dx = nf4MatmulBackwardDxRef(g, w, { M });
    const fd = finiteDifference((v) => dotWith(nf4MatmulForwardRef(v, w, { M }), g), x);
    expectClose(fd, dx, { atol: 1e-7, rtol: 1e-6 }, 'dx vs finite differences');
  });
});
