// The fused matmul forms the model uses for a fused LoRA layer (q|k|v with LoRA on q and v only,
// odd widths, r = 3), each against its float64 naive equivalent (matmulFused.ref.ts + matmulRef):
// the dual-K forward with bias and residual, the LoRA backward pieces (g = s dY B, dB += s dY^T t
// on the block diagonal, dx += dY W + g A), dropout-masked operands of a batched group, and the
// split gate|up output.
import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { roundToBf16, toBf16 } from './half.ts';
import { matmul, matmulSpec, type LoraSegments, type MatmulArgs } from './matmul.ts';
import { matmulRef } from './matmul.ref.ts';
import { addAll, dropoutRows, loraBdAccumulate, loraBdDense, splitJoin, splitParts } from './matmulFused.ref.ts';
import { expectClose, randomArray, toF32 } from './testing.ts';

const TOL = { atol: 3e-5, rtol: 3e-5 };
const f32 = (x: Float64Array) => Float64Array.from(Float32Array.from(x));

// q (10 rows) | k (6) | v (6): LoRA blocks on q (block 0) and v (block 1); B rows stacked q then v.
const Q = 10;
const KV = 6;
const OUT = Q + 2 * KV;
const R = 3;
const SEG: LoraSegments = { r: R, ends: [Q, Q + KV, OUT], blocks: [0, null, 1], bases: [0, 0, Q] };
const S = 2; // modules with LoRA
const TOKENS = 7;
const IN = 13;
const B_OFFSET = 5; // the stacked B rows start 5 floats into the LoRA buffer

async function read(ctx: GpuContext, b: GPUBuffer, n: number, offset = 0): Promise<Float32Array> {
  return ctx.readF32(b, n, offset);
}

function run(ctx: GpuContext, args: MatmulArgs): string {
  matmul(ctx, args);
  return matmulSpec(ctx, args).entryPoint;
}

