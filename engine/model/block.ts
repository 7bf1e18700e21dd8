// One decoder layer of a Llama-family model as a fixed list of ops (llm.c style), forward and
// backward. The backward is the forward reversed; residual gradients accumulate in place.
//
//   n1 = rmsnorm(x)                      q,k,v = n1 Wq/Wk/Wv^T (+bias) (+LoRA)
//   [Qwen3: q,k = rmsnorm per head]      q,k = rope(q,k)
//   a = causal_gqa_attention(q,k,v)      xMid = x + a Wo^T (+LoRA)
//   n2 = rmsnorm(xMid)                   h = silu(n2 Wg^T) · (n2 Wu^T)  (+LoRA)
//   xOut = xMid + h Wd^T (+LoRA)
import type { GpuContext } from '../gpu/context.ts';
import { attentionBackward, attentionForward } from '../ops/attention.ts';
import { axpy } from '../ops/elementwise.ts';
import { rmsnormBackward, rmsnormForward } from '../ops/rmsnorm.ts';
import { ropeBackward, ropeForward } from '../ops/rope.ts';
import { swigluBackward, swigluForward } from '../ops/swiglu.ts';
import type { BlockDims, LayerActivations } from './activations.ts';
import { linearBackward, linearForward, type LinearGrads, type LoraRuntime } from './linear.ts';
import type { LayerWeights, ModuleName } from './weights.ts';

/** Per-sequence inputs every layer shares. */
export interface SequenceInputs {
  positions: GPUBuffer; // u32 (N): RoPE position of each token
  invFreq: GPUBuffer; // f32 (headDim/2)
  segments: GPUBuffer | null; // u32 (N): packed-row id per token, or null when rows are not packed
}

export type LayerLora = Partial<Record<ModuleName, LoraRuntime>>;

/** Base weight gradients of one layer, only for tests against PyTorch (the base is frozen in training). */
export interface LayerGrads {
  linears: Partial<Record<ModuleName, LinearGrads>>;
  inputNorm: GPUBuffer;
  postNorm: GPUBuffer;
}

export function blockForward(ctx: GpuContext, d: BlockDims, w: LayerWeights, acts: LayerActivations, seq: SequenceInputs, xOut: GPUBuffer, lora: LayerLora): void {
  const N = d.B * d.T;
  const L = w.linears;
  rmsnormForward(ctx, { x: acts.xIn, weight: w.inputNorm, y: acts.n1, rstd: acts.rstd1, rows: N, dim: d.H, eps: d.eps });
  linearForward(ctx, L.q_proj, acts.n1, acts.qPre ?? acts.q, N, lora.q_proj ?? null);
  linearForward(ctx, L.k_proj, acts.n1, acts.kPre ?? acts.k, N, lora.k_proj ?? null);
  linearForward(ctx, L.v_proj, acts.n1, acts.v, N, lora.v_proj ?? null);
  if (d.qkNorm) {
    rmsnormForward(ctx, { x: acts.qPre!, weight: w.qNorm!, y: acts.q, rstd: acts.qRstd!, rows: N * d.nHeads, dim: d.headDim, eps: d.eps });
    rmsnormForward(ctx, { x: acts.kPre!, weight: w.kNorm!, y: acts.k, rstd: acts.kRstd!, rows: N * d.nKvHeads, dim: d.headDim, eps: d.eps });
  }
  ropeForward(ctx, { x: acts.q, positions: seq.positions, invFreq: seq.invFreq, tokens: N, nHeads: d.nHeads, headDim: d.headDim });
  ropeForward(ctx, { x: acts.k, positions: seq.positions, invFreq: seq.invFreq, tokens: N, nHeads: d.nKvHeads, headDim: d.headDim });
  attentionForward(ctx, { ...attentionShape(d), q: acts.q, k: acts.k, v: acts.v, out: acts.attn, lse: acts.lse, segments: seq.segments });
  linearForward(ctx, L.o_proj, acts.attn, acts.xMid, N, lora.o_proj ?? null);
  axpy(ctx, 1, acts.xIn, acts.xMid, N * d.H);
  rmsnormForward(ctx, { x: acts.xMid, weight: w.postNorm, y: acts.n2, rstd: acts.rstd2, rows: N, dim: d.H, eps: d.eps });
  linearForward(ctx, L.gate_proj, acts.n2, acts.gate, N, lora.gate_proj ?? null);
  linearForward(ctx, L.up_proj, acts.n2, acts.up, N, lora.up_proj ?? null);
  swigluForward(ctx, { gate: acts.gate, up: acts.up, h: acts.h, n: N * d.I });
  linearForward(ctx, L.down_proj, acts.h, xOut, N, lora.down_proj ?? null);
  axpy(ctx, 1, acts.xMid, xOut, N * d.H);
}

/**
 * Backward of one layer. `dx` (N, H) holds dL/dxOut on entry and dL/dxIn on return (the residual
 * stream's gradient is updated in place). LoRA gradients accumulate into each module's dA/dB.
 */
