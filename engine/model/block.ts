// One decoder layer of a Llama-family model as a fixed list of ops (llm.c style), forward and
// backward, for training, evaluation and generation alike (DESIGN.md example 11). The backward is
// the forward reversed; residual gradients accumulate in place.
//
//   n1 = rmsnorm(x)                      q|k|v = n1 [Wq;Wk;Wv]^T (+bias) (+LoRA)     one GEMM
//   [Qwen3: q,k = rmsnorm per head]      q,k = rope(q,k) [+ k,v -> KV cache]          one dispatch
//   a = causal_gqa_attention(q,k,v)      xMid = x + a Wo^T (+LoRA)                    residual in the epilogue
//   n2 = rmsnorm(xMid)                   gate|up = n2 [Wg;Wu]^T (+LoRA)               one GEMM, split output
//   h = silu(gate) · up                  xOut = xMid + h Wd^T (+LoRA)                 residual in the epilogue
// Each linear group's LoRA (t = drop(x) A^T, then + s t B^T inside the base GEMM) is in model/linear.ts.
// Dispatches per layer with LoRA on every module: 13 forward, 23 backward (npm run bench:
// training.sft.dispatches_per_layer counts them, optimizer excluded).
//
// With a KV-cache sink (generation, B = 1): RoPE also writes this step's k and v rows at the cache
// position, and attention reads every cached row: Tq = new tokens, Tk = position + Tq.
import type { GpuContext } from '../gpu/context.ts';
import { attentionBackward, attentionForward, type AttentionLayout } from '../ops/attention.ts';
import { rmsnormBackward, rmsnormForward } from '../ops/rmsnorm.ts';
import { ropeQKBackward, ropeQKForward } from '../ops/rope.ts';
import { swigluBackward, swigluForward } from '../ops/swiglu.ts';
import { qkvLayout, type BlockDims, type LayerActivations } from './activations.ts';
import { groupBackward, groupForward, groupLora, type GroupLora, type LinearGrads, type LoraRuntime } from './linear.ts';
import { GROUP_NAMES, type GroupName, type LayerWeights, type ModuleName } from './weights.ts';

/** Per-sequence inputs every layer shares. */
export interface SequenceInputs {
  positions: GPUBuffer; // u32 (N): RoPE position of each token
  invFreq: GPUBuffer; // f32 (headDim/2)
  segments: GPUBuffer | null; // u32 (N): packed-row id per token, or null when rows are not packed
}

export type LayerLora = Partial<Record<ModuleName, LoraRuntime>>;

/** Base weight gradients of one layer, only for tests against PyTorch (the base is frozen in training). */
export interface LayerGrads {
  groups: Partial<Record<GroupName, LinearGrads>>;
  inputNorm: GPUBuffer;
  postNorm: GPUBuffer;
}

/** What the forward keeps for the backward besides the activations: each group's t = drop(x) A^T. */
export type LayerSaved = Partial<Record<GroupName, GPUBuffer>>;

/** Generation's KV cache for this layer: rows [0, position) are filled; this call appends T rows. */
export interface KvSink {
  k: GPUBuffer; // (maxT, nKv·hd)
  v: GPUBuffer;
  position: number;
}

function loras(w: LayerWeights, lora: LayerLora): Record<GroupName, GroupLora | null> {
  const out = {} as Record<GroupName, GroupLora | null>;
  for (const g of GROUP_NAMES) out[g] = groupLora(w.groups[g], lora);
  return out;
}

/**
 * Forward of one layer: xOut (N, H) from acts.xIn. Returns the t buffers of its LoRA groups (pool
 * buffers: release them with releaseSaved after the backward, or at once when not training).
 */
