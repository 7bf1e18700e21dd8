// The fused linear group (model/linear.ts) on a real adapter against its member-by-member PEFT
// reference (linear.ref.ts): q|k|v widths 10|6|6 with LoRA on q and v only (r = 3, odd in = 13,
// bf16 weights, biases), with and without lora_dropout; gate|up with a split output and a split
// upstream gradient. Checks y, dx, and every member's dA / dB in the adapter's stacked layout.
import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { roundToBf16, toBf16 } from '../ops/half.ts';
import { splitJoin, splitParts } from '../ops/matmulFused.ref.ts';
import { dotWith, expectClose, finiteDifference, randomArray, toF32 } from '../ops/testing.ts';
import { uploadGroup } from './groupWeights.ts';
import { groupBackward, groupForward, groupLora, type LoraRuntime } from './linear.ts';
import { groupBackwardRef, groupForwardRef, type MemberRef } from './linear.ref.ts';
import type { GroupName, ModuleName } from './weights.ts';

const TOL = { atol: 5e-5, rtol: 5e-5 };
const N = 7;
const IN = 13;
const R = 3;
const SCALE = 1.5;
const f32 = (x: Float64Array) => Float64Array.from(Float32Array.from(x));

interface Built {
  members: MemberRef[];
  runtimes: Partial<Record<ModuleName, LoraRuntime>>;
  params: GPUBuffer;
  grads: GPUBuffer;
  /** Where each LoRA member's A and B sit in params / grads. */
  at: { a: number; b: number }[];
}

/** Members with random bf16 weights and f32 biases; LoRA tensors stacked the way the adapter stacks them. */
function build(ctx: GpuContext, outs: number[], modules: ModuleName[], withLora: boolean[], seed: number, dropout: number): Built {
  const members: MemberRef[] = outs.map((out, i) => ({
    W: roundToBf16(randomArray(out * IN, seed + i)),
    bias: f32(randomArray(out, seed + 10 + i)),
    out,
    lora: withLora[i] ? { A: f32(randomArray(R * IN, seed + 20 + i)), B: f32(randomArray(out * R, seed + 30 + i)) } : null,
  }));
  // [4 floats of padding][A of each LoRA member][B of each LoRA member], as lora/adapter.ts lays a group out.
  const lora = members.filter((m) => m.lora);
  const aStart = 4;
  const bStart = aStart + lora.length * R * IN;
  const size = bStart + lora.reduce((s, m) => s + m.out * R, 0);
  const host = new Float32Array(size);
  const at: { a: number; b: number }[] = [];
  let b = bStart;
  lora.forEach((m, z) => {
    host.set(m.lora!.A, aStart + z * R * IN);
    host.set(m.lora!.B, b);
    at.push({ a: aStart + z * R * IN, b });
    b += m.out * R;
  });
  const params = upload(ctx.device, host);
  const grads = upload(ctx.device, new Float32Array(size));
  const runtimes: Partial<Record<ModuleName, LoraRuntime>> = {};
  let z = 0;
  members.forEach((m, i) => {
    if (!m.lora) return;
    const { a: aOffset, b: bOffset } = at[z++];
    runtimes[modules[i]] = { module: { params, grads, aOffset, bOffset, r: R, inFeatures: IN, outFeatures: m.out, scale: SCALE }, dropout, seed: 99 };
  });
  return { members, runtimes, params, grads, at };
}

async function checkGrads(ctx: GpuContext, b: Built, want: { dA: Float64Array[]; dB: Float64Array[] }, tag: string): Promise<void> {
  const grads = await ctx.readF32(b.grads);
  want.dA.forEach((dA, z) => expectClose(grads.subarray(b.at[z].a, b.at[z].a + dA.length), dA, TOL, `${tag} dA[${z}]`));
  want.dB.forEach((dB, z) => expectClose(grads.subarray(b.at[z].b, b.at[z].b + dB.length), dB, TOL, `${tag} dB[${z}]`));
}