export function blockBackward(
  ctx: GpuContext,
  d: BlockDims,
  w: LayerWeights,
  acts: LayerActivations,
  seq: SequenceInputs,
  dx: GPUBuffer,
  lora: LayerLora,
  grads: LayerGrads | null = null,
): void {
  const N = d.B * d.T;
  const L = w.linears;
  const qd = d.nHeads * d.headDim;
  const kd = d.nKvHeads * d.headDim;
  const tmp = (n: number, label: string) => ctx.pool.acquire(n * 4, undefined, label);
  const g = (m: ModuleName) => grads?.linears[m] ?? null;

  // MLP: xOut = xMid + down(silu(gate)·up)
  const dh = tmp(N * d.I, 'dh');
  linearBackward(ctx, L.down_proj, { x: acts.h, dy: dx, dx: dh, accumulateDx: false, N, lora: lora.down_proj ?? null, grads: g('down_proj') });
  const dGate = tmp(N * d.I, 'dGate');
  const dUp = tmp(N * d.I, 'dUp');
  swigluBackward(ctx, { gate: acts.gate, up: acts.up, dh, dGate, dUp, n: N * d.I });
  ctx.pool.release(dh);
  const dn = tmp(N * d.H, 'dn');
  linearBackward(ctx, L.gate_proj, { x: acts.n2, dy: dGate, dx: dn, accumulateDx: false, N, lora: lora.gate_proj ?? null, grads: g('gate_proj') });
  linearBackward(ctx, L.up_proj, { x: acts.n2, dy: dUp, dx: dn, accumulateDx: true, N, lora: lora.up_proj ?? null, grads: g('up_proj') });
  ctx.pool.release(dGate);
  ctx.pool.release(dUp);
  rmsnormBackward(ctx, { x: acts.xMid, weight: w.postNorm, rstd: acts.rstd2, dy: dn, dx, rows: N, dim: d.H, accumulate: true, dWeight: grads?.postNorm ?? null });

  // Attention: xMid = xIn + o(attn(rope(q), rope(k), v))
  const dAttn = tmp(N * qd, 'dAttn');
  linearBackward(ctx, L.o_proj, { x: acts.attn, dy: dx, dx: dAttn, accumulateDx: false, N, lora: lora.o_proj ?? null, grads: g('o_proj') });
  const dq = tmp(N * qd, 'dq');
  const dk = tmp(N * kd, 'dk');
  const dv = tmp(N * kd, 'dv');
  attentionBackward(ctx, { ...attentionShape(d), q: acts.q, k: acts.k, v: acts.v, out: acts.attn, lse: acts.lse, segments: seq.segments, dOut: dAttn, dq, dk, dv });
  ctx.pool.release(dAttn);
  ropeBackward(ctx, { x: dq, positions: seq.positions, invFreq: seq.invFreq, tokens: N, nHeads: d.nHeads, headDim: d.headDim });
  ropeBackward(ctx, { x: dk, positions: seq.positions, invFreq: seq.invFreq, tokens: N, nHeads: d.nKvHeads, headDim: d.headDim });
  let dqIn = dq;
  let dkIn = dk;
  if (d.qkNorm) {
    dqIn = tmp(N * qd, 'dqPre');
    dkIn = tmp(N * kd, 'dkPre');
    rmsnormBackward(ctx, { x: acts.qPre!, weight: w.qNorm!, rstd: acts.qRstd!, dy: dq, dx: dqIn, rows: N * d.nHeads, dim: d.headDim });
    rmsnormBackward(ctx, { x: acts.kPre!, weight: w.kNorm!, rstd: acts.kRstd!, dy: dk, dx: dkIn, rows: N * d.nKvHeads, dim: d.headDim });
    ctx.pool.release(dq);
    ctx.pool.release(dk);
  }
  linearBackward(ctx, L.q_proj, { x: acts.n1, dy: dqIn, dx: dn, accumulateDx: false, N, lora: lora.q_proj ?? null, grads: g('q_proj') });
  linearBackward(ctx, L.k_proj, { x: acts.n1, dy: dkIn, dx: dn, accumulateDx: true, N, lora: lora.k_proj ?? null, grads: g('k_proj') });
  linearBackward(ctx, L.v_proj, { x: acts.n1, dy: dv, dx: dn, accumulateDx: true, N, lora: lora.v_proj ?? null, grads: g('v_proj') });
  ctx.pool.release(dqIn);
  ctx.pool.release(dkIn);
  ctx.pool.release(dv);
  rmsnormBackward(ctx, { x: acts.xIn, weight: w.inputNorm, rstd: acts.rstd1, dy: dn, dx, rows: N, dim: d.H, accumulate: true, dWeight: grads?.inputNorm ?? null });
  ctx.pool.release(dn);
}

function attentionShape(d: BlockDims) {
  return { B: d.B, Tq: d.T, Tk: d.T, nHeads: d.nHeads, nKvHeads: d.nKvHeads, headDim: d.headDim, scale: 1 / Math.sqrt(d.headDim) };
}
