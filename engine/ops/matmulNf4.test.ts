// The shared matmul with an NF4 weight group as B (operand kind 'nf4': QLoRA's frozen base) on a
// real adapter (Mesa lavapipe, or SwiftShader with WHETSTONE_ADAPTER=swiftshader: no shader-f16,
// the fetch only loads u32) against the float64 reference, with shapes that are not tile
// multiples, rows that cross 64-element blocks, members whose blocks do not line up with the
// concatenation, both load paths (runs of 4 when the row width allows, single elements else),
// bf16 / f16 / f32 weights, with and without double quantization.
import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { packNf4Group } from '../quant/gpuLayout.ts';
import { roundToDtype, type Nf4Dtype } from '../quant/nf4.ts';
import { quantizeWeight, type Nf4Weight } from '../quant/nf4Weight.ts';
import { goldenInput, loadNf4Golden } from '../quant/testing.ts';
import { matmul, matmulSpec, type MatmulArgs } from './matmul.ts';
import { nf4GroupF64, nf4MatmulBackwardDxRef, nf4MatmulForwardRef } from './matmulNf4.ref.ts';
import { dotWith, expectClose, finiteDifference, randomArray, toF32 } from './testing.ts';

/** A random (out, in) weight as a checkpoint of `dtype` holds it, quantized. */
function weight(out: number, inF: number, dtype: Nf4Dtype, doubleQuant: boolean, seed: number): Nf4Weight {
  const x = Float32Array.from(randomArray(out * inF, seed, 0.5), (v, i) => roundToDtype(Math.fround(v * (1 + (i % 7))), dtype));
  return quantizeWeight(x, [out, inF], dtype, { doubleQuant });
}

const f32 = (x: Float64Array) => Float64Array.from(toF32(x));
const gpuGroup = (ctx: GpuContext, members: Nf4Weight[]) => upload(ctx.device, packNf4Group(members));

/** The group's members as row segments (for the member-by-member dx sum). */
function memberSegments(members: Nf4Weight[]): MatmulArgs['segments'] {
  const ends: number[] = [];
  members.forEach((w) => ends.push((ends.at(-1) ?? 0) + w.shape[0]));
  return { r: 1, ends, blocks: members.map(() => null), bases: members.map(() => 0) };
}

