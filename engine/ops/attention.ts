// Causal grouped-query self-attention, flash style: the forward streams K/V tiles through
// workgroup memory with an online softmax and saves the log-sum-exp; the backward (FlashAttention-2)
// recomputes P from q, k and lse. No float atomics: dK/dV come from one pass over key blocks (each
// looping over the query rows of every head of its group), dQ from one pass over query blocks, so
// results are deterministic.
//
// Naive equivalent (attention.ref.ts), per batch b and query head h (kv head h / (nHeads / nKvHeads)):
//   S = scale * Q K^T masked (causal at offset Tk - Tq, and same segment id); P = softmax(S)
//   out = P V; lse = logsumexp(S) per row
//   D = rowsum(dOut * out); dV = P^T dOut; dP = dOut V^T; dS = P * (dP - D)
//   dQ = scale * dS K; dK = scale * dS^T Q (dK, dV summed over the query heads of a group)
import type { Binding, GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource, PipelineSpec } from '../gpu/pipelines.ts';
import { STORAGE } from '../gpu/buffers.ts';
import code from '../wgsl/attention.wgsl?raw';
import { flatGrid } from './grid.ts';
import { GpuValidationError } from '../gpu/errors.ts';

const SOURCE: KernelSource = { name: 'attention', code };
const THREADS = 64;
const MAX_HEAD_DIM = 256;
/** Register accumulator capacity per thread in the kernel, in vec4s (MAXDPT4). */
const MAX_VEC4_PER_THREAD = 8;

export interface AttentionShape {
  B: number; // batch
  Tq: number; // query rows per sequence
  /**
   * Key/value rows per sequence (Tk >= Tq). Query row i sits at absolute position Tk - Tq + i and
   * attends to key positions j <= Tk - Tq + i (causal). Tq = Tk for training; Tq < Tk for KV-cache decode.
   */
  Tk: number;
  nHeads: number; // nHeads % nKvHeads == 0; query head h uses kv head floor(h / (nHeads / nKvHeads))
  nKvHeads: number;
  headDim: number; // any size up to 256
  scale: number; // usually 1/sqrt(headDim)
}

/**
 * Where heads sit in the rows of q (and dq): rows of `stride` elements, head 0 at `offset`; and in
 * the rows of k, v (dk, dv). Default: contiguous (B, T, heads, headDim) tensors. A fused q|k|v
 * projection output (N, qd + 2 kd) is q at 0, k at qd, v at qd + kd with stride qd + 2 kd.
 */
export interface AttentionLayout {
  q?: { stride: number; offset: number };
  kv?: { stride: number; kOffset: number; vOffset: number };
}

export interface AttentionForwardArgs extends AttentionShape {
  q: Binding; // (B, Tq, nHeads, headDim) f32 — the q_proj output rows, no transpose needed
  k: Binding; // (B, Tk, nKvHeads, headDim) f32 (may be the same buffer as q, see layout)
  v: Binding; // (B, Tk, nKvHeads, headDim) f32
  layout?: AttentionLayout;
  out: Binding; // (B, Tq, nHeads, headDim) f32
  lse: Binding; // (B, nHeads, Tq) f32 log-sum-exp of the scaled scores per query row (saved for backward)
  /** Optional u32 (B, Tk): a query attends only to keys with the same segment id as its own position. */
  segments?: Binding | null;
}

export interface AttentionBackwardArgs extends AttentionForwardArgs {
  dOut: Binding; // (B, Tq, nHeads, headDim)
  dq: Binding; // (B, Tq, nHeads, headDim) in q's layout, overwritten
  dk: Binding; // (B, Tk, nKvHeads, headDim) in k's layout, overwritten (summed over the query heads of each group)
  dv: Binding; // (B, Tk, nKvHeads, headDim) in v's layout, overwritten (dq, dk, dv may share one buffer)
}

/** Tile sizes of one kernel: query rows (BQ) and key rows (BK) per tile. */
export interface AttentionTiles {
  BQ: number;
  BK: number;
}

function checkShape(s: AttentionShape): void {
  const ints = [s.B, s.Tq, s.Tk, s.nHeads, s.nKvHeads, s.headDim];
  if (!ints.every((x) => Number.isInteger(x) && x >= 1)) throw new Error(`attention: shape must be positive integers, got ${JSON.stringify(s)}`);
  if (s.Tk < s.Tq) throw new Error(`attention: Tk (${s.Tk}) must be >= Tq (${s.Tq})`);
  if (s.nHeads % s.nKvHeads !== 0) throw new Error(`attention: nHeads (${s.nHeads}) must be a multiple of nKvHeads (${s.nKvHeads})`);
  if (s.headDim > MAX_HEAD_DIM) throw new Error(`attention: headDim ${s.headDim} > ${MAX_HEAD_DIM} is not supported`);
}

