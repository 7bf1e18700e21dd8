// nn.Linear with an optional LoRA branch, forward and backward, as explicit matmuls:
//   forward   y  = x W^T + b + s · (drop(x) A^T) B^T
//   backward  dx = dy W + drop'( s · (dy B) A )      (dx overwritten or accumulated)
//             dB += s · dy^T t,  t = drop(x) A^T     (t recomputed: N·in·r flops, cheaper than storing)
//             dA += (s · dy B)^T drop(x)
//             dW += dy^T x, db += colsum(dy)         (only when base weight gradients are asked for)
// Shapes: x (N, in), y/dy (N, out), W (out, in), A (r, in), B (out, r).
import { upload } from '../gpu/buffers.ts';
import type { Binding, GpuContext } from '../gpu/context.ts';
import { axpy } from '../ops/elementwise.ts';
import { dropoutBackward, dropoutForward } from '../ops/dropout.ts';
import { matmul } from '../ops/matmul.ts';
import type { LoraModule } from './loraTypes.ts';
import type { Linear } from './weights.ts';

export interface LoraRuntime {
  module: LoraModule;
  /** lora_dropout probability (0 at eval time). */
  dropout: number;
  /** Seed of this module's dropout mask for this micro-batch (the backward regenerates the same mask). */
  seed: number;
}

export interface LinearGrads {
  dW: GPUBuffer; // (out, in) f32, accumulated
  dBias: GPUBuffer | null; // (out) f32, accumulated
}

export function linearForward(ctx: GpuContext, lin: Linear, x: Binding, y: Binding, N: number, lora: LoraRuntime | null): void {
  matmul(ctx, { a: x, b: lin.weight, out: y, bias: lin.bias, M: N, N: lin.outFeatures, K: lin.inFeatures, transB: true, bType: lin.dtype });
  if (!lora) return;
  const { module: m } = lora;
  const t = ctx.pool.acquire(N * m.r * 4, undefined, 'lora t');
  const xd = droppedInput(ctx, x, N * m.inFeatures, lora);
  matmul(ctx, { a: xd ?? x, b: m.A, out: t, M: N, N: m.r, K: m.inFeatures, transB: true });
  matmul(ctx, { a: t, b: m.B, out: y, M: N, N: m.outFeatures, K: m.r, transB: true, alpha: m.scale, accumulate: true });
  ctx.pool.release(t);
  if (xd) ctx.pool.release(xd);
}

export interface LinearBackwardArgs {
  x: Binding; // the forward input (N, in)
  dy: Binding; // (N, out)
  dx: Binding | null; // (N, in); null when the input needs no gradient
  accumulateDx: boolean;
  N: number;
  lora: LoraRuntime | null;
  grads?: LinearGrads | null;
}

export function linearBackward(ctx: GpuContext, lin: Linear, a: LinearBackwardArgs): void {
  const { N } = a;
  if (a.dx) {
    matmul(ctx, { a: a.dy, b: lin.weight, out: a.dx, M: N, N: lin.inFeatures, K: lin.outFeatures, bType: lin.dtype, accumulate: a.accumulateDx });
  }
  if (a.grads) {
    matmul(ctx, { a: a.dy, b: a.x, out: a.grads.dW, M: lin.outFeatures, N: lin.inFeatures, K: N, transA: true, accumulate: true });
    if (a.grads.dBias) columnSum(ctx, a.dy, a.grads.dBias, N, lin.outFeatures);
  }
  if (!a.lora) return;
  const { module: m } = a.lora;
  const xd = droppedInput(ctx, a.x, N * m.inFeatures, a.lora);
  const xin = xd ?? a.x;
  // t = drop(x) A^T (N, r); dB += s · dy^T t
  const t = ctx.pool.acquire(N * m.r * 4, undefined, 'lora t');
  matmul(ctx, { a: xin, b: m.A, out: t, M: N, N: m.r, K: m.inFeatures, transB: true });
  matmul(ctx, { a: a.dy, b: t, out: m.dB, M: m.outFeatures, N: m.r, K: N, transA: true, alpha: m.scale, accumulate: true });
  // g = s · dy B (N, r); dA += g^T drop(x)
  matmul(ctx, { a: a.dy, b: m.B, out: t, M: N, N: m.r, K: m.outFeatures, alpha: m.scale });
  matmul(ctx, { a: t, b: xin, out: m.dA, M: m.r, N: m.inFeatures, K: N, transA: true, accumulate: true });
  if (a.dx) {
    if (a.lora.dropout > 0) {
      // dx += drop'(g A): the dropout mask applies to the input gradient of the LoRA branch only.
      const n = N * m.inFeatures;
      const tmp = ctx.pool.acquire(n * 4, undefined, 'lora dx');
      matmul(ctx, { a: t, b: m.A, out: tmp, M: N, N: m.inFeatures, K: m.r });
      dropoutBackward(ctx, { dy: tmp, dx: tmp, n, p: a.lora.dropout, seed: a.lora.seed });
      axpy(ctx, 1, tmp, a.dx as GPUBuffer, n);
      ctx.pool.release(tmp);
    } else {
      matmul(ctx, { a: t, b: m.A, out: a.dx, M: N, N: m.inFeatures, K: m.r, accumulate: true });
    }
  }
  ctx.pool.release(t);
  if (xd) ctx.pool.release(xd);
}

function droppedInput(ctx: GpuContext, x: Binding, n: number, lora: LoraRuntime): GPUBuffer | null {
  if (!(lora.dropout > 0)) return null;
  const xd = ctx.pool.acquire(n * 4, undefined, 'lora dropout');
  dropoutForward(ctx, { x, y: xd, n, p: lora.dropout, seed: lora.seed });
  return xd;
}

/** dBias (out) += sum over rows of dy (N, out): a matmul with a ones vector keeps it one kernel. */
function columnSum(ctx: GpuContext, dy: Binding, dBias: GPUBuffer, N: number, out: number): void {
  matmul(ctx, { a: onesVector(ctx, N), b: dy, out: dBias, M: 1, N: out, K: N, accumulate: true });
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