describe('fused linear group with LoRA, on a real adapter', () => {
  for (const dropout of [0, 0.3]) {
    it(`q|k|v (10|6|6), LoRA on q and v, lora_dropout ${dropout}: y, dx, dA, dB`, async () => {
      const ctx = await testContext();
      const modules: ModuleName[] = ['q_proj', 'k_proj', 'v_proj'];
      const b = build(ctx, [10, 6, 6], modules, [true, false, true], 50, dropout);
      const group = uploadGroup(ctx, 'qkv', b.members.map((m) => ({ weight: toBf16(m.W), outFeatures: m.out, bias: Float32Array.from(m.bias!) })), IN, 'bf16', []);
      const lora = groupLora(group, b.runtimes)!;
      expect(lora.S).toBe(2);
      const x = f32(randomArray(N * IN, 60));
      const gx = upload(ctx.device, toF32(x));
      const y = ctx.pool.acquire(N * 22 * 4);
      const t = ctx.pool.acquire(N * 2 * R * 4);
      groupForward(ctx, group, { x: gx, out: { data: y }, N, lora, t });
      const ref = { N, inFeatures: IN, r: R, scale: SCALE, dropout: dropout > 0 ? { p: dropout, seed: 99 } : null };
      expectClose(await ctx.readF32(y, N * 22), groupForwardRef(x, b.members, ref), TOL, 'y');

      const dy = f32(randomArray(N * 22, 61));
      const dx0 = f32(randomArray(N * IN, 62));
      const dx = upload(ctx.device, toF32(dx0));
      groupBackward(ctx, group, { x: gx, dy: { data: upload(ctx.device, toF32(dy)) }, dx, accumulateDx: true, N, lora, t });
      const want = groupBackwardRef(x, dy, b.members, ref);
      expectClose(await ctx.readF32(dx, N * IN), want.dx.map((v, i) => v + dx0[i]), TOL, 'dx');
      await checkGrads(ctx, b, want, `dropout ${dropout}`);
      ctx.pool.release(y);
      ctx.pool.release(t);
    });
  }

  it('gate|up (5|5) with LoRA on both: split output and split upstream gradient', async () => {
    const ctx = await testContext();
    const I = 5;
    const b = build(ctx, [I, I], ['gate_proj', 'up_proj'], [true, true], 70, 0);
    const name: GroupName = 'gateUp';
    const group = uploadGroup(ctx, name, b.members.map((m) => ({ weight: toBf16(m.W), outFeatures: m.out, bias: Float32Array.from(m.bias!) })), IN, 'bf16', []);
    const lora = groupLora(group, b.runtimes)!;
    const x = f32(randomArray(N * IN, 80));
    const gx = upload(ctx.device, toF32(x));
    const gate = ctx.pool.acquire(N * I * 4);
    const up = ctx.pool.acquire(N * I * 4);
    const t = ctx.pool.acquire(N * 2 * R * 4);
    groupForward(ctx, group, { x: gx, out: { data: gate, hi: up, kind: 'split2' }, split: I, N, lora, t });
    const ref = { N, inFeatures: IN, r: R, scale: SCALE, dropout: null };
    const y = splitJoin(await ctx.readF32(gate, N * I), await ctx.readF32(up, N * I), N, I, 2 * I);
    expectClose(y, groupForwardRef(x, b.members, ref), TOL, 'gate|up');

    const dy = f32(randomArray(N * 2 * I, 81));
    const { lo, hi } = splitParts(dy, N, I, 2 * I);
    const dx = ctx.pool.acquire(N * IN * 4);
    const dyOp = { data: upload(ctx.device, toF32(lo)), hi: upload(ctx.device, toF32(hi)), kind: 'split2' as const, ld: 2 * I };
    groupBackward(ctx, group, { x: gx, dy: dyOp, split: I, dx, accumulateDx: false, N, lora, t });
    const want = groupBackwardRef(x, dy, b.members, ref);
    expectClose(await ctx.readF32(dx, N * IN), want.dx, TOL, 'dx');
    await checkGrads(ctx, b, want, 'gate|up');
    for (const buf of [gate, up, t, dx]) ctx.pool.release(buf);
  });

  it('the group reference backward matches finite differences (with dropout)', () => {
    const members: MemberRef[] = [3, 2].map((out, i) => ({ W: randomArray(out * 4, 90 + i), bias: null, out, lora: { A: randomArray(2 * 4, 92 + i), B: randomArray(out * 2, 94 + i) } }));
    const a = { N: 3, inFeatures: 4, r: 2, scale: 0.7, dropout: { p: 0.4, seed: 5 } };
    const x = randomArray(12, 96);
    const w = randomArray(3 * 5, 97);
    const tol = { atol: 1e-7, rtol: 1e-6 };
    const got = groupBackwardRef(x, w, members, a);
    expectClose(finiteDifference((v) => dotWith(groupForwardRef(v, members, a), w), x), got.dx, tol, 'dx');
    members.forEach((m, z) => {
      const lora = m.lora!;
      expectClose(finiteDifference((v) => dotWith(groupForwardRef(x, members.map((mm, j) => (j === z ? { ...mm, lora: { ...lora, A: v } } : mm)), a), w), lora.A), got.dA[z], tol, `dA[${z}]`);
      expectClose(finiteDifference((v) => dotWith(groupForwardRef(x, members.map((mm, j) => (j === z ? { ...mm, lora: { ...lora, B: v } } : mm)), a), w), lora.B), got.dB[z], tol, `dB[${z}]`);
    });
  });
});
