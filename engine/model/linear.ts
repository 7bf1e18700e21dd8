// A fused group of nn.Linears sharing one input (weights.ts), with the LoRA branch of its targeted
// members, forward and backward, as few matmul dispatches (ops/matmul.ts):
//   forward   t  = drop_z(x) A_z^T for every member z, stacked (N, S·r)         1 dispatch
//             y  = x W^T + b + s · t Bd^T                                        1 (dual-K, epilogue:
//                                                                                  residual / split)
//   backward  g  = s · dy Bd                     (N, S·r)                        1
//             dB += s · dy^T t   (block diagonal: each member's own (out_z, r))  1
//             dA_z += g_z^T drop_z(x)                                            1 (batched over z)
//             dx (=/+=) dy W + sum_z drop_z'(g_z A_z)                            1 (dual-K, summed
//                                                                                  member by member); with
//                                                                                  dropout 3
//             dW += dy^T x, db += colsum(dy)     (only when base weight gradients are asked for;
//                                                 never for an NF4 base, which is frozen)
// Shapes: x (N, in), y/dy (N, out) with out = the members' outs side by side, W (out, in), A_z
// (r, in), B_z (out_z, r), s = lora_alpha / r. Bd (out, S·r) is the block-diagonal matrix of the
// members' B (ops/matmulFused.ref.ts: loraBdDense): member z's rows use columns [z·r, z·r + r).
// Naive equivalent, per member: y_z = x W_z^T + b_z + s (drop_z(x) A_z^T) B_z^T (PEFT).
import { upload } from '../gpu/buffers.ts';
import type { Binding, GpuContext } from '../gpu/context.ts';
import { dropoutBackwardSum } from '../ops/dropout.ts';
import { matmul, type LoraSegments, type Operand, type OutOperand } from '../ops/matmul.ts';
import type { LoraModule } from './loraTypes.ts';
import type { LinearGroup, ModuleName } from './weights.ts';

/** The LoRA of one module for one micro-batch. */
export interface LoraRuntime {
  module: LoraModule;
  /** lora_dropout probability (0 at eval time). */
  dropout: number;
  /** Seed of this group's dropout masks for this micro-batch (member z uses dropout_seed(seed, z)). */
  seed: number;
}

/** The LoRA of a group's targeted members, as the fused kernels read it. */
export interface GroupLora {
  params: GPUBuffer;
  grads: GPUBuffer;
  aOffset: number; // the members' A stacked: (S·r, in)
  bOffset: number; // the members' B stacked: (sum of their outs, r)
  S: number; // members with LoRA
  r: number;
  scale: number;
  segments: LoraSegments;
  dropout: number;
  seed: number;
}

export interface LinearGrads {
  dW: GPUBuffer; // (out, in) f32, accumulated
  dBias: GPUBuffer | null; // (out) f32, accumulated
}

/** The group's LoRA from its members' runtimes (null when none has LoRA). */
export function groupLora(group: LinearGroup, lora: Partial<Record<ModuleName, LoraRuntime>>): GroupLora | null {
  const members = group.modules.map((m) => lora[m] ?? null);
  const first = members.find((m) => m !== null);
  if (!first) return null;
  const { r, scale, params, grads } = first.module;
  const ends: number[] = [];
  const blocks: (number | null)[] = [];
  const bases: number[] = [];
  let S = 0;
  let rows = 0;
  members.forEach((rt, i) => {
    ends.push(group.starts[i + 1]);
    bases.push(rows);
    if (!rt) {
      blocks.push(null);
      return;
    }
    const m = rt.module;
    // The adapter stacks a group's A and B rows in member order (lora/adapter.ts).
    if (m.params !== params || m.aOffset !== first.module.aOffset + S * r * group.inFeatures || m.bOffset !== first.module.bOffset + rows * r) {
      throw new Error(`LoRA of ${group.modules[i]} is not stacked with the rest of its group ${group.name}`);
    }
    blocks.push(S++);
    rows += m.outFeatures;
  });
  return { params, grads, aOffset: first.module.aOffset, bOffset: first.module.bOffset, S, r, scale, segments: { r, ends, blocks, bases }, dropout: first.dropout, seed: first.seed };
}

