// Summed completion log-probs per row when the loss also counts tokens outside the completion
// (ORPO trains the NLL of the whole chosen sequence, so its labels cover the prompt too), and the
// backward that turns d(loss)/d(sums) plus a token-mean NLL over the first rows into the per-token
// dLoss that lmHeadCrossEntropyBackward takes. Kernels: wgsl/completionLogprobs.wgsl.
//
// A step of ORPO / SimPO records, after the model's forward (lossPerToken, labels (S, T)):
//   maskedTokenMean(lossPerToken, labels, N = P·T, nllStats)   NLL of the chosen rows [0, P)
//   completionLogprobSums(...)                                  sums, counts (2P)
//   orpoLoss / simpoLoss(...)                                   dSums (2P)
//   completionNllBackward(..., nllRows: P, nllScale)            dLoss (S, T)
import type { Binding, GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/completionLogprobs.wgsl?raw';
import { flatGrid } from './grid.ts';

const SOURCE: KernelSource = { name: 'completionLogprobs', code };

export interface CompletionRows {
  labels: Binding; // (S, T) i32, -100 = no loss at this position
  /** (S) u32: index in the row's ids of its first completion token (0: every counted token). */
  starts: Binding;
  S: number;
  T: number;
}

/**
 * sums (S) f32 = sum of -lossPerToken over counted positions t with t + 1 >= starts[s] (they
 * predict a completion token); counts (S) f32 = how many.
 */
export function completionLogprobSums(ctx: GpuContext, a: CompletionRows & { lossPerToken: Binding; sums: Binding; counts: Binding }): void {
  const grid = flatGrid(ctx, a.S);
  const params = new Params().u32({ T: a.T, S: a.S, nll_rows: 0, row_stride: grid.rowStride }).f32({ nll_scale: 0 });
  ctx.dispatch({ source: SOURCE, entryPoint: 'completion_sums_forward' }, [a.lossPerToken, a.labels, a.starts, a.sums, a.counts], params, grid.workgroups);
}

/**
 * dLoss (S, T) f32, overwritten = -dSums[s] on the positions completionLogprobSums counts, plus
 * nllScale / nllStats[1] on every counted position of rows [0, nllRows) (the gradient of
 * nllScale · the token mean that maskedTokenMean wrote into nllStats = [mean, count]).
 * nllRows 0 (and no nllStats) leaves the NLL part out.
 */
export function completionNllBackward(
  ctx: GpuContext,
  a: CompletionRows & { dSums: Binding; dLoss: Binding; nllRows: number; nllScale: number; nllStats?: Binding },
): void {
  const grid = flatGrid(ctx, Math.ceil((a.S * a.T) / 256));
  const stats = a.nllStats ?? ctx.uploadTemporary(new Float32Array(2));
  const params = new Params().u32({ T: a.T, S: a.S, nll_rows: a.nllStats ? a.nllRows : 0, row_stride: grid.rowStride }).f32({ nll_scale: a.nllScale });
  ctx.dispatch({ source: SOURCE, entryPoint: 'completion_nll_backward' }, [null, a.labels, a.starts, null, null, a.dSums, a.dLoss, stats], params, grid.workgroups);
}
