// Optimizer steps over flat f32 tensors, reading the clip coefficient and the non-finite flag from
// the GPU stats buffer written by gradStatsFinalize (gradStats.ts), so no value comes back to the CPU
// mid-step. When stats[3] (non-finite) is set, param, m and v are left bit-identical (step skipped).
//
// Naive equivalents (float64 in optimizer.ref.ts), with g = grad * stats[2]:
//   adamwStep (torch.optim.AdamW, amsgrad=False):
//     p -= lr*wd*p ; m = b1*m + (1-b1)*g ; v = b2*v + (1-b2)*g^2
//     p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//   sgdStep (torch.optim.SGD, no momentum / weight decay): p -= lr * g
import type { Binding, GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/optimizer.wgsl?raw';
import { flatGrid } from './grid.ts';

const SOURCE: KernelSource = { name: 'optimizer', code };

export interface AdamWArgs {
  /** (n) updated in place. */
  param: Binding;
  /** (n) raw gradient; the kernel applies the clip coefficient from stats. */
  grad: Binding;
  /** (n) first moment (exp_avg), zero before step 1. */
  m: Binding;
  /** (n) second moment (exp_avg_sq), zero before step 1. */
  v: Binding;
  n: number;
  /** (GRAD_STATS_FLOATS) after gradStatsFinalize. */
  stats: GPUBuffer;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** t, 1-based: the number of this step (torch's state['step'] after its increment). */
  step: number;
}

/** One torch.optim.AdamW step on (n) elements; skipped when stats[3] != 0. */
export function adamwStep(ctx: GpuContext, a: AdamWArgs): void {
  if (!(a.step >= 1) || !Number.isInteger(a.step)) throw new RangeError(`adamwStep: step must be an integer >= 1, got ${a.step}`);
  if (a.n <= 0) return;
  // Bias corrections in float64, as torch does for a non-capturable step (a Python float).
  const stepSize = a.lr / (1 - a.beta1 ** a.step);
  const bc2Sqrt = Math.sqrt(1 - a.beta2 ** a.step);
  const grid = flatGrid(ctx, Math.ceil(a.n / 256));
  const params = new Params()
    .u32({ n: a.n, row_stride: grid.rowStride })
    .f32({ lr: a.lr, beta1: a.beta1, beta2: a.beta2, eps: a.eps, decay: 1 - a.lr * a.weightDecay, step_size: stepSize, bc2_sqrt: bc2Sqrt });
  ctx.dispatch({ source: SOURCE, entryPoint: 'adamw_step' }, [a.param, a.grad, a.stats, a.m, a.v], params, grid.workgroups);
}

/** param -= lr * grad * clip on (n) elements; skipped when stats[3] != 0. */
export function sgdStep(ctx: GpuContext, a: { param: Binding; grad: Binding; n: number; stats: GPUBuffer; lr: number }): void {
  if (a.n <= 0) return;
  const grid = flatGrid(ctx, Math.ceil(a.n / 256));
  const params = new Params().u32({ n: a.n, row_stride: grid.rowStride }).f32({ lr: a.lr, beta1: 0, beta2: 0, eps: 0, decay: 1, step_size: 0, bc2_sqrt: 1 });
  ctx.dispatch({ source: SOURCE, entryPoint: 'sgd_step' }, [a.param, a.grad, a.stats], params, grid.workgroups);
}