/** The members' stacked B rows as the virtual Bd (out, S·r): plain when one member covers the group. */
function bdOperand(lora: GroupLora, group: LinearGroup, buffer: GPUBuffer): Operand {
  if (group.modules.length === 1) return { data: buffer, offset: lora.bOffset, ld: lora.r };
  return { data: buffer, kind: 'lora_bd', offset: lora.bOffset, ld: lora.S * lora.r };
}

/** The dB target: the members' stacked dB rows, accumulated on Bd's block diagonal. */
function dbOut(lora: GroupLora, group: LinearGroup): OutOperand {
  if (group.modules.length === 1) return { data: lora.grads, offset: lora.bOffset, ld: lora.r, mode: 'accumulate' };
  return { data: lora.grads, kind: 'lora_bd', offset: lora.bOffset };
}

const dropping = (lora: GroupLora) => lora.dropout > 0;

/** t (N, S·r) = drop_z(x) A_z^T for every member z with LoRA. */
export function loraDown(ctx: GpuContext, lora: GroupLora, x: Binding, t: Binding, N: number, inFeatures: number): void {
  const { r, S } = lora;
  const A: Operand = { data: lora.params, offset: lora.aOffset, batchStride: r * inFeatures };
  if (!dropping(lora)) {
    matmul(ctx, { a: x, b: A, out: t, M: N, N: S * r, K: inFeatures, transB: true });
    return;
  }
  matmul(ctx, {
    a: { data: x, kind: 'dropout', batchStride: 0 },
    b: A,
    out: { data: t, ld: S * r, batchStride: r },
    M: N,
    N: r,
    K: inFeatures,
    transB: true,
    batch: S,
    dropout: { p: lora.dropout, seed: lora.seed },
  });
}

export interface GroupForwardArgs {
  x: Binding; // (N, in)
  out: OutOperand; // (N, out): plain, with a residual, or split (gate | up)
  split?: number;
  N: number;
  lora: GroupLora | null;
  /** (N, S·r) scratch for t; kept by the caller for the backward. Needed when lora is set. */
  t: Binding | null;
}

/** y = x W^T + b + s t Bd^T, with t = drop(x) A^T computed first. */
export function groupForward(ctx: GpuContext, g: LinearGroup, a: GroupForwardArgs): void {
  const { lora } = a;
  if (lora) loraDown(ctx, lora, a.x, a.t!, a.N, g.inFeatures);
  matmul(ctx, {
    a: a.x,
    b: { data: g.weight, kind: g.dtype },
    out: a.out,
    bias: g.bias,
    M: a.N,
    N: g.outFeatures,
    K: g.inFeatures,
    transB: true,
    split: a.split,
    segments: lora?.segments,
    second: lora ? { a: a.t!, b: bdOperand(lora, g, lora.params), K: lora.S * lora.r, transB: true, alpha: lora.scale } : null,
  });
}

export interface GroupBackwardArgs {
  x: Binding; // the forward input (N, in)
  dy: Operand; // (N, out) (split2 for gate | up)
  split?: number;
  dx: Binding | null; // (N, in); null when the input needs no gradient
  accumulateDx: boolean;
  N: number;
  lora: GroupLora | null;
  t: Binding | null; // the forward's t
  grads?: LinearGrads | null;
}

