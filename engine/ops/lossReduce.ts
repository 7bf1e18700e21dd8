// Reductions of per-token losses under the ignore mask (label -100): the SFT token mean and the
// per-sequence summed log-probs DPO compares, with their backwards (which produce the per-token
// dLoss that lmHeadCrossEntropyBackward takes). Kernels: wgsl/lossReduce.wgsl.
import type { Binding, GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/lossReduce.wgsl?raw';
import { flatGrid } from './grid.ts';

const SOURCE: KernelSource = { name: 'lossReduce', code };

/**
 * Mean over non-ignored tokens. lossPerToken is (N) f32, labels (N) i32.
 * out[0] = sum(lossPerToken) / count(labels != -100) (0 when count is 0); out is f32 (>= 1), and
 * when it has room for 2 floats, out[1] = count (the number of trained tokens, for logging).
 */
export function maskedTokenMean(ctx: GpuContext, args: { lossPerToken: Binding; labels: Binding; N: number; out: Binding }): void {
  const { lossPerToken, labels, N, out } = args;
  ctx.dispatch({ source: SOURCE, entryPoint: 'token_mean_forward' }, [lossPerToken, labels, out, null], new Params().u32({ n: N, seqs: 0 }).f32({ scale: 0 }).u32({ row_stride: 1 }), [1]);
}

/**
 * Backward of maskedTokenMean: dLoss (N) f32 = dMean / count where labels != -100, else 0 (all 0
 * when count is 0). dMean is the upstream gradient of the mean (1, or 1/accumulation steps).
 */
export function maskedTokenMeanBackward(ctx: GpuContext, args: { labels: Binding; N: number; dMean: number; dLoss: Binding }): void {
  const { labels, N, dMean, dLoss } = args;
  ctx.dispatch({ source: SOURCE, entryPoint: 'token_mean_backward' }, [null, labels, dLoss, null], new Params().u32({ n: N, seqs: 0 }).f32({ scale: dMean }).u32({ row_stride: 1 }), [1]);
}

/**
 * Per-sequence sums: out[s] = sum_{i in sequence s, labels[i] != -100} (-lossPerToken[i]), i.e.
 * the summed completion log-probs. Rows are S sequences of T tokens (N = S*T): lossPerToken and
 * labels are (S, T), out is (S) f32.
 */
export function sequenceLogprobSums(ctx: GpuContext, args: { lossPerToken: Binding; labels: Binding; S: number; T: number; out: Binding }): void {
  const { lossPerToken, labels, S, T, out } = args;
  const grid = flatGrid(ctx, S);
  ctx.dispatch({ source: SOURCE, entryPoint: 'seq_sum_forward' }, [lossPerToken, labels, out, null], new Params().u32({ n: T, seqs: S }).f32({ scale: 0 }).u32({ row_stride: grid.rowStride }), grid.workgroups);
}

/**
 * Backward of sequenceLogprobSums: dLoss (S, T) f32 = -dSums[s] where labels != -100, else 0.
 * dSums is (S) f32 (e.g. from the DPO loss kernel).
 */
export function sequenceLogprobSumsBackward(ctx: GpuContext, args: { dSums: Binding; labels: Binding; S: number; T: number; dLoss: Binding }): void {
  const { dSums, labels, S, T, dLoss } = args;
  const grid = flatGrid(ctx, Math.ceil((S * T) / 256));
  ctx.dispatch({ source: SOURCE, entryPoint: 'seq_sum_backward' }, [null, labels, dLoss, dSums], new Params().u32({ n: T, seqs: S }).f32({ scale: 0 }).u32({ row_stride: grid.rowStride }), grid.workgroups);
}