export function blockForward(ctx: GpuContext, d: BlockDims, w: LayerWeights, acts: LayerActivations, seq: SequenceInputs, xOut: GPUBuffer, lora: LayerLora, sink: KvSink | null = null): LayerSaved {
  const N = d.B * d.T;
  const G = w.groups;
  const L = loras(w, lora);
  const saved: LayerSaved = {};
  const t = (g: GroupName) => {
    const l = L[g];
    if (!l) return null;
    saved[g] = ctx.pool.acquire(N * l.S * l.r * 4, undefined, `lora t ${g}`);
    return saved[g];
  };
  const qkv = qkvLayout(d);
  rmsnormForward(ctx, { x: acts.xIn, weight: w.inputNorm, y: acts.n1, rstd: acts.rstd1, rows: N, dim: d.H, eps: d.eps });
  groupForward(ctx, G.qkv, { x: acts.n1, out: { data: acts.qkvPre ?? acts.qkv }, N, lora: L.qkv, t: t('qkv') });
  if (d.qkNorm) {
    // q, k = rmsnorm per head, qkvPre -> qkv; v stays in qkvPre (attention reads it there), except
    // for the cache sink, which reads v from the rows it rotates.
    if (sink) ctx.copy(acts.qkvPre!, 0, acts.qkv, 0, N * qkv.width * 4);
    const heads = (n: number, offset: number) => ({ rows: n, stride: qkv.width, offset });
    rmsnormForward(ctx, { x: acts.qkvPre!, weight: w.qNorm!, y: acts.qkv, rstd: acts.qRstd!, rows: N * d.nHeads, dim: d.headDim, eps: d.eps, layout: heads(d.nHeads, 0) });
    rmsnormForward(ctx, { x: acts.qkvPre!, weight: w.kNorm!, y: acts.qkv, rstd: acts.kRstd!, rows: N * d.nKvHeads, dim: d.headDim, eps: d.eps, layout: heads(d.nKvHeads, qkv.k) });
  }
  const vSource = acts.qkvPre ?? acts.qkv;
  const rope = { positions: seq.positions, invFreq: seq.invFreq, tokens: N, nHeads: d.nHeads, nKvHeads: d.nKvHeads, headDim: d.headDim, stride: qkv.width, qOffset: 0, kOffset: qkv.k };
  if (sink) {
    ropeQKForward(ctx, { ...rope, x: acts.qkv, cache: { k: sink.k, v: sink.v, vOffset: qkv.v, position: sink.position } });
    const kd = d.nKvHeads * d.headDim;
    attentionForward(ctx, {
      ...attentionShape(d),
      Tk: sink.position + d.T,
      q: acts.qkv,
      k: sink.k,
      v: sink.v,
      layout: { q: { stride: qkv.width, offset: 0 }, kv: { stride: kd, kOffset: 0, vOffset: 0 } },
      out: acts.attn,
      lse: acts.lse,
    });
  } else {
    ropeQKForward(ctx, { ...rope, x: acts.qkv });
    attentionForward(ctx, { ...attentionShape(d), q: acts.qkv, k: acts.qkv, v: vSource, layout: fusedLayout(d), out: acts.attn, lse: acts.lse, segments: seq.segments });
  }
  groupForward(ctx, G.o, { x: acts.attn, out: { data: acts.xMid, mode: 'residual', residual: acts.xIn }, N, lora: L.o, t: t('o') });
  rmsnormForward(ctx, { x: acts.xMid, weight: w.postNorm, y: acts.n2, rstd: acts.rstd2, rows: N, dim: d.H, eps: d.eps });
  groupForward(ctx, G.gateUp, { x: acts.n2, out: { data: acts.gate, hi: acts.up, kind: 'split2' }, split: d.I, N, lora: L.gateUp, t: t('gateUp') });
  swigluForward(ctx, { gate: acts.gate, up: acts.up, h: acts.h, n: N * d.I });
  groupForward(ctx, G.down, { x: acts.h, out: { data: xOut, mode: 'residual', residual: acts.xMid }, N, lora: L.down, t: t('down') });
  return saved;
}

/** Returns a forward's t buffers to the pool (queue order keeps recorded users safe). */
export function releaseSaved(ctx: GpuContext, saved: LayerSaved): void {
  for (const b of Object.values(saved)) if (b) ctx.pool.release(b);
}

/**
 * Backward of one layer. `dx` (N, H) holds dL/dxOut on entry and dL/dxIn on return (the residual
 * stream's gradient is updated in place). LoRA gradients accumulate into the adapter's grads.
 */
