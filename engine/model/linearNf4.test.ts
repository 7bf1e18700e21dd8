// A fused linear group over an NF4 base (QLoRA) on a real adapter against its member-by-member
// PEFT reference (linear.ref.ts) with each member's dequantized weight: q|k|v widths 10|6|6 (each
// member quantized on its own, 6 x 24 = 144 elements: blocks that do not line up with the
// concatenation), LoRA on q and v in the base GEMM, biases; y, dx and every dA / dB. The base has
// no weight gradient.
import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import { testContext } from '../gpu/testing.ts';
import { roundToBf16 } from '../ops/half.ts';
import { nf4GroupF64 } from '../ops/matmulNf4.ref.ts';
import { expectClose, randomArray, toF32 } from '../ops/testing.ts';
import { quantizeWeight } from '../quant/nf4Weight.ts';
import { uploadNf4Group } from './groupWeights.ts';
import { groupBackward, groupForward, groupLora, type LoraRuntime } from './linear.ts';
import { groupBackwardRef, groupForwardRef, type MemberRef } from './linear.ref.ts';
import type { ModuleName } from './weights.ts';

const TOL = { atol: 5e-5, rtol: 5e-5 };
const f32 = (x: Float64Array) => Float64Array.from(Float32Array.from(x));

describe('fused linear group over an NF4 base', () => {
  it('q|k|v (10|6|6), LoRA on q and v: y, dx, dA, dB; no base weight gradient', async () => {
    const ctx = await testContext();
    const [N, IN, R, SCALE] = [7, 24, 3, 1.5];
    const outs = [10, 6, 6];
    const modules: ModuleName[] = ['q_proj', 'k_proj', 'v_proj'];
    const quantized = outs.map((o, i) => quantizeWeight(Float32Array.from(roundToBf16(randomArray(o * IN, 10 + i))), [o, IN], 'BF16', { doubleQuant: true }));
    const members: MemberRef[] = outs.map((out, i) => ({
      W: nf4GroupF64([quantized[i]]),
      bias: f32(randomArray(out, 20 + i)),
      out,
      lora: i !== 1 ? { A: f32(randomArray(R * IN, 30 + i)), B: f32(randomArray(out * R, 40 + i)) } : null,
    }));
    // The adapter's layout of a group: [A of q][A of v][B of q][B of v].
    const at = [{ a: 0, b: 2 * R * IN }, { a: R * IN, b: 2 * R * IN + 10 * R }];
    const host = new Float32Array(2 * R * IN + 16 * R);
    [members[0], members[2]].forEach((m, z) => {
      host.set(m.lora!.A, at[z].a);
      host.set(m.lora!.B, at[z].b);
    });
    const params = upload(ctx.device, host);
    const grads = upload(ctx.device, new Float32Array(host.length));
    const runtimes: Partial<Record<ModuleName, LoraRuntime>> = {};
    [0, 2].forEach((i, z) => {
      runtimes[modules[i]] = { module: { params, grads, aOffset: at[z].a, bOffset: at[z].b, r: R, inFeatures: IN, outFeatures: outs[i], scale: SCALE }, dropout: 0, seed: 1 };
    });
    const group = uploadNf4Group(ctx, 'qkv', quantized.map((w, i) => ({ weight: w, bias: Float32Array.from(members[i].bias!) })), []);
    const lora = groupLora(group, runtimes)!;

    const x = f32(randomArray(N * IN, 60));
    const gx = upload(ctx.device, toF32(x));
    const y = ctx.pool.acquire(N * 22 * 4);
    const t = ctx.pool.acquire(N * 2 * R * 4);
    groupForward(ctx, group, { x: gx, out: { data: y }, N, lora, t });
    const ref = { N, inFeatures: IN, r: R, scale: SCALE, dropout: null };
    expectClose(await ctx.readF32(y, N * 22), groupForwardRef(x, members, ref), TOL, 'y');

    const dy = f32(randomArray(N * 22, 61));
    const dx = ctx.pool.acquire(N * IN * 4);
    const dyBuf = upload(ctx.device, toF32(dy));
    groupBackward(ctx, group, { x: gx, dy: { data: dyBuf }, dx, accumulateDx: false, N, lora, t });
    const want = groupBackwardRef(x, dy, members, ref);
    expectClose(await ctx.readF32(dx, N * IN), want.dx, TOL, 'dx');
    const g = await ctx.readF32(grads);
    want.dA.forEach((dA, z) => expectClose(g.subarray(at[z].a, at[z].a + dA.length), dA, TOL, `dA[${z}]`));
    want.dB.forEach((dB, z) => expectClose(g.subarray(at[z].b, at[z].b + dB.length), dB, TOL, `dB[${z}]`));

    const dW = ctx.pool.acquire(22 * IN * 4);
    expect(() => groupBackward(ctx, group, { x: gx, dy: { data: dyBuf }, dx, accumulateDx: false, N, lora, t, grads: { dW, dBias: null } })).toThrow(/frozen/);
  });
});