describe('matmul with an NF4 weight (QLoRA base) on a real adapter', () => {
  it('reads every golden tensor exactly as dequantize_4bit returns it (dx = 1 · W, block scales, double quantization, bf16/f16 rounding)', async () => {
    const ctx = await testContext();
    for (const t of loadNf4Golden().tensors) {
      for (const doubleQuant of [true, false]) {
        const n = t.shape.reduce((p, d) => p * d, 1);
        const w = quantizeWeight(goldenInput(t), [1, n], t.dtype, { doubleQuant });
        const out = upload(ctx.device, new Float32Array(n).fill(NaN));
        matmul(ctx, { a: upload(ctx.device, Float32Array.of(1)), b: { data: gpuGroup(ctx, [w]), kind: 'nf4' }, out, M: 1, N: n, K: 1 });
        const got = await ctx.readF32(out, n);
        const want = nf4GroupF64([w]);
        const bad = got.findIndex((g, i) => g !== want[i]); // === : a dequantized -0 comes out of 0 + 1·(-0) as +0
        expect(bad, `${t.name} doubleQuant=${doubleQuant}: element ${bad} ${got[bad]} vs ${want[bad]}`).toBe(-1);
      }
    }
  });

  it('a q|k|v-like group keeps each member\'s own blocks: y = I · W^T and dx = I · W return the members side by side, exactly', async () => {
    const ctx = await testContext();
    for (const inF of [24]) {
      // 5 x 24 = 120 elements: member boundaries fall inside the concatenation's 64-blocks.
      const members = [weight(5, inF, 'BF16', true, 1), weight(3, inF, 'BF16', true, 2), weight(4, inF, 'BF16', true, 3)];
      const out = 12;
      const W = nf4GroupF64(members);
      const b = { data: gpuGroup(ctx, members), kind: 'nf4' as const };
      const eye = (n: number) => upload(ctx.device, Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)));
      const dx = ctx.pool.acquire(out * inF * 4);
      matmul(ctx, { a: eye(out), b, out: dx, M: out, N: inF, K: out });
      expect(Array.from(await ctx.readF32(dx, out * inF))).toEqual(Array.from(W));
      const y = ctx.pool.acquire(inF * out * 4);
      matmul(ctx, { a: eye(inF), b, out: y, M: inF, N: out, K: inF, transB: true });
      const wt = await ctx.readF32(y, inF * out); // W^T
      expect(Array.from({ length: out * inF }, (_, i) => wt[(i % inF) * out + Math.floor(i / inF)])).toEqual(Array.from(W));
    }
  });

  type Case = { M: number; outs: number[]; inF: number; dtype: Nf4Dtype; dq: boolean; bias?: boolean; accumulate?: boolean; alpha?: number };
  const tol = { atol: 3e-5, rtol: 3e-5 };
  const group = (c: Case, seed: number) => c.outs.map((o, i) => weight(o, c.inF, c.dtype, c.dq, seed + 100 * i));
  const total = (c: Case) => c.outs.reduce((s, o) => s + o, 0);

  async function forward(c: Case, seed: number, tolerance = tol): Promise<void> {
    const ctx = await testContext();
    const members = group(c, seed);
    const N = total(c);
    const x = f32(randomArray(c.M * c.inF, seed + 1));
    const bias = c.bias ? f32(randomArray(N, seed + 2)) : null;
    const init = c.accumulate ? f32(randomArray(c.M * N, seed + 3)) : null;
    const y = upload(ctx.device, init ? toF32(init) : new Float32Array(c.M * N).fill(NaN));
    const args: MatmulArgs = {
      a: upload(ctx.device, toF32(x)),
      b: { data: gpuGroup(ctx, members), kind: 'nf4' },
      out: y,
      bias: bias ? upload(ctx.device, toF32(bias)) : null,
      M: c.M,
      N,
      K: c.inF,
      transB: true,
      alpha: c.alpha,
      accumulate: c.accumulate,
    };
    expect(matmulSpec(ctx, args).entryPoint).toBe(c.inF % 4 === 0 ? 'matmul_forward_vec4' : 'matmul_forward');
    matmul(ctx, args);
    const want = nf4MatmulForwardRef(x, members, { M: c.M, bias, alpha: c.alpha, accumulateInto: init });
    expectClose(await ctx.readF32(y, c.M * N), want, tolerance, `forward ${JSON.stringify(c)}`);
  }

  async function backwardDx(c: Case, seed: number, tolerance = tol): Promise<void> {
    const ctx = await testContext();
    const members = group(c, seed);
    const N = total(c);
    const dy = f32(randomArray(c.M * N, seed + 1));
    const init = c.accumulate ? f32(randomArray(c.M * c.inF, seed + 3)) : null;
    const dx = upload(ctx.device, init ? toF32(init) : new Float32Array(c.M * c.inF).fill(NaN));
    // dx of a group sums member by member (model/linear.ts), unless it accumulates.
    const bySegments = members.length > 1 && !c.accumulate ? { kSegments: true, segments: memberSegments(members) } : {};
    matmul(ctx, { a: upload(ctx.device, toF32(dy)), b: { data: gpuGroup(ctx, members), kind: 'nf4' }, out: dx, M: c.M, N: c.inF, K: N, alpha: c.alpha, accumulate: c.accumulate, ...bySegments });
    const want = nf4MatmulBackwardDxRef(dy, members, { M: c.M, alpha: c.alpha, accumulateInto: init });
    expectClose(await ctx.readF32(dx, c.M * c.inF), want, tolerance, `dx ${JSON.stringify(c)}`);
  }

  it('forward y = x W^T: runs of 4 and single elements, groups of 1 to 3, bias, alpha and accumulate, 8- and 64-row tiles', async () => {
    await forward({ M: 7, outs: [37], inF: 24, dtype: 'BF16', dq: true }, 10); // runs of 4, rows cross blocks
    await forward({ M: 5, outs: [13, 6, 6], inF: 50, dtype: 'F16', dq: false, bias: true }, 20); // single elements, odd blocks
    await forward({ M: 70, outs: [40, 32], inF: 40, dtype: 'BF16', dq: true, accumulate: true, alpha: -0.5 }, 30); // 64-row tile, 2 row tiles
    await forward({ M: 3, outs: [9, 7], inF: 20, dtype: 'F32', dq: true }, 35);
  });

  it('input gradient dx = dy W (the same buffer walked untransposed): accumulate, and member by member', async () => {
    await backwardDx({ M: 7, outs: [37], inF: 24, dtype: 'BF16', dq: true, accumulate: true }, 40);
    await backwardDx({ M: 6, outs: [50], inF: 13, dtype: 'F32', dq: true }, 50);
    await backwardDx({ M: 9, outs: [10, 6, 6], inF: 28, dtype: 'BF16', dq: true }, 55);
    await backwardDx({ M: 4, outs: [7, 7], inF: 30, dtype: 'F16', dq: false }, 57);
  });

  it('Qwen2.5-0.5B k_proj shape (128 x 896) with 7 tokens: forward and dx', async () => {
    const big = { atol: 1e-4, rtol: 1e-4 };
    await forward({ M: 7, outs: [128], inF: 896, dtype: 'BF16', dq: true }, 60, big);
    await backwardDx({ M: 7, outs: [128], inF: 896, dtype: 'BF16', dq: true, accumulate: true }, 70, big);
  });

  it('refuses an nf4 operand anywhere but B, and a batched or offset one', async () => {
    const ctx = await testContext();
    const w = gpuGroup(ctx, [weight(4, 8, 'BF16', true, 90)]);
    const f = (n: number) => ctx.pool.acquire(n * 4);
    expect(() => matmul(ctx, { a: { data: w, kind: 'nf4' }, b: f(32), out: f(16), M: 4, N: 4, K: 8 })).toThrow(/only B/);
    expect(() => matmul(ctx, { a: f(64), b: { data: w, kind: 'nf4', offset: 4 }, out: f(16), M: 2, N: 4, K: 8, transB: true })).toThrow(/offset 0/);
  });

  it('the dx reference is the gradient of the forward reference (finite differences)', () => {
    const w = [weight(6, 9, 'BF16', true, 80), weight(2, 9, 'BF16', true, 81)];
    const M = 3;
    const x = randomArray(M * 9, 81);
    const g = randomArray(M * 8, 82);
    const dx = nf4MatmulBackwardDxRef(g, w, { M });
    const fd = finiteDifference((v) => dotWith(nf4MatmulForwardRef(v, w, { M }), g), x);
    expectClose(fd, dx, { atol: 1e-7, rtol: 1e-6 }, 'dx vs finite differences');
  });
});
