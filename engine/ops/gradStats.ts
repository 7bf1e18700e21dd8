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
// Cost: one dispatch per accumulate/check (each buffer's per-workgroup partial sums go to their own
// slots of a scratch area owned by the stats buffer) and one finalize that sums all slots in a fixed
// order. The reduction order depends only on the sequence of buffer sizes: bit-reproducible.
import type { Binding, GpuContext } from '../gpu/context.ts';
import { createBuffer } from '../gpu/buffers.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/gradStats.wgsl?raw';

const SOURCE: KernelSource = { name: 'gradStats', code };

export const GRAD_STATS_FLOATS = 4;

/** Elements one workgroup of the partial pass aims to cover (64 per thread): LoRA r <= 8 of a
 * 1536-wide projection is one workgroup. */
const ELEMS_PER_WORKGROUP = 16384;
/** Upper bound on partial-pass workgroups (enough to fill a large GPU); bigger n loops in-kernel. */
export const MAX_PARTIALS = 1024;
/** Partial-sum slots per stats buffer and step; buffers beyond them are combined into stats at once. */
export const STEP_SLOTS = 8192;

// Per stats buffer: the slots its step's partial sums go to (plus MAX_PARTIALS overflow slots at the
// end), and how many are used since the last reset/finalize. Recording order is execution order, so
// this CPU-side cursor describes exactly what the GPU will have written when finalize runs.
interface Scratch {
  partials: GPUBuffer;
  slots: number;
  used: number;
}
const scratches = new WeakMap<GPUBuffer, Scratch>();

function scratchFor(ctx: GpuContext, stats: GPUBuffer, slots?: number): Scratch {
  let s = scratches.get(stats);
  if (!s || (slots !== undefined && slots !== s.slots)) {
    // A replaced buffer is left to the garbage collector: recorded dispatches may still use it.
    const n = slots ?? STEP_SLOTS;
    s = { partials: createBuffer(ctx.device, 2 * (n + MAX_PARTIALS) * 4, undefined, 'gradStats partials'), slots: n, used: 0 };
    scratches.set(stats, s);
  }
  return s;
}

/** Workgroups of the partial pass for n elements: a function of n only (determinism). */
export function partialCount(n: number): number {
  return Math.min(MAX_PARTIALS, Math.max(1, Math.ceil(n / ELEMS_PER_WORKGROUP)));
}

/**
 * Zeroes stats (GRAD_STATS_FLOATS) in order with the recorded dispatches, and starts a new step.
 * `slots` (default STEP_SLOTS) sizes the step's partial-sum area; tests shrink it to reach the
 * overflow path.
 */
export function gradStatsReset(ctx: GpuContext, stats: GPUBuffer, opts: { slots?: number } = {}): void {
  ctx.clear(stats, 0, GRAD_STATS_FLOATS * 4);
  scratchFor(ctx, stats, opts.slots).used = 0;
}

function reduce(ctx: GpuContext, values: Binding, n: number, stats: GPUBuffer, accumulateSum: boolean): void {
  if (n <= 0) return;
  const s = scratchFor(ctx, stats);
  const k = partialCount(n);
  const fits = s.used + k <= s.slots;
  const base = fits ? s.used : s.slots;
  const constants = { ACCUMULATE_SUM: accumulateSum ? 1 : 0 };
  ctx.dispatch({ source: SOURCE, entryPoint: 'gradstats_partial', constants }, [values, s.partials, null], new Params().u32({ n, k, base }).f32({ max_norm: 0 }), [k]);
  if (fits) s.used += k;
  else ctx.dispatch({ source: SOURCE, entryPoint: 'gradstats_combine' }, [null, s.partials, stats], new Params().u32({ n: k, k: 0, base }).f32({ max_norm: 0 }), [1]);
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
 * Adds the step's partial sums into stats[0] / stats[3], then stats[1] = sqrt(stats[0]) and
 * stats[2] = maxNorm > 0 ? min(1, maxNorm / (norm + 1e-6)) : 1 (torch.nn.utils.clip_grad_norm_;
 * maxNorm <= 0 disables clipping). A sum of squares that overflowed to Inf also sets stats[3]; when
 * stats[3] is set, stats[2] = 0. Call once per step, after every accumulate/check.
 */
export function gradStatsFinalize(ctx: GpuContext, a: { stats: GPUBuffer; maxNorm: number }): void {
  const s = scratchFor(ctx, a.stats);
  ctx.dispatch({ source: SOURCE, entryPoint: 'gradstats_finalize' }, [null, s.partials, a.stats], new Params().u32({ n: s.used, k: 0, base: 0 }).f32({ max_norm: a.maxNorm }), [1]);
  s.used = 0;
}
