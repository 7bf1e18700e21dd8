// RMSNorm (Hugging Face LlamaRMSNorm, computed in f32) and its backward. Also the Qwen3 q/k norm:
// call with rows = tokens * heads and dim = headDim.
//   forward   y = x * rsqrt(mean(x^2) + eps) * weight           x, y: (rows, dim); rstd: (rows)
//   backward  dx = rstd * (w*dy - x * rstd^2 * mean(dy*w*x))      dx: (rows, dim), = or +=
//             dWeight += sum_rows(dy * x * rstd)                  dWeight: (dim), when given
// weight is (dim) f32, or f16 when weightType is 'f16' (needs ctx.caps.f16).
import type { Binding, GpuContext } from '../gpu/context.ts';
import { GpuValidationError } from '../gpu/errors.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource, PipelineSpec } from '../gpu/pipelines.ts';
import code from '../wgsl/rmsnorm.wgsl?raw';
import { flatGrid } from './grid.ts';

const SOURCE: KernelSource = { name: 'rmsnorm', code };
const WG = 256;
/** Rows summed by one invocation of the dWeight partial kernel (then partials are summed in order). */
const DWEIGHT_CHUNK_ROWS = 64;

export interface RmsnormForwardArgs {
  x: Binding; // (rows, dim) f32
  weight: Binding; // (dim) f32 or f16
  y: Binding; // (rows, dim) f32, may not alias x
  rstd: Binding; // (rows) f32, written: saved for the backward
  rows: number;
  dim: number;
  eps: number;
  weightType?: 'f32' | 'f16';
  layout?: RowLayout; // x and y rows (default contiguous)
}

export interface RmsnormBackwardArgs {
  x: Binding; // (rows, dim) f32, the forward's input
  weight: Binding; // (dim) f32 or f16
  rstd: Binding; // (rows) f32 from the forward
  dy: Binding; // (rows, dim) f32
  dx: Binding; // (rows, dim) f32: overwritten, or += when accumulate
  rows: number;
  dim: number;
  weightType?: 'f32' | 'f16';
  accumulate?: boolean;
  dWeight?: Binding | null; // (dim) f32, += sum over rows; null/undefined: frozen weight
  layout?: RowLayout; // x, dy and dx rows (default contiguous)
}

function preamble(ctx: GpuContext, weightType: 'f32' | 'f16' | undefined): string {
  if (weightType === 'f16') {
    if (!ctx.caps.f16) throw new GpuValidationError('rmsnorm', 'an f16 weight needs the shader-f16 feature, which this adapter lacks');
    return 'enable f16;\nalias W = f16;';
  }
  return 'alias W = f32;';
}

/**
 * Rows that are not contiguous: groups of `rows` rows (e.g. the heads of one token) every `stride`
 * elements, starting at `offset` (e.g. the q or k columns of fused q|k|v rows).
 */
export interface RowLayout {
  rows: number;
  stride: number;
  offset: number;
}

function params(a: { rows: number; dim: number; layout?: RowLayout }, eps: number, rowStride: number, chunkRows = 0, chunks = 0): Params {
  const l = a.layout ?? { rows: 1, stride: a.dim, offset: 0 };
  return new Params()
    .u32({ rows: a.rows, dim: a.dim })
    .f32({ eps })
    .u32({ row_stride: rowStride, chunk_rows: chunkRows, chunks, group_rows: l.rows, group_stride: l.stride, row_off: l.offset });
}

/** y = x * rsqrt(mean(x^2) + eps) * weight per row; rstd saved. x, y: (rows, dim). */
export function rmsnormForward(ctx: GpuContext, a: RmsnormForwardArgs): void {
  const grid = flatGrid(ctx, a.rows);
  const spec: PipelineSpec = { source: SOURCE, entryPoint: 'rmsnorm_forward', preamble: preamble(ctx, a.weightType) };
  ctx.dispatch(spec, [a.x, a.weight, a.rstd, null, a.y], params(a, a.eps, grid.rowStride), grid.workgroups);
}

/** dx (=, or += when accumulate) and optionally dWeight += for the forward above. */
export function rmsnormBackward(ctx: GpuContext, a: RmsnormBackwardArgs): void {
  const pre = preamble(ctx, a.weightType);
  const grid = flatGrid(ctx, a.rows);
  const spec: PipelineSpec = { source: SOURCE, entryPoint: 'rmsnorm_backward', preamble: pre, constants: { ACCUMULATE: a.accumulate ? 1 : 0 } };
  ctx.dispatch(spec, [a.x, a.weight, a.rstd, a.dy, a.dx], params(a, 0, grid.rowStride), grid.workgroups);
  if (a.dWeight) rmsnormWeightGrad(ctx, a, pre, a.dWeight);
}

// dWeight[j] += sum_r dy[r, j] x[r, j] rstd[r], in two deterministic passes: partial sums over
// chunks of 64 rows into a (chunks, dim) scratch buffer, then an in-order sum of the partials.
function rmsnormWeightGrad(ctx: GpuContext, a: RmsnormBackwardArgs, pre: string, dWeight: Binding): void {
  if (a.rows === 0 || a.dim === 0) return;
  const max = ctx.caps.maxComputeWorkgroupsPerDimension;
  const chunkRows = Math.max(DWEIGHT_CHUNK_ROWS, Math.ceil(a.rows / max));
  const chunks = Math.ceil(a.rows / chunkRows);
  const columns = Math.ceil(a.dim / WG);
  const scratch = ctx.pool.acquire(chunks * a.dim * 4);
  const p = params(a, 0, 0, chunkRows, chunks);
  ctx.dispatch({ source: SOURCE, entryPoint: 'rmsnorm_backward_dweight_partial', preamble: pre }, [a.x, null, a.rstd, a.dy, null, scratch], p, [columns, chunks]);
  ctx.dispatch({ source: SOURCE, entryPoint: 'rmsnorm_backward_dweight_reduce', preamble: pre }, [null, null, null, null, null, scratch, dWeight], p, [columns]);
  // Later users of this pooled buffer are recorded after these dispatches: queue order keeps it safe.
  ctx.pool.release(scratch);
}
