// Global gradient norm, clip coefficient and non-finite flag, computed on the GPU into a small
// stats buffer so a training step reads back once (after the optimizer), never in between.
//
//   stats is (GRAD_STATS_FLOATS) f32: [0] sum of squares, [1] global norm, [2] clip coefficient,
//   [3] non-finite flag (0 or 1).
//
// Per step: gradStatsReset, then gradStatsAccumulate for every gradient buffer (and
// gradStatsCheckValues for the loss), then gradStatsFinalize, then adamwStep / sgdStep per tensor,
// all recorded into the same GpuContext (dispatches run in recording order).
// Naive equivalent (torch.nn.utils.clip_grad_norm_ over all grads, plus an isfinite check):
//   norm = sqrt(sum over buffers of sum(g^2)); clip = maxNorm > 0 ? min(1, maxNorm / (norm + 1e-6)) : 1
// The reduction order depends only on each buffer's n, so results are bit-reproducible.
import type { Binding, GpuContext } from '../gpu/context.ts';
import { createBuffer } from '../gpu/buffers.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/gradStats.wgsl?raw';

const SOURCE: KernelSource = { name: 'gradStats', code };

export const GRAD_STATS_FLOATS = 4;

/** Elements one workgroup of the partial pass aims to cover (16 per thread). */
const ELEMS_PER_WORKGROUP = 4096;
/** Upper bound on partial-pass workgroups (enough to fill a large GPU); bigger n loops in-kernel. */
export const MAX_PARTIALS = 1024;

// One scratch area per device for the partial sums of the buffer being accumulated. Successive calls
// reuse it safely: the partial and combine dispatches of one call run before the next call's.
const scratch = new WeakMap<GpuContext, GPUBuffer>();

function partials(ctx: GpuContext): GPUBuffer {
  let buffer = scratch.get(ctx);
  if (!buffer) {
    buffer = createBuffer(ctx.device, 2 * MAX_PARTIALS * 4, undefined, 'gradStats partials');
    scratch.set(ctx, buffer);
  }
  return buffer;
}

/** Workgroups of the partial pass for n elements: a function of n only (determinism). */
export function partialCount(n: number): number {
  return Math.min(MAX_PARTIALS, Math.max(1, Math.ceil(n / ELEMS_PER_WORKGROUP)));
}

/** Zeroes stats (GRAD_STATS_FLOATS) in order with the recorded dispatches. */
export function gradStatsReset(ctx: GpuContext, stats: GPUBuffer): void {
  ctx.clear(stats, 0, GRAD_STATS_FLOATS * 4);
}

function reduce(ctx: GpuContext, values: Binding, n: number, stats: GPUBuffer, accumulateSum: boolean): void {
  if (n <= 0) return;
  const k = partialCount(n);
  const direct = k === 1;
  const params = new Params().u32(n, k).f32(0);
  const constants = { ACCUMULATE_SUM: accumulateSum ? 1 : 0, DIRECT: direct ? 1 : 0 };
  const scratchBuffer = partials(ctx);
  ctx.dispatch({ source: SOURCE, entryPoint: 'gradstats_partial', constants }, [values, scratchBuffer, stats], params, [k]);
  if (!direct) {
    ctx.dispatch({ source: SOURCE, entryPoint: 'gradstats_combine', constants: { ACCUMULATE_SUM: constants.ACCUMULATE_SUM } }, [null, scratchBuffer, stats], params, [1]);
  }
}

/** stats[0] += sum(grad^2); stats[3] |= any(!isfinite(grad)). grad is (n). */
export function gradStatsAccumulate(ctx: GpuContext, a: { grad: Binding; n: number; stats: GPUBuffer }): void {
  reduce(ctx, a.grad, a.n, a.stats, true);
}

/** stats[3] |= any(!isfinite(values)) only (e.g. the loss). values is (n). */
export function gradStatsCheckValues(ctx: GpuContext, a: { values: Binding; n: number; stats: GPUBuffer }): void {
  reduce(ctx, a.values, a.n, a.stats, false);
}

/**
 * stats[1] = sqrt(stats[0]); stats[2] = maxNorm > 0 ? min(1, maxNorm / (norm + 1e-6)) : 1
 * (torch.nn.utils.clip_grad_norm_; maxNorm <= 0 disables clipping). A sum of squares that overflowed
 * to Inf also sets stats[3]; when stats[3] is set, stats[2] = 0.
 */
export function gradStatsFinalize(ctx: GpuContext, a: { stats: GPUBuffer; maxNorm: number }): void {
  ctx.dispatch({ source: SOURCE, entryPoint: 'gradstats_finalize' }, [null, null, a.stats], new Params().u32(0, 0).f32(a.maxNorm), [1]);
}
