// Cross-entropy over the vocabulary fused with the LM-head matmul, in vocabulary chunks so the
// full (N, V) f32 logits are never held at once (Qwen2.5: 151936 columns per token).
//   hidden is (N, H) f32, W is (V, H) (f32 or packed f16 / bf16; tied models pass the embedding), labels (N) i32
//   naive equivalent (crossEntropy.ref.ts):
//     logits = hidden @ W^T                                  (N, V)
//     lse[i] = logsumexp_v logits[i, v]
//     lossPerToken[i] = lse[i] - logits[i, labels[i]]        (0 where labels[i] == -100)
//     dHidden = ((softmax(logits) - onehot(labels)) * dLoss[:, None]) @ W
//             = dLoss[:, None] * (E - W[labels])      E = softmax(logits) @ W  (N, H)
// Forward, per chunk of Vc vocabulary rows: logits_c = hidden @ W_c^T (matmul), then one kernel
// folds it into a running (max, sum exp) per row and picks the label logit. A training forward
// (softmaxWeight given) also turns logits_c into the running softmax P_c in place and adds
// P_c @ W_c into E (renormalising what earlier chunks put there: an online softmax), that product
// split over K into partial sums where its tiles alone would leave a GPU idle (tall K: few tokens,
// K = Vc). The backward is then one elementwise pass, dHidden = dLoss * (E - W[label]) in place
// over E: no logits recomputed, two LM-head products per step instead of three.
// The weight arrives as binding-sized row chunks (lmHeadChunks); each is further cut into blocks
// of Vc rows sized by the scratch budget (logitsChunkRows). Kernels: wgsl/crossEntropy.wgsl,
// wgsl/crossEntropyBackward.wgsl.
import type { Binding, GpuContext } from '../gpu/context.ts';
import { GpuValidationError } from '../gpu/errors.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/crossEntropy.wgsl?raw';
import backwardCode from '../wgsl/crossEntropyBackward.wgsl?raw';
import { flatGrid } from './grid.ts';
import { matmul, matmulTile } from './matmul.ts';
import { elementBytes, operandWgsl, type StorageKind } from './operands.ts';

export { maskedTokenMean, maskedTokenMeanBackward, sequenceLogprobSums, sequenceLogprobSumsBackward } from './lossReduce.ts';

const SOURCE: KernelSource = { name: 'crossEntropy', code };
const BACKWARD: KernelSource = { name: 'crossEntropyBackward', code: backwardCode };
const NAN_BITS = 0x7fc00000;

/** Scratch logits (N x Vc f32) allowed by default: 64 MiB (also capped by the binding limit). */
export const DEFAULT_LOGITS_BUDGET_BYTES = 64 * 1024 * 1024;

/** Rows [rowStart, rowStart + rows) of the LM head (V, H); `weight` binds exactly those rows. */
export interface LmHeadChunk {
  weight: Binding;
  rowStart: number;
  rows: number;
}