describe('fused matmul forms of a LoRA layer, on a real adapter', () => {
  it('forward: y = x W^T + bias + s t Bd^T + residual (bf16 W, block-diagonal B with a module without LoRA)', async () => {
    const ctx = await testContext();
    const x = f32(randomArray(TOKENS * IN, 1));
    const W = roundToBf16(randomArray(OUT * IN, 2));
    const bias = f32(randomArray(OUT, 3));
    const t = f32(randomArray(TOKENS * S * R, 4));
    const lora = f32(randomArray(B_OFFSET + (Q + KV) * R, 5));
    const res = f32(randomArray(TOKENS * OUT, 6));
    const out = ctx.pool.acquire(TOKENS * OUT * 4);
    run(ctx, {
      a: upload(ctx.device, toF32(x)),
      b: { data: upload(ctx.device, toBf16(W)), kind: 'bf16' },
      out: { data: out, mode: 'residual', residual: upload(ctx.device, toF32(res)) },
      bias: upload(ctx.device, toF32(bias)),
      M: TOKENS,
      N: OUT,
      K: IN,
      transB: true,
      second: { a: upload(ctx.device, toF32(t)), b: { data: upload(ctx.device, toF32(lora)), kind: 'lora_bd', offset: B_OFFSET, ld: S * R }, K: S * R, transB: true, alpha: 1.7 },
      segments: SEG,
    });
    const Bd = loraBdDense(lora, B_OFFSET, SEG, S * R);
    const base = matmulRef(x, W, { M: TOKENS, N: OUT, K: IN, transB: true, bias });
    const loraPart = matmulRef(t, Bd, { M: TOKENS, N: OUT, K: S * R, transB: true, alpha: 1.7 });
    expectClose(await read(ctx, out, TOKENS * OUT), addAll(base, loraPart, res), TOL, 'y');
  });

  it('backward: g = s dY Bd, dB += s dY^T t (block diagonal only), dx += dY W + g A (dY split in two buffers)', async () => {
    const ctx = await testContext();
    const SPLIT = 10;
    const dY = f32(randomArray(TOKENS * OUT, 10));
    const { lo, hi } = splitParts(dY, TOKENS, SPLIT, OUT);
    const dYop = { data: upload(ctx.device, toF32(lo)), hi: upload(ctx.device, toF32(hi)), kind: 'split2' as const, ld: OUT };
    const lora = f32(randomArray(B_OFFSET + (Q + KV) * R, 11));
    const loraBuf = upload(ctx.device, toF32(lora));
    const s = 0.8;
    // g (TOKENS, S·r) = s dY Bd
    const g = ctx.pool.acquire(TOKENS * S * R * 4);
    run(ctx, { a: dYop, b: { data: loraBuf, kind: 'lora_bd', offset: B_OFFSET, ld: S * R }, out: g, M: TOKENS, N: S * R, K: OUT, alpha: s, split: SPLIT, segments: SEG });
    const Bd = loraBdDense(lora, B_OFFSET, SEG, S * R);
    const gWant = matmulRef(dY, Bd, { M: TOKENS, N: S * R, K: OUT, alpha: s });
    expectClose(await read(ctx, g, TOKENS * S * R), gWant, TOL, 'g');

    // dB (stacked rows at B_OFFSET) += s dY^T t on the block diagonal; elsewhere untouched.
    const t = f32(randomArray(TOKENS * S * R, 12));
    const dB0 = f32(randomArray(B_OFFSET + (Q + KV) * R + 4, 13));
    const dB = upload(ctx.device, toF32(dB0));
    run(ctx, { a: dYop, b: upload(ctx.device, toF32(t)), out: { data: dB, kind: 'lora_bd', offset: B_OFFSET }, M: OUT, N: S * R, K: TOKENS, transA: true, alpha: s, split: SPLIT, segments: SEG });
    const C = matmulRef(dY, t, { M: OUT, N: S * R, K: TOKENS, transA: true, alpha: s });
    expectClose(await read(ctx, dB, dB0.length), loraBdAccumulate(dB0, B_OFFSET, C, SEG, S * R), TOL, 'dB');

    // dx (TOKENS, IN) += dY W + g A, W (OUT, IN) bf16, A stacked (S·r, IN) at offset 3.
    const W = roundToBf16(randomArray(OUT * IN, 14));
    const A = f32(randomArray(3 + S * R * IN, 15));
    const dx0 = f32(randomArray(TOKENS * IN, 16));
    const dx = upload(ctx.device, toF32(dx0));
    const gv = f32(randomArray(TOKENS * S * R, 17));
    run(ctx, {
      a: dYop,
      b: { data: upload(ctx.device, toBf16(W)), kind: 'bf16' },
      out: { data: dx, mode: 'accumulate' },
      M: TOKENS,
      N: IN,
      K: OUT,
      split: SPLIT,
      second: { a: upload(ctx.device, toF32(gv)), b: { data: upload(ctx.device, toF32(A)), offset: 3 }, K: S * R },
    });
    const want = addAll(dx0, matmulRef(dY, W, { M: TOKENS, N: IN, K: OUT }), matmulRef(gv, A.subarray(3), { M: TOKENS, N: IN, K: S * R }));
    expectClose(await read(ctx, dx, TOKENS * IN), want, TOL, 'dx');
  });

  it('member by member (kSegments): dx = dY W + g A summed q, LoRA q, k, v, LoRA v: bitwise the unfused per-member sequence', async () => {
    const ctx = await testContext();
    const dY = f32(randomArray(TOKENS * OUT, 90));
    const W = roundToBf16(randomArray(OUT * IN, 91));
    const g = f32(randomArray(TOKENS * S * R, 92));
    const A = f32(randomArray(3 + S * R * IN, 93));
    const [dYb, Wb, gb, Ab] = [upload(ctx.device, toF32(dY)), upload(ctx.device, toBf16(W)), upload(ctx.device, toF32(g)), upload(ctx.device, toF32(A))];
    const fused = ctx.pool.acquire(TOKENS * IN * 4);
    run(ctx, { a: dYb, b: { data: Wb, kind: 'bf16' }, out: fused, M: TOKENS, N: IN, K: OUT, kSegments: true, segments: SEG, second: { a: gb, b: { data: Ab, offset: 3 }, K: S * R } });
    // The same sums as one product per member, accumulated into the output in member order.
    const seq = ctx.pool.acquire(TOKENS * IN * 4);
    let start = 0;
    SEG.ends.forEach((end, s) => {
      const mode = s === 0 ? 'store' : 'accumulate';
      run(ctx, { a: { data: dYb, offset: start, ld: OUT }, b: { data: Wb, kind: 'bf16', offset: start * IN }, out: { data: seq, mode }, M: TOKENS, N: IN, K: end - start });
      const blk = SEG.blocks[s];
      if (blk !== null) run(ctx, { a: { data: gb, offset: blk * R, ld: S * R }, b: { data: Ab, offset: 3 + blk * R * IN }, out: { data: seq, mode: 'accumulate' }, M: TOKENS, N: IN, K: R });
      start = end;
    });
    const got = await read(ctx, fused, TOKENS * IN);
    expect(Array.from(got)).toEqual(Array.from(await read(ctx, seq, TOKENS * IN)));
    const want = addAll(matmulRef(dY, W, { M: TOKENS, N: IN, K: OUT }), matmulRef(g, A.subarray(3), { M: TOKENS, N: IN, K: S * R }));
    expectClose(got, want, TOL, 'dx');
    ctx.pool.release(fused);
    ctx.pool.release(seq);
  });

  it('dropout operands: t = drop_z(x) A_z^T and dA_z += g_z^T drop_z(x), one mask per module z, batched', async () => {
    const ctx = await testContext();
    const p = 0.3;
    const seed = 4242;
    const x = f32(randomArray(TOKENS * IN, 20));
    const xBuf = upload(ctx.device, toF32(x));
    const A = f32(randomArray(S * R * IN, 21));
    // t (TOKENS, S·r): item z writes columns [z·r, z·r + r).
    const t = ctx.pool.acquire(TOKENS * S * R * 4);
    run(ctx, {
      a: { data: xBuf, kind: 'dropout', batchStride: 0 },
      b: { data: upload(ctx.device, toF32(A)), batchStride: R * IN },
      out: { data: t, ld: S * R, batchStride: R },
      M: TOKENS,
      N: R,
      K: IN,
      transB: true,
      batch: S,
      dropout: { p, seed },
    });
    const tWant = new Float64Array(TOKENS * S * R);
    for (let z = 0; z < S; z++) {
      const tz = matmulRef(dropoutRows(x, TOKENS, IN, IN, p, seed, z), A.subarray(z * R * IN, (z + 1) * R * IN), { M: TOKENS, N: R, K: IN, transB: true });
      for (let m = 0; m < TOKENS; m++) for (let k = 0; k < R; k++) tWant[m * S * R + z * R + k] = tz[m * R + k];
    }
    expectClose(await read(ctx, t, TOKENS * S * R), tWant, TOL, 't');

    const g = f32(randomArray(TOKENS * S * R, 22));
    const dA0 = f32(randomArray(S * R * IN, 23));
    const dA = upload(ctx.device, toF32(dA0));
    run(ctx, {
      a: { data: upload(ctx.device, toF32(g)), ld: S * R, batchStride: R },
      b: { data: xBuf, kind: 'dropout', batchStride: 0 },
      out: { data: dA, mode: 'accumulate', batchStride: R * IN },
      M: R,
      N: IN,
      K: TOKENS,
      transA: true,
      batch: S,
      dropout: { p, seed },
    });
    const dAWant = Float64Array.from(dA0);
    for (let z = 0; z < S; z++) {
      const gz = new Float64Array(TOKENS * R);
      for (let m = 0; m < TOKENS; m++) for (let k = 0; k < R; k++) gz[m * R + k] = g[m * S * R + z * R + k];
      const part = matmulRef(gz, dropoutRows(x, TOKENS, IN, IN, p, seed, z), { M: R, N: IN, K: TOKENS, transA: true });
      part.forEach((v, i) => (dAWant[z * R * IN + i] += v));
    }
    expectClose(await read(ctx, dA, S * R * IN), dAWant, TOL, 'dA');
  });

  it('split output (gate | up) with bias, scalar and vec4 loads', async () => {
    const ctx = await testContext();
    for (const [M, K, I, wantEntry] of [
      [7, 13, 5, 'matmul_forward'],
      [9, 16, 12, 'matmul_forward_vec4'],
    ] as const) {
      const x = f32(randomArray(M * K, 30 + I));
      const W = roundToBf16(randomArray(2 * I * K, 31 + I));
      const bias = f32(randomArray(2 * I, 32 + I));
      const lo = ctx.pool.acquire(M * I * 4);
      const hi = ctx.pool.acquire(M * I * 4);
      const entry = run(ctx, { a: upload(ctx.device, toF32(x)), b: { data: upload(ctx.device, toBf16(W)), kind: 'bf16' }, out: { data: lo, hi, kind: 'split2' }, bias: upload(ctx.device, toF32(bias)), M, N: 2 * I, K, transB: true, split: I });
      expect(entry).toBe(wantEntry);
      const y = matmulRef(x, W, { M, N: 2 * I, K, transB: true, bias });
      const got = splitJoin(await read(ctx, lo, M * I), await read(ctx, hi, M * I), M, I, 2 * I);
      expectClose(got, y, TOL, `gate|up M=${M} I=${I}`);
      ctx.pool.release(lo);
      ctx.pool.release(hi);
    }
  });

  it('the references agree with each other (split round trip, block diagonal of the dense product)', () => {
    const x = randomArray(4 * 9, 40);
    const { lo, hi } = splitParts(x, 4, 3, 9);
    expectClose(splitJoin(lo, hi, 4, 3, 9), x, { atol: 0, rtol: 0 }, 'split round trip');
    // Accumulating the dense product's block diagonal equals multiplying by the dense Bd on rows.
    const stacked = randomArray((Q + KV) * R, 41);
    const Bd = loraBdDense(stacked, 0, SEG, S * R);
    const back = loraBdAccumulate(new Float64Array(stacked.length), 0, Bd, SEG, S * R);
    expectClose(back, stacked, { atol: 0, rtol: 0 }, 'Bd block diagonal holds exactly the stacked rows');
  });
});
