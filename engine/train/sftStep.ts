// One SFT micro-batch: forward, token-mean loss, backward, recorded into the step's command buffer.
// Under gradient accumulation each counted token's gradient is 1 / (tokens counted in the whole
// optimizer step), so the step's loss is the mean over all counted tokens of all its rows (TRL).
import type { GpuContext } from '../gpu/context.ts';
import type { GpuBatch } from '../model/batch.ts';
import type { LlamaModel } from '../model/model.ts';
import type { LoraAdapter } from '../lora/types.ts';
import { maskedTokenMeanBackward } from '../ops/lossReduce.ts';
import type { StepReport } from './report.ts';

export interface SftMicroResult {
  /** Where [mean, count] of this micro-batch land in the step report. */
  reportAt: number;
  tokens: number;
}

export function recordSftMicroStep(
  ctx: GpuContext,
  model: LlamaModel,
  adapter: LoraAdapter,
  batch: GpuBatch,
  stepTokens: number,
  dropoutSeed: number,
  report: StepReport,
): SftMicroResult {
  const N = batch.B * batch.T;
  model.forward(batch, { lora: adapter, train: true, dropout: adapter.config.loraDropout, dropoutSeed });
  const meanCount = ctx.pool.acquire(8, undefined, 'sft mean');
  model.meanLoss(batch, meanCount);
  const reportAt = report.add(meanCount, 2);
  if (batch.countedTokens > 0) {
    const dLoss = ctx.pool.acquire(N * 4, undefined, 'dLoss');
    maskedTokenMeanBackward(ctx, { labels: batch.labels, N, dMean: batch.countedTokens / stepTokens, dLoss });
    model.backward(batch, dLoss);
    ctx.pool.release(dLoss);
  }
  // meanCount now belongs to the report, which releases it after copying it.
  return { reportAt, tokens: batch.countedTokens };
}

/** Loss of the step from the micro-batches' [mean, count] pairs read back. */
export function sftStepLoss(report: Float32Array, micro: SftMicroResult[]): number {
  let sum = 0;
  let count = 0;
  for (const m of micro) {
    sum += report[m.reportAt] * report[m.reportAt + 1];
    count += report[m.reportAt + 1];
  }
  return count > 0 ? sum / count : 0;
}
