// One batched matmul for every linear layer and its gradients (DESIGN.md example 3, tfjs
// BatchMatMul_grad.ts):
//   forward  y  = x W^T     matmul(ctx, { a: x,  b: W, transB: true,  M: tokens, N: out, K: in })
//   input    dX = dY W      matmul(ctx, { a: dY, b: W,                M: tokens, N: in,  K: out })
//   weight   dW = dY^T X    matmul(ctx, { a: dY, b: X, transA: true,  M: out,    N: in,  K: tokens })
// Fusions, all in the same kernel (matmul.wgsl):
//   second   + alpha2 * A2 @ op(B2) in the same accumulator (LoRA: y = x W^T + s t B^T)
//   epilogue bias; out = / += / residual + ...; columns split over two buffers; LoRA block diagonal
//   operands storage kinds from operands.ts: f32, packed f16/bf16, dropout-masked, LoRA
//            block-diagonal, split over two buffers, NF4 4-bit weight groups (QLoRA: forward
//            y = x W^T with transB and dX = dY W over the same buffer; never a weight gradient)
// Transposes, the second pair and the tile shape are WGSL override constants; operand and epilogue
// kinds are preamble functions; shapes, offsets and strides travel in Params.
import { GpuValidationError } from '../gpu/errors.ts';
import type { Binding, GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import { Usage } from '../gpu/usage.ts';
import type { KernelSource, PipelineSpec } from '../gpu/pipelines.ts';
import code from '../wgsl/matmul.wgsl?raw';
import hash from '../wgsl/dropoutHash.wgsl?raw';
import { dropoutScale, dropoutThreshold } from './dropout.ts';
import { SEGMENT_WGSL, elementBytes, isStrided, operandWgsl, type OperandKind, type StorageKind } from './operands.ts';
import { tunedMatmulTile } from './matmulAutotune.ts';
import { subgroupMatmulPlan, usesSubgroupMatmul, type PlainMatmulArgs } from './matmulSubgroup.ts';

const SOURCE: KernelSource = { name: 'matmul', code };

/** Bindings of the kernel (0 is Params). B_AUX_BINDING is reserved for a quantised B's side data. */
const BINDING = { a: 1, b: 2, bias: 3, out: 4, a2: 5, b2: 6, residual: 7, aHi: 8, outHi: 9, bAux: 10 } as const;
export const B_AUX_BINDING = BINDING.bAux;

/** An input operand: a buffer and how to read its storage matrix. */
export interface Operand {
  data: Binding;
  kind?: OperandKind; // default 'f32'
  offset?: number; // elements before the matrix (default 0)
  ld?: number; // elements between storage rows (default: the storage matrix's width)
  batchStride?: number; // elements between batch items (default: one matrix; 0 broadcasts)
  hi?: Binding; // split2: columns [split, ld)
}

export type OutMode = 'store' | 'accumulate' | 'residual';

/** The output: f32 (N columns per row), split2 over two buffers, or a LoRA block diagonal. */
export interface OutOperand {
  data: Binding;
  kind?: 'f32' | 'split2' | 'lora_bd';
  offset?: number;
  ld?: number;
  batchStride?: number;
  hi?: Binding; // split2: columns [split, N)
  mode?: OutMode; // default 'store'; lora_bd always accumulates
  residual?: Binding; // mode 'residual': out = result + residual (same layout as out)
}

/**
 * Row segments of a fused group's outputs (e.g. q | k | v), for lora_bd operands: the virtual
 * (sum of widths, S·r) matrix whose row n, in segment s, holds the LoRA B row of its module in
 * columns [blocks[s]·r, blocks[s]·r + r) and zeros elsewhere. B rows of the modules with LoRA are
 * stacked in `data` (segment s's rows start at row bases[s]); blocks[s] null: no LoRA there.
 */
export interface LoraSegments {
  r: number;
  ends: number[]; // exclusive end row of each segment (1 to 3 segments)
  blocks: (number | null)[];
  bases: number[];
}

export interface SecondPair {
  a: Operand | Binding; // A2 (M, K2) f32
  b: Operand | Binding; // B2 (K2, N), or (N, K2) when transB
  K: number;
  transB?: boolean;
  alpha?: number; // default 1
}

export interface MatmulArgs {
  a: Operand | Binding; // A: (batch, M, K), or (batch, K, M) when transA
  b: Operand | Binding; // B: (batch, K, N), or (batch, N, K) when transB   (nn.Linear weight [out,in] => transB: true)
  out: OutOperand | Binding; // (batch, M, N) f32
  bias?: Binding | null; // (N) f32, added to every row
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  batch?: number; // default 1
  strideA?: number; // shorthand for a.batchStride
  strideB?: number;
  strideOut?: number;
  alpha?: number; // out = alpha * op(A) @ op(B) (+ bias); default 1
  accumulate?: boolean; // shorthand for out mode 'accumulate'
  aType?: StorageKind; // shorthand for a.kind
  bType?: StorageKind; // shorthand for b.kind
  second?: SecondPair | null;
  segments?: LoraSegments; // for lora_bd operands
  dropout?: { p: number; seed: number }; // for dropout operands (item z uses dropout_seed(seed, z))
  split?: number; // for split2 operands
  /**
   * Sum K member by member over `segments` (K = a fused group's outputs, e.g. dx = dY W of q|k|v),
   * each member's LoRA part (its block of the second pair) right after it: the rounding of one
   * product per member accumulated into the output. Output mode 'store' only.
   */
  kSegments?: boolean;
}

/** A tile shape: WG_X x WG_Y invocations, RM rows x 4 columns each, K blocks of TK. */
export interface MatmulTile {
  WG_X: number;
  WG_Y: number;
  RM: number;
  TK: number;
}

/**
 * 64x64 tiles (128 invocations of 8 rows x 4 columns, K blocks of TK = 32) for training batches; for
 * few rows the same invocation shape with fewer of them, so little of the tile is wasted.
 * Measured on Mesa lavapipe (scripts/bench): 8-row invocations with 32-deep K blocks beat 4x4
 * invocations with 16-deep blocks by ~1.3x at M = 64. `kBlock`: see matmulKBlock.
 */
export function matmulTile(M: number, kBlock = 32): MatmulTile {
  const rows = M <= 4 ? 4 : M <= 8 ? 8 : M <= 16 ? 16 : M <= 32 ? 32 : 64;
  const RM = Math.min(8, rows);
  return { WG_X: 16, WG_Y: rows / RM, RM, TK: kBlock };
}

/**
 * The default K block on this adapter: 8 on SwiftShader, 32 elsewhere. SwiftShader's JIT unrolls the
 * K block, so every matmul variant compiles in ~1-2.5 s at TK 8 against ~4 s at 32 (a DPO step
 * of the demo model builds ~20 variants: 63 s of its first step was matmul compiles), while its
 * run time is no worse at 8. Same k order in every tile: results are bitwise the same.
 */
export function matmulKBlock(ctx: GpuContext): number {
  return ctx.caps.isCpu && /swiftshader/i.test(`${ctx.caps.adapterName} ${ctx.caps.architecture}`) ? 8 : 32;
}

function isOperand(x: Operand | Binding): x is Operand {
  return 'data' in x;
}

function operand(x: Operand | Binding, kind?: StorageKind): Operand {
  return isOperand(x) ? x : { data: x, kind };
}

function outOperand(x: OutOperand | Binding): OutOperand {
  return 'data' in x ? x : { data: x };
}

/** Resolved operands with defaults filled in, as the kernel sees them. */
interface Resolved {
  a: Required<Pick<Operand, 'kind' | 'offset' | 'ld' | 'batchStride'>> & Operand;
  b: Required<Pick<Operand, 'kind' | 'offset' | 'ld' | 'batchStride'>> & Operand;
  out: Required<Pick<OutOperand, 'kind' | 'offset' | 'ld' | 'batchStride' | 'mode'>> & OutOperand;
  a2: (Operand & { ld: number; offset: number; kind: OperandKind }) | null;
  b2: (Operand & { ld: number; offset: number; kind: OperandKind }) | null;
}

function resolve(args: MatmulArgs): Resolved {
  const { M, N, K } = args;
  const a = operand(args.a, args.aType);
  const b = operand(args.b, args.bType);
  const o = outOperand(args.out);
  const s = args.second;
  const a2 = s ? operand(s.a) : null;
  const b2 = s ? operand(s.b) : null;
  return {
    a: { ...a, kind: a.kind ?? 'f32', offset: a.offset ?? 0, ld: a.ld ?? (args.transA ? M : K), batchStride: a.batchStride ?? args.strideA ?? M * K },
    b: { ...b, kind: b.kind ?? 'f32', offset: b.offset ?? 0, ld: b.ld ?? (args.transB ? K : N), batchStride: b.batchStride ?? args.strideB ?? K * N },
    out: {
      ...o,
      kind: o.kind ?? 'f32',
      offset: o.offset ?? 0,
      ld: o.ld ?? N,
      batchStride: o.batchStride ?? args.strideOut ?? M * N,
      mode: o.kind === 'lora_bd' ? 'accumulate' : (o.mode ?? (args.accumulate ? 'accumulate' : 'store')),
    },
    a2: a2 && s ? { ...a2, kind: a2.kind ?? 'f32', offset: a2.offset ?? 0, ld: a2.ld ?? s.K } : null,
    b2: b2 && s ? { ...b2, kind: b2.kind ?? 'f32', offset: b2.offset ?? 0, ld: b2.ld ?? (s.transB ? s.K : N) } : null,
  };
}

/** The epilogue: out_store(z, m, n, v) for the output kind and mode, and bias_at(n). */
function epilogueWgsl(r: Resolved, hasBias: boolean): string {
  const o = r.out;
  const rw = (name: string, binding: number) => `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<f32>;\n`;
  const write = (target: string) =>
    o.mode === 'accumulate' ? `${target} = ${target} + v;` : o.mode === 'residual' ? `${target} = v + residual[i];` : `${target} = v;`;
  let s = hasBias ? `@group(0) @binding(${BINDING.bias}) var<storage, read> bias: array<f32>;\nfn bias_at(n: u32) -> f32 { return bias[n]; }\n` : 'fn bias_at(n: u32) -> f32 { _ = n; return 0.0; }\n';
  if (o.mode === 'residual') s += `@group(0) @binding(${BINDING.residual}) var<storage, read> residual: array<f32>;\n`;
  if (o.kind === 'f32') {
    s += rw('out', BINDING.out);
    s += `fn out_store(z: u32, m: u32, n: u32, v: f32) {\n  let i = p.o_off + z * p.o_batch + m * p.o_ld + n;\n  ${write('out[i]')}\n}\n`;
  } else if (o.kind === 'split2') {
    if (o.mode === 'residual') throw new GpuValidationError('matmul', 'a split output cannot add a residual');
    s += rw('out', BINDING.out) + rw('out_hi', BINDING.outHi);
    s += `fn out_store(z: u32, m: u32, n: u32, v: f32) {
  _ = z;
  if (n < p.split) {
    let i = m * p.split + n;
    ${write('out[i]')}
  } else {
    let i = m * (p.N - p.split) + n - p.split;
    ${write('out_hi[i]')}
  }
}\n`;
  } else {
    s += rw('out', BINDING.out);
    s += `fn out_store(z: u32, m: u32, n: u32, v: f32) {
  _ = z;
  let s = seg_of(m);
  let blk = seg_blk(s);
  if (blk == NO_BLOCK || n / p.seg_r != blk) { return; }
  let i = p.o_off + (m - seg_start(s) + seg_base(s)) * p.seg_r + n % p.seg_r;
  out[i] = out[i] + v;
}\n`;
  }
  return s;
}

const stub = (X: string) => `fn ${X}_load(z: u32, r: u32, c: u32) -> f32 { _ = z; _ = r; _ = c; return 0.0; }\n`;

/** Can the main pair use vec4 loads? Runs of 4 along each contiguous dimension must stay aligned. */
function vec4Ok(args: MatmulArgs, r: Resolved): boolean {
  const batch = args.batch ?? 1;
  const ok = (x: Resolved['a'], contig: number) => {
    if (contig % 4 !== 0) return false;
    if (x.kind === 'lora_bd') return true;
    if (x.kind === 'nf4') return x.offset === 0 && x.ld % 4 === 0; // runs of 4 stay in one member, block and code word
    if (x.kind === 'split2') return (args.split ?? 0) % 4 === 0 && x.ld % 4 === 0;
    return x.offset % 4 === 0 && x.ld % 4 === 0 && (batch === 1 || x.batchStride % 4 === 0);
  };
  // Member-by-member K ranges start at segment ends: runs of 4 along K must not straddle one.
  const segmentsAligned = !args.kSegments || (args.segments?.ends ?? []).every((e) => e % 4 === 0);
  return segmentsAligned && ok(r.a, args.transA ? args.M : args.K) && ok(r.b, args.transB ? args.K : args.N);
}

// A 16-byte storage buffer bound in place of a missing bias by the subgroup-matrix kernel.
const dummies = new WeakMap<GpuContext, GPUBuffer>();
function dummyBias(ctx: GpuContext): GPUBuffer {
  let buf = dummies.get(ctx);
  if (!buf) {
    buf = ctx.device.createBuffer({ size: 16, usage: Usage.STORAGE, label: 'matmul: no bias' });
    dummies.set(ctx, buf);
  }
  return buf;
}

/** Specs by what determines them, so each call reuses one object (and its pipeline-cache entry). */
const specs = new Map<string, PipelineSpec>();

/** The pipeline a matmul call uses (exported for the benchmark and tests). */
export function matmulSpec(ctx: GpuContext, args: MatmulArgs): PipelineSpec {
  const r = resolve(args);
  const kinds = [r.a.kind, r.b.kind, r.a2?.kind, r.b2?.kind, r.out.kind];
  if (r.a2 && r.a2.kind !== 'f32') throw new GpuValidationError('matmul', `the second pair's A must be f32, got ${r.a2.kind}`);
  if (r.b.kind === 'split2' || r.b2?.kind === 'split2') throw new GpuValidationError('matmul', 'only A and the output can be split2');
  if (r.a.kind === 'nf4' || r.b2?.kind === 'nf4') throw new GpuValidationError('matmul', 'only B can be an nf4 weight');
  if (kinds.includes('dropout') && !args.dropout) throw new GpuValidationError('matmul', 'a dropout operand needs args.dropout');
  if (kinds.includes('lora_bd') && !args.segments) throw new GpuValidationError('matmul', 'a lora_bd operand needs args.segments');
  if (kinds.includes('split2') && args.split === undefined) throw new GpuValidationError('matmul', 'a split2 operand needs args.split');
  // Plain products (the autotune's replayable shapes) may have a tile tuned for this adapter.
  const plain = plainArgs(args);
  const tile = (plain && tunedMatmulTile(ctx, plain)) || matmulTile(args.M, matmulKBlock(ctx));
  if (args.kSegments && (!args.segments || r.out.mode !== 'store')) throw new GpuValidationError('matmul', 'kSegments needs segments and a stored output');
  const key = [r.a.kind, r.b.kind, r.a2?.kind, r.b2?.kind, r.out.kind, r.out.mode, !!args.bias, !!args.transA, !!args.transB, !!args.second?.transB, !!args.kSegments, vec4Ok(args, r), tile.WG_X, tile.WG_Y, tile.RM, tile.TK].join();
  let spec = specs.get(key);
  if (!spec) {
    spec = buildSpec(args, r, tile);
    specs.set(key, spec);
  }
  return spec;
}

/**
 * The call in the plain form the autotune replays and the subgroup-matrix kernel runs (whole
 * buffers of f32 / f16 / bf16, default layout, no second pair, a plain store or accumulate), or null.
 */
export function plainArgs(args: MatmulArgs): PlainMatmulArgs | null {
  const r = resolve(args);
  const whole = (x: { offset: number }) => x.offset === 0;
  const storage = (k: OperandKind): k is StorageKind => k === 'f32' || k === 'f16' || k === 'bf16';
  if (args.second || args.kSegments || !storage(r.a.kind) || !storage(r.b.kind) || r.out.kind !== 'f32' || r.out.mode === 'residual') return null;
  const { M, N, K } = args;
  if (!whole(r.a) || !whole(r.b) || !whole(r.out) || r.a.ld !== (args.transA ? M : K) || r.b.ld !== (args.transB ? K : N) || r.out.ld !== N) return null;
  return {
    a: r.a.data,
    b: r.b.data,
    out: r.out.data,
    bias: args.bias ?? null,
    M,
    N,
    K,
    transA: args.transA,
    transB: args.transB,
    batch: args.batch,
    strideA: r.a.batchStride,
    strideB: r.b.batchStride,
    strideOut: r.out.batchStride,
    alpha: args.alpha,
    accumulate: r.out.mode === 'accumulate',
    aType: r.a.kind,
    bType: r.b.kind,
  };
}

function buildSpec(args: MatmulArgs, r: Resolved, tile: MatmulTile): PipelineSpec {
  const kinds = [r.a.kind, r.b.kind, r.a2?.kind, r.b2?.kind, r.out.kind];
  let preamble = '';
  if (kinds.includes('dropout')) preamble += hash + '\n';
  preamble += SEGMENT_WGSL;
  const vec4 = vec4Ok(args, r);
  preamble += operandWgsl({ name: 'a', kind: r.a.kind, binding: BINDING.a, hiBinding: BINDING.aHi, batched: true }, vec4);
  preamble += operandWgsl({ name: 'b', kind: r.b.kind, binding: BINDING.b, batched: true }, vec4);
  preamble += r.a2 ? operandWgsl({ name: 'a2', kind: r.a2.kind, binding: BINDING.a2, batched: false }) : stub('a2');
  preamble += r.b2 ? operandWgsl({ name: 'b2', kind: r.b2.kind, binding: BINDING.b2, batched: false }) : stub('b2');
  preamble += epilogueWgsl(r, !!args.bias);
  return {
    source: SOURCE,
    entryPoint: vec4 ? 'matmul_forward_vec4' : 'matmul_forward',
    preamble,
    constants: {
      TRANS_A: args.transA ? 1 : 0,
      TRANS_B: args.transB ? 1 : 0,
      TRANS_B2: args.second?.transB ? 1 : 0,
      DUAL: args.second ? 1 : 0,
      K_SEGMENTS: args.kSegments ? 1 : 0,
      ...tile,
    },
  };
}

/** One matmul as a dispatch: what `matmul` records (exported so the benchmark can time it alone). */
export interface MatmulPlan {
  spec: PipelineSpec;
  buffers: (Binding | null)[];
  params: Params;
  workgroups: [number, number, number];
}

function elementsOf(b: Binding, kind: StorageKind): number {
  return Math.floor(b.size / elementBytes(kind));
}

/** Checks that a strided operand's last element lies inside its binding (WGSL would read 0 silently). */
function checkExtent(what: string, x: Operand, kind: OperandKind, rows: number, cols: number, batch: number, ld: number, offset: number, stride: number): void {
  if (!isStrided(kind) || rows === 0 || cols === 0) return;
  const storage: StorageKind = kind === 'dropout' ? 'f32' : (kind as StorageKind);
  const last = offset + (batch - 1) * stride + (rows - 1) * ld + cols;
  const have = elementsOf(x.data, storage);
  if (last > have) throw new GpuValidationError('matmul', `${what} needs ${last} elements, its binding holds ${have}`);
}

/** Validates the arguments and plans the dispatch; null when out is empty. */
export function matmulPlan(ctx: GpuContext, args: MatmulArgs): MatmulPlan | null {
  const { M, N, K } = args;
  const batch = args.batch ?? 1;
  const K2 = args.second?.K ?? 0;
  for (const [name, v] of Object.entries({ M, N, K, batch, K2 })) {
    if (!Number.isInteger(v) || v < 0) throw new GpuValidationError('matmul', `${name} must be a non-negative integer, got ${v}`);
  }
  if (batch > ctx.caps.maxComputeWorkgroupsPerDimension) {
    throw new GpuValidationError('matmul', `batch ${batch} exceeds ${ctx.caps.maxComputeWorkgroupsPerDimension}`);
  }
  if (M === 0 || N === 0 || batch === 0) return null;
  // Tensor cores where the device has them and the call qualifies (matmulSubgroup.ts).
  const plain = plainArgs(args);
  if (plain && usesSubgroupMatmul(ctx, plain)) return subgroupMatmulPlan(plain, ctx.caps.subgroupMatrix!, plain.bias ?? dummyBias(ctx));
  const r = resolve(args);
  checkExtent('A', r.a, r.a.kind, args.transA ? K : M, args.transA ? M : K, batch, r.a.ld, r.a.offset, r.a.batchStride);
  checkExtent('B', r.b, r.b.kind, args.transB ? N : K, args.transB ? K : N, batch, r.b.ld, r.b.offset, r.b.batchStride);
  if (r.out.mode === 'residual' && !r.out.residual) throw new GpuValidationError('matmul', "out mode 'residual' needs out.residual");
  if (r.out.kind === 'f32') checkExtent('out', r.out, 'f32', M, N, batch, r.out.ld, r.out.offset, r.out.batchStride);
  if (r.a2) checkExtent('A2', r.a2, r.a2.kind, M, K2, 1, r.a2.ld, r.a2.offset, 0);
  if (r.b2) checkExtent('B2', r.b2, r.b2.kind, args.second?.transB ? N : K2, args.second?.transB ? K2 : N, 1, r.b2.ld, r.b2.offset, 0);
  if (r.b.kind === 'nf4' && (r.b.offset !== 0 || batch !== 1)) throw new GpuValidationError('matmul', 'an nf4 weight is read whole (offset 0) and not batched');
  if ((r.out.kind !== 'f32' || r.a.kind === 'split2' || r.b.kind === 'split2') && batch !== 1) {
    throw new GpuValidationError('matmul', 'split and block-diagonal outputs are not batched');
  }
  const spec = matmulSpec(ctx, args);
  const c = spec.constants as unknown as MatmulTile;
  const seg = args.segments;
  if (seg && (seg.ends.length < 1 || seg.ends.length > 3)) throw new GpuValidationError('matmul', `1 to 3 LoRA segments, got ${seg.ends.length}`);
  const segAt = (list: number[] | undefined, i: number, fill: number) => (list && i < list.length ? list[i] : fill);
  const NONE = 0xffffffff;
  const drop = args.dropout;
  const params = new Params()
    .u32({ M, N, K, K2 })
    .u32({ a_off: r.a.offset, a_ld: r.a.ld, a_batch: r.a.batchStride, b_off: r.b.offset, b_ld: r.b.ld, b_batch: r.b.batchStride })
    .u32({ a2_off: r.a2?.offset ?? 0, a2_ld: r.a2?.ld ?? 0, b2_off: r.b2?.offset ?? 0, b2_ld: r.b2?.ld ?? 0 })
    .u32({ o_off: r.out.offset, o_ld: r.out.ld, o_batch: r.out.batchStride, split: args.split ?? 0, seg_r: seg?.r ?? 1 })
    .u32({ seg_end0: segAt(seg?.ends, 0, NONE), seg_end1: segAt(seg?.ends, 1, NONE), seg_end2: segAt(seg?.ends, 2, NONE) })
    .u32({ seg_blk0: seg?.blocks[0] ?? NONE, seg_blk1: seg?.blocks[1] ?? NONE, seg_blk2: seg?.blocks[2] ?? NONE })
    .u32({ seg_base0: segAt(seg?.bases, 0, 0), seg_base1: segAt(seg?.bases, 1, 0), seg_base2: segAt(seg?.bases, 2, 0) })
    .u32({ drop_seed: (drop?.seed ?? 0) >>> 0, drop_threshold: drop ? dropoutThreshold(drop.p) : 0, b_aux0: 0, b_aux1: 0 })
    .f32({ alpha: args.alpha ?? 1, alpha2: args.second?.alpha ?? 1, drop_scale: drop ? dropoutScale(drop.p) : 1 });
  const buffers: (Binding | null)[] = new Array(BINDING.bAux).fill(null);
  const put = (binding: number, b: Binding | null | undefined) => {
    if (b) buffers[binding - 1] = b;
  };
  put(BINDING.a, r.a.data);
  put(BINDING.b, r.b.data);
  put(BINDING.bias, args.bias);
  put(BINDING.out, r.out.data);
  put(BINDING.a2, r.a2?.data);
  put(BINDING.b2, r.b2?.data);
  if (r.out.mode === 'residual') put(BINDING.residual, r.out.residual);
  if (r.a.kind === 'split2') put(BINDING.aHi, r.a.hi);
  if (r.out.kind === 'split2') put(BINDING.outHi, r.out.hi);
  while (buffers.length && buffers[buffers.length - 1] === null) buffers.pop();
  return { spec, buffers, params, workgroups: [Math.ceil(N / (4 * c.WG_X)), Math.ceil(M / (c.WG_Y * c.RM)), batch] };
}

/** out (batch, M, N) = alpha * op(A) @ op(B) (+ second pair) (+ bias), stored per the out operand. */
export function matmul(ctx: GpuContext, args: MatmulArgs): void {
  const plan = matmulPlan(ctx, args);
  if (plan) ctx.dispatch(plan.spec, plan.buffers, plan.params, plan.workgroups);
}