/**
 * Workgroup memory for one kernel, in f32 words: WebGPU's default 16 KiB even where the device
 * allows more (bigger tiles made SwiftShader's compile 2-3x slower and cut occupancy on GPUs).
 */
function sharedWords(ctx: GpuContext): number {
  return Math.floor(Math.min(ctx.caps.maxComputeWorkgroupStorageSize, 16384) / 4);
}

function pow2AtMost(n: number): number {
  return 2 ** Math.floor(Math.log2(Math.max(1, n)));
}

const clamp = (x: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, Math.floor(x)));

/**
 * Tile sizes per kernel for a head dim and a workgroup-memory budget of `words` f32s, with tile
 * rows padded to W = 4 * ceil(headDim / 4) (whole vec4s):
 *   forward: BQ owned rows, BK streamed keys; memory (BQ + BK) * W + BQ * BK.
 *   dkdv:    BK owned keys, BQ streamed rows; memory 2 * (BQ + BK) * W + 2 * BQ * BK.
 *   dq:      BQ owned rows, BK streamed keys; same memory as dkdv.
 * The owned side is a power of two dividing 64 threads with <= 8 vec4s of head dims per thread.
 */
export function attentionTiles(headDim: number, words: number): { forward: AttentionTiles; dkdv: AttentionTiles; dq: AttentionTiles } {
  const hd4 = Math.ceil(headDim / 4);
  const w = 4 * hd4;
  const maxOwned = (THREADS * MAX_VEC4_PER_THREAD) / hd4;
  const fwdQ = pow2AtMost(Math.min(16, maxOwned, words / (2 * w)));
  const forward = { BQ: fwdQ, BK: clamp((words - fwdQ * w) / (w + fwdQ), 1, 32) };
  const owned = pow2AtMost(Math.min(16, maxOwned, words / (4 * w)));
  const streamed = clamp((words - 2 * owned * w) / (2 * w + 2 * owned), 1, 32);
  return { forward, dkdv: { BK: owned, BQ: streamed }, dq: { BQ: owned, BK: streamed } };
}

/** Where the dkdv kernel stores dv: its own binding, or dk's buffer (one fused dq|dk|dv buffer). */
const DV_SEPARATE = '@group(0) @binding(10) var<storage, read_write> dv: array<f32>;\nfn store_dv(i: u32, x: f32) { dv[i] = x; }';
const DV_IN_DK = 'fn store_dv(i: u32, x: f32) { dk[i] = x; }';

/**
 * Owned keys (dkdv) or query rows (dq) per thread in the backward's accumulation: the most (up to
 * 4) that divide the `owned` tile rows and keep KC x DPT4 accumulators within the kernel's MAXDPT4,
 * where DPT4 = ceil(hd4 / (64 KC / owned)).
 */
export function accumulationRowsPerThread(headDim: number, owned: number): number {
  const hd4 = Math.ceil(headDim / 4);
  for (const kc of [4, 2]) {
    if (owned % kc !== 0 || kc > owned) continue;
    if (kc * Math.ceil(hd4 / ((THREADS * kc) / owned)) <= MAX_VEC4_PER_THREAD) return kc;
  }
  return 1;
}

function spec(entryPoint: string, headDim: number, tiles: AttentionTiles, ownedRows: number, preamble = DV_SEPARATE): PipelineSpec {
  const lanes = THREADS / ownedRows;
  const kc = entryPoint === 'attention_backward_dkdv' || entryPoint === 'attention_backward_dq' ? accumulationRowsPerThread(headDim, ownedRows) : 1;
  const constants: Record<string, number> = { HD: headDim, BQ: tiles.BQ, BK: tiles.BK, DPT4: Math.ceil(Math.ceil(headDim / 4) / (lanes * kc)) };
  if (kc > 1) constants.KC = kc;
  // The score phases (forward_scores, backward_pairs): the owned side and streamed rows per thread.
  const keysOwned = entryPoint === 'attention_backward_dkdv';
  if (keysOwned) constants.KEYS_OWNED = 1;
  constants.NS = Math.ceil((keysOwned ? tiles.BQ : tiles.BK) / lanes);
  return { source: SOURCE, entryPoint, preamble, constants };
}

function bufferOf(b: Binding): GPUBuffer {
  return 'buffer' in b ? b.buffer : b;
}