export function groupBackward(ctx: GpuContext, g: LinearGroup, a: GroupBackwardArgs): void {
  const { N, lora, split } = a;
  const out = g.outFeatures;
  const W: Operand = { data: g.weight, kind: g.dtype };
  if (a.grads) {
    if (g.dtype === 'nf4') throw new Error(`${g.name}: a 4-bit (NF4) base weight is frozen and has no gradient`);
    matmul(ctx, { a: a.dy, b: a.x, out: a.grads.dW, M: out, N: g.inFeatures, K: N, transA: true, accumulate: true, split });
    // dBias (out, 1) += dy^T ones: a matmul with a ones vector keeps it one kernel.
    if (a.grads.dBias) matmul(ctx, { a: a.dy, b: onesVector(ctx, N), out: a.grads.dBias, M: out, N: 1, K: N, transA: true, accumulate: true, split });
  }
  const dxOut = (accumulate: boolean): OutOperand => ({ data: a.dx!, mode: accumulate ? 'accumulate' : 'store' });
  // dx of a multi-member group sums member by member (q, then k, then v), each member's LoRA part
  // right after it: the rounding of one product per member (matmul kSegments).
  const members = { kSegments: g.modules.length > 1 && !a.accumulateDx, segments: lora?.segments ?? plainSegments(g) };
  if (!lora) {
    if (a.dx) matmul(ctx, { a: a.dy, b: W, out: dxOut(a.accumulateDx), M: N, N: g.inFeatures, K: out, split, ...members });
    return;
  }
  const { r, S } = lora;
  const Sr = S * r;
  const gBuf = ctx.pool.acquire(N * Sr * 4, undefined, 'lora g');
  // g = s dy Bd; dB += s dy^T t on the block diagonal.
  matmul(ctx, { a: a.dy, b: bdOperand(lora, g, lora.params), out: gBuf, M: N, N: Sr, K: out, alpha: lora.scale, split, segments: lora.segments });
  matmul(ctx, { a: a.dy, b: a.t!, out: dbOut(lora, g), M: out, N: Sr, K: N, transA: true, alpha: lora.scale, split, segments: lora.segments });
  // dA_z += g_z^T drop_z(x)
  if (!dropping(lora)) {
    matmul(ctx, { a: gBuf, b: a.x, out: { data: lora.grads, offset: lora.aOffset, mode: 'accumulate' }, M: Sr, N: g.inFeatures, K: N, transA: true });
  } else {
    matmul(ctx, {
      a: { data: gBuf, ld: Sr, batchStride: r },
      b: { data: a.x, kind: 'dropout', batchStride: 0 },
      out: { data: lora.grads, offset: lora.aOffset, batchStride: r * g.inFeatures, mode: 'accumulate' },
      M: r,
      N: g.inFeatures,
      K: N,
      transA: true,
      batch: S,
      dropout: { p: lora.dropout, seed: lora.seed },
    });
  }
  if (a.dx) {
    const A: Operand = { data: lora.params, offset: lora.aOffset };
    if (!dropping(lora)) {
      // dx = dy W + g A in one K loop over both pairs.
      matmul(ctx, { a: a.dy, b: W, out: dxOut(a.accumulateDx), M: N, N: g.inFeatures, K: out, split, ...members, second: { a: gBuf, b: A, K: Sr } });
    } else {
      // Each member's mask applies to its own g_z A_z: the parts (S, N, in), then one masked sum.
      matmul(ctx, { a: a.dy, b: W, out: dxOut(a.accumulateDx), M: N, N: g.inFeatures, K: out, split, ...members });
      const n = N * g.inFeatures;
      const parts = ctx.pool.acquire(S * n * 4, undefined, 'lora dx parts');
      matmul(ctx, { a: { data: gBuf, ld: Sr, batchStride: r }, b: { ...A, batchStride: r * g.inFeatures }, out: { data: parts, batchStride: n }, M: N, N: g.inFeatures, K: r, batch: S });
      dropoutBackwardSum(ctx, { parts, dx: a.dx, n, items: S, p: lora.dropout, seed: lora.seed });
      ctx.pool.release(parts);
    }
  }
  ctx.pool.release(gBuf);
}

/** The group's member ranges without LoRA (for member-by-member sums). */
function plainSegments(g: LinearGroup): LoraSegments {
  return { r: 1, ends: g.starts.slice(1), blocks: g.modules.map(() => null), bases: g.modules.map(() => 0) };
}

const ONES = new WeakMap<GpuContext, GPUBuffer>();

/** A constant f32 buffer of at least n ones, grown on demand and written once at creation. */
function onesVector(ctx: GpuContext, n: number): GPUBuffer {
  let ones = ONES.get(ctx);
  if (!ones || ones.size < n * 4) {
    ones = upload(ctx.device, new Float32Array(Math.max(n, 1024)).fill(1), undefined, 'ones');
    ONES.set(ctx, ones);
  }
  return ones;
}