export interface LmHeadArgs {
  hidden: Binding; // (N, H) f32, final-norm output
  chunks: LmHeadChunk[]; // the LM head (V, H) in row chunks (each within the binding limit)
  weightType?: StorageKind;
  N: number;
  H: number;
  V: number;
  labels: Binding; // i32 (N): target token id per row, -100 = ignored
  /** Bytes allowed for the scratch logits (N x Vc f32); DEFAULT_LOGITS_BUDGET_BYTES when omitted. */
  logitsBudgetBytes?: number;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Smallest row count whose byte size (rows x H x element bytes) is a multiple of 256. */
export function weightRowAlign(H: number, dtype: StorageKind): number {
  const rowBytes = H * elementBytes(dtype);
  return 256 / gcd(256, rowBytes);
}

/**
 * Vocabulary rows per scratch logits block (N x Vc f32) within `budgetBytes` and the binding and
 * buffer limits, a multiple of `rowAlign` (so weight sub-bindings stay 256-byte aligned), at
 * least `rowAlign`, at most `maxRows` when given.
 */
export function logitsChunkRows(ctx: GpuContext, N: number, budgetBytes = DEFAULT_LOGITS_BUDGET_BYTES, rowAlign = 1, maxRows = Infinity): number {
  const bytes = Math.min(budgetBytes, ctx.caps.maxStorageBufferBindingSize, ctx.caps.maxBufferSize);
  let rows = Math.min(Math.floor(bytes / (Math.max(N, 1) * 4)), maxRows);
  rows = Math.floor(rows / rowAlign) * rowAlign;
  return Math.max(rows, rowAlign);
}

/**
 * Splits a (V, H) weight buffer into row chunks that each fit one storage binding, at 256-byte
 * aligned offsets. `maxBindingBytes` defaults to the device's limit (tests pass less).
 */
export function lmHeadChunks(weight: GPUBuffer, V: number, H: number, dtype: StorageKind, ctx: GpuContext, maxBindingBytes = ctx.caps.maxStorageBufferBindingSize): LmHeadChunk[] {
  const rowBytes = H * elementBytes(dtype);
  const align = weightRowAlign(H, dtype);
  const perChunk = Math.floor(Math.floor(maxBindingBytes / rowBytes) / align) * align;
  if (perChunk <= 0) throw new GpuValidationError('lmHeadChunks', `a binding of ${maxBindingBytes} bytes cannot hold ${align} aligned rows of ${rowBytes} bytes`);
  if (weight.size < V * rowBytes) throw new GpuValidationError('lmHeadChunks', `weight buffer of ${weight.size} bytes is smaller than (${V}, ${H}) ${dtype}`);
  const chunks: LmHeadChunk[] = [];
  for (let rowStart = 0; rowStart < V; rowStart += perChunk) {
    const rows = Math.min(perChunk, V - rowStart);
    chunks.push({ weight: slice(weight, rowStart * rowBytes, rows * rowBytes), rowStart, rows });
  }
  return chunks;
}

/** A slice of `buffer`, its size rounded up to 4 bytes (storage bindings need it; 16-bit rows may be odd). */
function slice(buffer: GPUBuffer, offset: number, size: number): Binding {
  return { buffer, offset, size: Math.min(Math.ceil(size / 4) * 4, buffer.size - offset) };
}

/** Rows [r, r + rows) of a chunk's weight binding, each row `rowBytes` long. */
function subRows(weight: Binding, r: number, rows: number, rowBytes: number, total: number): Binding {
  if (r === 0 && rows === total) return weight;
  const buffer = 'buffer' in weight ? weight.buffer : weight;
  const base = 'buffer' in weight ? weight.offset : 0;
  return slice(buffer, base + r * rowBytes, rows * rowBytes);
}

interface Block {
  weight: Binding; // (rows, H)
  colStart: number; // vocabulary index of its first row
  rows: number;
}

/** The weight as blocks of at most Vc rows, in vocabulary order; checks the chunks tile [0, V). */
function blocks(ctx: GpuContext, args: LmHeadArgs): { list: Block[]; maxRows: number } {
  const dtype = args.weightType ?? 'f32';
  const rowBytes = args.H * elementBytes(dtype);
  const sorted = [...args.chunks].sort((a, b) => a.rowStart - b.rowStart);
  let next = 0;
  for (const c of sorted) {
    if (c.rowStart !== next || c.rows <= 0) throw new GpuValidationError('lmHeadCrossEntropy', `weight chunks must tile rows [0, ${args.V}) (gap or overlap at row ${next})`);
    next += c.rows;
  }
  if (next !== args.V) throw new GpuValidationError('lmHeadCrossEntropy', `weight chunks cover ${next} rows, the vocabulary has ${args.V}`);
  const largest = Math.max(...sorted.map((c) => c.rows));
  const Vc = logitsChunkRows(ctx, args.N, args.logitsBudgetBytes, weightRowAlign(args.H, dtype), largest);
  const list: Block[] = [];
  for (const c of sorted) {
    for (let r = 0; r < c.rows; r += Vc) {
      const rows = Math.min(Vc, c.rows - r);
      list.push({ weight: subRows(c.weight, r, rows, rowBytes, c.rows), colStart: c.rowStart + r, rows });
    }
  }
  return { list, maxRows: Math.min(Vc, largest) };
}

/** logits_c (N, rows) = hidden (N, H) @ W_c^T, W_c (rows, H). */
function logitsBlock(ctx: GpuContext, args: LmHeadArgs, block: Block, scratch: Binding): void {
  matmul(ctx, { a: args.hidden, b: block.weight, out: scratch, M: args.N, N: block.rows, K: args.H, transB: true, aType: 'f32', bType: args.weightType ?? 'f32' });
}

function scratchSlice(ctx: GpuContext, bytes: number): { buffer: GPUBuffer; offset: number; size: number } {
  return { buffer: ctx.pool.acquire(bytes), offset: 0, size: bytes };
}

/** Workgroups the split product aims at on a GPU (a few per compute unit of a large card). */
const SPLIT_TARGET_WORKGROUPS = 512;
/** Fewest vocabulary rows per K slice (each slice's partial sum costs an N x H write and read). */
const SPLIT_MIN_K = 256;

/**
 * K slices for E += P_c (N, Vc) @ W_c (Vc, H): 1 where the output tiles alone fill the device
 * (many tokens) and on CPU adapters (a few cores: splitting measured no faster on lavapipe);
 * else enough slices for ~SPLIT_TARGET_WORKGROUPS workgroups, each of >= SPLIT_MIN_K rows, their
 * partial sums (slices x N x H f32) within a quarter of the logits scratch.
 */
export function softmaxWeightSplits(ctx: GpuContext, N: number, H: number, Vc: number): number {
  if (ctx.caps.isCpu) return 1;
  const t = matmulTile(N);
  const tiles = Math.ceil(H / (4 * t.WG_X)) * Math.ceil(N / (t.WG_Y * t.RM));
  const byMemory = Math.floor((N * Vc) / 4 / (N * H));
  return Math.max(1, Math.min(Math.ceil(SPLIT_TARGET_WORKGROUPS / tiles), Math.floor(Vc / SPLIT_MIN_K), byMemory));
}

/** Rows of W per K slice for `splits` slices of up to `maxRows` rows (a multiple of 4: aligned vec4 loads). */
function sliceRows(maxRows: number, splits: number): number {
  return Math.ceil(Math.ceil(maxRows / splits) / 4) * 4;
}

/**
 * GPU scratch bytes of a training forward's LM head at N tokens: the logits block (N x Vc f32)
 * and, where the softmax-weighted product is split over K, its partial sums (<= a quarter of it).
 * For memory plans; `weightRowAlign` and the binding limit as the launcher applies them.
 */
export function lmHeadScratchBytes(ctx: GpuContext, N: number, H: number, V: number, weightType: StorageKind = 'f32', budgetBytes = DEFAULT_LOGITS_BUDGET_BYTES): number {
  const Vc = Math.min(V, logitsChunkRows(ctx, N, budgetBytes, weightRowAlign(H, weightType), V));
  const Ks = sliceRows(Vc, softmaxWeightSplits(ctx, N, H, Vc));
  const slices = Math.ceil(Vc / Ks);
  return N * Vc * 4 + (slices > 1 ? slices * N * H * 4 : 0);
}

interface SoftmaxWeightPass {
  E: Binding; // (N, H) f32
  state: Binding; // (N) vec4 (m, s, z, rescale) after this block's ce_forward_chunk
  parts: Binding | null; // (slices, N, H) f32 partial sums; null: one block in one slice
  Ks: number; // rows per K slice
}

/** E (N, H) = E * rescale + P_c @ W_c, P_c the block's logits scratch turned into probabilities. */
function softmaxWeightBlock(ctx: GpuContext, args: LmHeadArgs, block: Block, probs: Binding, pass: SoftmaxWeightPass, first: boolean): void {
  const { N, H } = args;
  const K = block.rows;
  const bType = args.weightType ?? 'f32';
  if (first && (!pass.parts || pass.Ks >= K)) {
    matmul(ctx, { a: probs, b: block.weight, out: pass.E, M: N, N: H, K, aType: 'f32', bType });
    return;
  }
  const parts = pass.parts!;
  const Ks = Math.min(pass.Ks, K);
  const full = Math.floor(K / Ks);
  const rem = K - full * Ks;
  // Slice z: columns [z Ks, (z + 1) Ks) of P_c (N, K) times those rows of W_c, into partial z.
  matmul(ctx, { a: { data: probs, ld: K, batchStride: Ks }, b: { data: block.weight, kind: bType, batchStride: Ks * H }, out: { data: parts, batchStride: N * H }, M: N, N: H, K: Ks, batch: full });
  if (rem > 0) {
    matmul(ctx, { a: { data: probs, offset: full * Ks, ld: K }, b: { data: block.weight, kind: bType, offset: full * Ks * H }, out: { data: parts, offset: full * N * H }, M: N, N: H, K: rem });
  }
  const grid = flatGrid(ctx, Math.ceil((N * H) / 256));
  const params = new Params().u32({ rows: N, cols: 0, col_start: 0, first: first ? 1 : 0, row_stride: grid.rowStride, nan_bits: NAN_BITS, probs: 0, width: H, parts: full + (rem > 0 ? 1 : 0) });
  ctx.dispatch({ source: SOURCE, entryPoint: 'ce_softmax_weight_reduce' }, [parts, null, pass.state, null, null, null, null, pass.E], params, grid.workgroups);
}

/**
 * lossPerToken (N) f32 = lse[i] - logit_i[label_i] (0 where ignored, NaN for a label outside
 * [0, V)); lse (N) f32 = logsumexp_v logit_i[v]. With softmaxWeight (a training forward), also
 * softmaxWeight (N, H) f32 = softmax(logits) @ W, what lmHeadCrossEntropyBackward needs.
 * `splitK` overrides the K slices of that product (tests; default softmaxWeightSplits).
 */
export function lmHeadCrossEntropyForward(ctx: GpuContext, args: LmHeadArgs & { lossPerToken: Binding; lse: Binding; softmaxWeight?: Binding; splitK?: number }): void {
  const { N, V, H } = args;
  if (N === 0) return;
  const { list, maxRows } = blocks(ctx, args);
  const scratch = scratchSlice(ctx, N * maxRows * 4); // (N, Vc) f32
  const state = scratchSlice(ctx, N * 16); // (N) of (max, sum exp, label logit, rescale)
  const rowGrid = flatGrid(ctx, N);
  let pass: SoftmaxWeightPass | null = null;
  if (args.softmaxWeight) {
    const splits = args.splitK ?? softmaxWeightSplits(ctx, N, H, maxRows);
    const Ks = sliceRows(maxRows, splits);
    const slices = Math.ceil(maxRows / Ks);
    pass = { E: args.softmaxWeight, state, parts: slices > 1 || list.length > 1 ? scratchSlice(ctx, slices * N * H * 4) : null, Ks };
  }
  list.forEach((block, k) => {
    const logits = { ...scratch, size: N * block.rows * 4 };
    logitsBlock(ctx, args, block, logits);
    const params = new Params().u32({ rows: N, cols: block.rows, col_start: block.colStart, first: k === 0 ? 1 : 0, row_stride: rowGrid.rowStride, nan_bits: NAN_BITS, probs: pass ? 1 : 0, width: 0, parts: 0 });
    ctx.dispatch({ source: SOURCE, entryPoint: 'ce_forward_chunk' }, [logits, args.labels, state], params, rowGrid.workgroups);
    if (pass) softmaxWeightBlock(ctx, args, block, logits, pass, k === 0);
  });
  const grid = flatGrid(ctx, Math.ceil(N / 256));
  const params = new Params().u32({ rows: N, cols: V, col_start: 0, first: 0, row_stride: grid.rowStride, nan_bits: NAN_BITS, probs: 0, width: 0, parts: 0 });
  ctx.dispatch({ source: SOURCE, entryPoint: 'ce_forward_finalize' }, [null, args.labels, state, null, null, args.lse, args.lossPerToken], params, grid.workgroups);
  ctx.pool.release(scratch.buffer);
  ctx.pool.release(state.buffer);
  if (pass?.parts) ctx.pool.release((pass.parts as { buffer: GPUBuffer }).buffer);
}

/**
 * The backward, in place: softmaxWeight (N, H) f32 holds E from the training forward on entry and
 * dHidden = sum_v (softmax_iv - [v == label_i]) * dLoss_i * W[v, :] = dLoss_i * (E_i - W[label_i])
 * on return (0 for ignored rows whatever dLoss says). dLoss (N) f32 is the upstream gradient per
 * token (e.g. 1/count for the token mean, per-token coefficients for DPO). One dispatch per chunk.
 */
export function lmHeadCrossEntropyBackward(ctx: GpuContext, args: Omit<LmHeadArgs, 'hidden'> & { dLoss: Binding; softmaxWeight: Binding }): void {
  const { N, H } = args;
  if (N === 0) return;
  const weightType = args.weightType ?? 'f32';
  const preamble = operandWgsl({ name: 'w', kind: weightType, binding: 4, batched: false });
  const grid = flatGrid(ctx, Math.ceil((N * H) / 256));
  const sorted = [...args.chunks].sort((a, b) => a.rowStart - b.rowStart);
  sorted.forEach((c, k) => {
    const params = new Params().u32({ rows: N, width: H, row_start: c.rowStart, chunk_rows: c.rows, first: k === 0 ? 1 : 0, row_stride: grid.rowStride, w_off: 0, w_ld: H });
    ctx.dispatch({ source: BACKWARD, entryPoint: 'ce_backward_hidden', preamble }, [args.labels, args.dLoss, args.softmaxWeight, c.weight], params, grid.workgroups);
  });
}