/** The kernel's Params; tiles repeat the overrides as runtime loop bounds (see attention.wgsl). */
function params(s: AttentionShape & { layout?: AttentionLayout }, tiles: AttentionTiles, useSegments: boolean, rowStride = 0): Params {
  const q = s.layout?.q ?? { stride: s.nHeads * s.headDim, offset: 0 };
  const kv = s.layout?.kv ?? { stride: s.nKvHeads * s.headDim, kOffset: 0, vOffset: 0 };
  return new Params()
    .u32({ Tq: s.Tq, Tk: s.Tk, n_heads: s.nHeads, n_kv: s.nKvHeads, group: s.nHeads / s.nKvHeads })
    .f32({ scale: s.scale })
    .u32({ row_stride: rowStride, rows: s.B * s.Tq * s.nHeads, hd: s.headDim, hd4: Math.ceil(s.headDim / 4), bq: tiles.BQ, bk: tiles.BK, use_seg: useSegments ? 1 : 0 })
    .u32({ q_stride: q.stride, q_off: q.offset, kv_stride: kv.stride, k_off: kv.kOffset, v_off: kv.vOffset });
}

// Bound at the segments slot when there are none (the kernel never reads it then).
const dummySegments = new WeakMap<GpuContext, GPUBuffer>();
function segmentsOrDummy(ctx: GpuContext, segments: Binding | null | undefined): Binding {
  if (segments) return segments;
  let buf = dummySegments.get(ctx);
  if (!buf) {
    buf = ctx.device.createBuffer({ size: 16, usage: STORAGE, label: 'attention: no segments' });
    dummySegments.set(ctx, buf);
  }
  return buf;
}

/** out = softmax(scale * q k^T + mask) v, lse = logsumexp rows. Shapes in AttentionForwardArgs. */
export function attentionForward(ctx: GpuContext, args: AttentionForwardArgs): void {
  checkShape(args);
  const tiles = attentionTiles(args.headDim, sharedWords(ctx)).forward;
  const useSeg = !!args.segments;
  ctx.dispatch(
    spec('attention_forward', args.headDim, tiles, tiles.BQ),
    [args.q, args.k, args.v, segmentsOrDummy(ctx, args.segments), args.out, args.lse],
    params(args, tiles, useSeg),
    [Math.ceil(args.Tq / tiles.BQ), args.nHeads, args.B],
  );
}

/** dq, dk, dv of attentionForward given dOut and the forward's out and lse. Shapes in AttentionBackwardArgs. */
export function attentionBackward(ctx: GpuContext, args: AttentionBackwardArgs): void {
  checkShape(args);
  const { dkdv, dq } = attentionTiles(args.headDim, sharedWords(ctx));
  const useSeg = !!args.segments;
  const seg = segmentsOrDummy(ctx, args.segments);
  const rows = args.B * args.Tq * args.nHeads;
  // stats (B, nHeads, Tq) of (lse, D = rowsum(dOut * out)).
  const stats = ctx.pool.acquire(rows * 8);
  const grid = flatGrid(ctx, Math.ceil(rows / THREADS));
  ctx.dispatch(
    { source: SOURCE, entryPoint: 'attention_backward_delta', preamble: DV_SEPARATE, constants: { HD: args.headDim } },
    [null, null, null, null, args.out, args.lse, args.dOut, stats],
    params(args, dq, useSeg, grid.rowStride),
    grid.workgroups,
  );
  const sameBuffer = bufferOf(args.dk) === bufferOf(args.dv);
  if (sameBuffer && (('buffer' in args.dk && args.dk.offset !== 0) || ('buffer' in args.dv && args.dv.offset !== 0))) {
    throw new GpuValidationError('attention', 'dk and dv in one buffer must be bound whole (their layout gives the offsets)');
  }
  ctx.dispatch(
    spec('attention_backward_dkdv', args.headDim, dkdv, dkdv.BK, sameBuffer ? DV_IN_DK : DV_SEPARATE),
    [args.q, args.k, args.v, seg, null, null, args.dOut, stats, args.dk, sameBuffer ? null : args.dv],
    params(args, dkdv, useSeg),
    [Math.ceil(args.Tk / dkdv.BK), args.nKvHeads, args.B],
  );
  ctx.dispatch(
    spec('attention_backward_dq', args.headDim, dq, dq.BQ),
    [args.q, args.k, args.v, seg, null, null, args.dOut, stats, args.dq],
    params(args, dq, useSeg),
    [Math.ceil(args.Tq / dq.BQ), args.nHeads, args.B],
  );
  // Queue order: the next writer of this pooled buffer runs after these dispatches.
  ctx.pool.release(stats);
}