export function blockBackward(
  ctx: GpuContext,
  d: BlockDims,
  w: LayerWeights,
  acts: LayerActivations,
  seq: SequenceInputs,
  dx: GPUBuffer,
  lora: LayerLora,
  saved: LayerSaved,
  grads: LayerGrads | null = null,
): void {
  const N = d.B * d.T;
  const G = w.groups;
  const L = loras(w, lora);
  const qkv = qkvLayout(d);
  const tmp = (n: number, label: string) => ctx.pool.acquire(n * 4, undefined, label);
  const g = (name: GroupName) => grads?.groups[name] ?? null;

  // MLP: xOut = xMid + down(silu(gate)·up)
  const dh = tmp(N * d.I, 'dh');
  groupBackward(ctx, G.down, { x: acts.h, dy: { data: dx }, dx: dh, accumulateDx: false, N, lora: L.down, t: saved.down ?? null, grads: g('down') });
  const dGate = tmp(N * d.I, 'dGate');
  const dUp = tmp(N * d.I, 'dUp');
  swigluBackward(ctx, { gate: acts.gate, up: acts.up, dh, dGate, dUp, n: N * d.I });
  ctx.pool.release(dh);
  const dn = tmp(N * d.H, 'dn');
  const dGateUp = { data: dGate, hi: dUp, kind: 'split2' as const, ld: 2 * d.I };
  groupBackward(ctx, G.gateUp, { x: acts.n2, dy: dGateUp, split: d.I, dx: dn, accumulateDx: false, N, lora: L.gateUp, t: saved.gateUp ?? null, grads: g('gateUp') });
  ctx.pool.release(dGate);
  ctx.pool.release(dUp);
  rmsnormBackward(ctx, { x: acts.xMid, weight: w.postNorm, rstd: acts.rstd2, dy: dn, dx, rows: N, dim: d.H, accumulate: true, dWeight: grads?.postNorm ?? null });

  // Attention: xMid = xIn + o(attn(rope(q), rope(k), v))
  const dAttn = tmp(N * d.nHeads * d.headDim, 'dAttn');
  groupBackward(ctx, G.o, { x: acts.attn, dy: { data: dx }, dx: dAttn, accumulateDx: false, N, lora: L.o, t: saved.o ?? null, grads: g('o') });
  // dq|dk|dv in q|k|v's layout; with q/k norm, dv goes straight to the pre-norm gradient.
  const dQkv = tmp(N * qkv.width, 'dQkv');
  const dQkvPre = d.qkNorm ? tmp(N * qkv.width, 'dQkvPre') : dQkv;
  const vSource = acts.qkvPre ?? acts.qkv;
  attentionBackward(ctx, {
    ...attentionShape(d),
    q: acts.qkv,
    k: acts.qkv,
    v: vSource,
    layout: fusedLayout(d),
    out: acts.attn,
    lse: acts.lse,
    segments: seq.segments,
    dOut: dAttn,
    dq: dQkv,
    dk: dQkv,
    dv: dQkvPre,
  });
  ctx.pool.release(dAttn);
  ropeQKBackward(ctx, { x: dQkv, positions: seq.positions, invFreq: seq.invFreq, tokens: N, nHeads: d.nHeads, nKvHeads: d.nKvHeads, headDim: d.headDim, stride: qkv.width, qOffset: 0, kOffset: qkv.k });
  if (d.qkNorm) {
    const heads = (n: number, offset: number) => ({ rows: n, stride: qkv.width, offset });
    rmsnormBackward(ctx, { x: acts.qkvPre!, weight: w.qNorm!, rstd: acts.qRstd!, dy: dQkv, dx: dQkvPre, rows: N * d.nHeads, dim: d.headDim, layout: heads(d.nHeads, 0) });
    rmsnormBackward(ctx, { x: acts.qkvPre!, weight: w.kNorm!, rstd: acts.kRstd!, dy: dQkv, dx: dQkvPre, rows: N * d.nKvHeads, dim: d.headDim, layout: heads(d.nKvHeads, qkv.k) });
  }
  groupBackward(ctx, G.qkv, { x: acts.n1, dy: { data: dQkvPre }, dx: dn, accumulateDx: false, N, lora: L.qkv, t: saved.qkv ?? null, grads: g('qkv') });
  ctx.pool.release(dQkv);
  if (dQkvPre !== dQkv) ctx.pool.release(dQkvPre);
  rmsnormBackward(ctx, { x: acts.xIn, weight: w.inputNorm, rstd: acts.rstd1, dy: dn, dx, rows: N, dim: d.H, accumulate: true, dWeight: grads?.inputNorm ?? null });
  ctx.pool.release(dn);
}

function attentionShape(d: BlockDims) {
  return { B: d.B, Tq: d.T, Tk: d.T, nHeads: d.nHeads, nKvHeads: d.nKvHeads, headDim: d.headDim, scale: 1 / Math.sqrt(d.headDim) };
}

/** q, k, v as the columns of the fused q|k|v rows. */
function fusedLayout(d: BlockDims): AttentionLayout {
  const l = qkvLayout(d);
  return { q: { stride: l.width, offset: 0 }, kv: { stride: l.width, kOffset: l.k, vOffset: l.v } };
}
