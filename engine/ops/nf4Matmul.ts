// Launchers of the fused NF4 dequantize + matmul (engine/wgsl/nf4Matmul.wgsl, with the
// nf4Weight.wgsl fetch as its preamble) for a frozen 4-bit linear weight W (out, in):
//   forward  y  = x W^T (+ bias)   nf4MatmulForward(ctx, { x, w, y, M })    x (M, in),  y (M, out)
//   input    dx = dy W             nf4MatmulBackwardDx(ctx, { dy, w, dx, M }) dy (M, out), dx (M, in)
//   (no weight gradient: the quantized base is frozen)
// and nf4Dequantize, the weight as f32 (tests, merges). The weight is one u32 buffer
// (engine/quant/gpuLayout.ts) uploaded by uploadNf4Weight.
import { upload } from '../gpu/buffers.ts';
import type { Binding, GpuContext } from '../gpu/context.ts';
import { GpuValidationError } from '../gpu/errors.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource, PipelineSpec } from '../gpu/pipelines.ts';
import { Usage } from '../gpu/usage.ts';
import { packNf4ForGpu } from '../quant/gpuLayout.ts';
import type { Nf4Dtype } from '../quant/nf4.ts';
import type { Nf4Weight } from '../quant/nf4Weight.ts';
import code from '../wgsl/nf4Matmul.wgsl?raw';
import fetchCode from '../wgsl/nf4Weight.wgsl?raw';
import { flatGrid } from './grid.ts';

const SOURCE: KernelSource = { name: 'nf4Matmul', code };
/** The weight-fetch functions, prepended to any kernel that reads an NF4 weight bound as `b`. */
export const NF4_WEIGHT_PREAMBLE = fetchCode;

/** A quantized (out, in) linear weight on the GPU. */
export interface Nf4GpuWeight {
  buffer: GPUBuffer;
  outFeatures: number;
  inFeatures: number;
  dtype: Nf4Dtype;
  doubleQuant: boolean;
}

/** Uploads a quantized 2-D weight [out, in] as one storage buffer. */
export function uploadNf4Weight(device: GPUDevice, w: Nf4Weight, label = 'nf4 weight'): Nf4GpuWeight {
  if (w.shape.length !== 2) throw new GpuValidationError('nf4Matmul', `a linear weight is 2-D, got shape [${w.shape}]`);
  return { buffer: upload(device, packNf4ForGpu(w), undefined, label), outFeatures: w.shape[0], inFeatures: w.shape[1], dtype: w.dtype, doubleQuant: w.nested !== null };
}

const dummies = new WeakMap<GpuContext, GPUBuffer>();
function dummy(ctx: GpuContext): GPUBuffer {
  let buf = dummies.get(ctx);
  if (!buf) {
    buf = ctx.device.createBuffer({ size: 16, usage: Usage.STORAGE, label: 'nf4Matmul: no bias' });
    dummies.set(ctx, buf);
  }
  return buf;
}

/** Invocations of 8 rows x 4 columns, fewer of them for few rows (as matmul.ts's tile choice). */
function tile(M: number): { WG_X: number; WG_Y: number; RM: number; TK: number } {
  const rows = M <= 4 ? 4 : M <= 8 ? 8 : M <= 16 ? 16 : M <= 32 ? 32 : 64;
  const RM = Math.min(8, rows);
  return { WG_X: 16, WG_Y: rows / RM, RM, TK: 32 };
}

export function nf4MatmulSpec(entryPoint: 'nf4_matmul_forward' | 'nf4_matmul_backward_dx', M: number, contiguous: number, bias: boolean, accumulate: boolean): PipelineSpec {
  return {
    source: SOURCE,
    entryPoint,
    preamble: NF4_WEIGHT_PREAMBLE,
    constants: { HAS_BIAS: bias ? 1 : 0, ACCUMULATE: accumulate ? 1 : 0, RUN8: contiguous % 8 === 0 ? 1 : 0, ...tile(M) },
  };
}

function check(M: number): void {
  if (!Number.isInteger(M) || M < 0) throw new GpuValidationError('nf4Matmul', `M must be a non-negative integer, got ${M}`);
}

function run(ctx: GpuContext, spec: PipelineSpec, a: Binding, w: Nf4GpuWeight, bias: Binding | null, out: Binding, M: number, N: number, K: number, alpha: number): void {
  if (M === 0 || N === 0) return;
  const t = spec.constants as { WG_X: number; WG_Y: number; RM: number };
  ctx.dispatch(spec, [a, w.buffer, bias ?? dummy(ctx), out], new Params().u32({ M, N, K }).f32({ alpha }).u32({ start: 0, row_stride: 0 }), [Math.ceil(N / (4 * t.WG_X)), Math.ceil(M / (t.WG_Y * t.RM)), 1]);
}

export interface Nf4ForwardArgs {
  x: Binding; // (M, in) f32
  w: Nf4GpuWeight; // W (out, in)
  y: Binding; // (M, out) f32
  bias?: Binding | null; // (out) f32
  M: number;
  alpha?: number;
  accumulate?: boolean; // y += ... instead of y = ...
}

/** y (M, out) = alpha * x W^T (+ bias) (+ y when accumulate). */
export function nf4MatmulForward(ctx: GpuContext, a: Nf4ForwardArgs): void {
  check(a.M);
  const spec = nf4MatmulSpec('nf4_matmul_forward', a.M, a.w.inFeatures, Boolean(a.bias), Boolean(a.accumulate));
  run(ctx, spec, a.x, a.w, a.bias ?? null, a.y, a.M, a.w.outFeatures, a.w.inFeatures, a.alpha ?? 1);
}

export interface Nf4BackwardDxArgs {
  dy: Binding; // (M, out) f32
  w: Nf4GpuWeight; // W (out, in)
  dx: Binding; // (M, in) f32
  M: number;
  alpha?: number;
  accumulate?: boolean; // dx += ... (a LoRA branch or a residual adds into the same dx)
}

/** dx (M, in) = alpha * dy W (+ dx when accumulate). */
export function nf4MatmulBackwardDx(ctx: GpuContext, a: Nf4BackwardDxArgs): void {
  check(a.M);
  const spec = nf4MatmulSpec('nf4_matmul_backward_dx', a.M, a.w.inFeatures, false, Boolean(a.accumulate));
  run(ctx, spec, a.dy, a.w, null, a.dx, a.M, a.w.inFeatures, a.w.outFeatures, a.alpha ?? 1);
}

/** out[i] = W[start + i] (flattened, dequantized as bitsandbytes returns it, widened to f32) for i < count. */
export function nf4Dequantize(ctx: GpuContext, w: Nf4GpuWeight, out: Binding, start = 0, count = w.outFeatures * w.inFeatures - start): void {
  if (count <= 0) return;
  const grid = flatGrid(ctx, Math.ceil(count / 256));
  const spec: PipelineSpec = { source: SOURCE, entryPoint: 'nf4_dequantize', preamble: NF4_WEIGHT_PREAMBLE };
  ctx.dispatch(spec, [null, w.buffer, null, out], new Params().u32({ M: count, N: 0, K: 0 }).f32({ alpha: 0 }).u32({ start, row_stride: grid.rowStride }), grid.workgroups);
}
