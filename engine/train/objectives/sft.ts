// SFT (TRL's SFTTrainer): the token-mean cross-entropy over the tokens each row trains on
// (assistant turns or completions, or every token). Under gradient accumulation each counted
// token's gradient is 1 / (tokens counted in the whole optimizer step), so the step's loss is the
// mean over all counted tokens of all its rows. Rows may be packed sequences of several examples.
import type { GpuContext } from '../../gpu/context.ts';
import type { SftExample } from '../../data/examples.ts';
import { uploadBatch, type GpuBatch } from '../../model/batch.ts';
import type { LoraAdapter } from '../../model/loraTypes.ts';
import type { LlamaModel } from '../../model/model.ts';
import { maskedTokenMeanBackward } from '../../ops/lossReduce.ts';
import { sftBatch } from '../batching.ts';
import type { StepReport } from '../report.ts';
import type { EvalResult, LogEntry, MicroBatch, Objective, ObjectiveDefinition, ObjectiveRun, RecordedStep } from './objective.ts';

interface SftMicroResult {
  /** Where [mean, count] of this micro-batch land in the step report. */
  reportAt: number;
  tokens: number;
}

class SftObjective implements Objective<SftExample> {
  constructor(private readonly run: ObjectiveRun) {}

  recordStep(micro: MicroBatch<SftExample>[], report: StepReport): RecordedStep {
    const { ctx, model, adapter, padId } = this.run;
    // Packed rows (recipe.packing) arrive packed from the session (data/packing.ts); each carries its segments.
    const batches = micro.map((m) => uploadBatch(ctx, sftBatch(m.rows, padId)));
    const stepTokens = Math.max(1, batches.reduce((s, b) => s + b.countedTokens, 0));
    const results = batches.map((batch, k) => {
      const r = recordSftMicroStep(ctx, model, adapter!, batch, stepTokens, micro[k].dropoutSeed, report);
      ctx.flush();
      return r;
    });
    return {
      tokens: micro.reduce((s, m) => s + m.rows.reduce((t, x) => t + x.ids.length, 0), 0),
      metrics: (data: Float32Array, common: LogEntry) => ({ loss: sftStepLoss(data, results), ...common }),
      release: () => batches.forEach((b) => b.destroy()),
    };
  }

  async evaluate(rows: SftExample[], batchSize: number, onProgress?: (done: number) => void): Promise<EvalResult> {
    const r = await evaluateSft(this.run.ctx, this.run.model, this.run.adapter, rows, this.run.padId, batchSize, onProgress);
    return { metrics: { loss: r.loss }, rows: r.rows, tokens: r.tokens };
  }
}

export const sft: ObjectiveDefinition<SftExample> = {
  sequencesPerExample: 1,
  create: (run) => new SftObjective(run),
};

/** One micro-batch: forward, token-mean loss, backward, recorded into the step's command buffer. */
function recordSftMicroStep(ctx: GpuContext, model: LlamaModel, adapter: LoraAdapter, batch: GpuBatch, stepTokens: number, dropoutSeed: number, report: StepReport): SftMicroResult {
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
function sftStepLoss(report: Float32Array, micro: SftMicroResult[]): number {
  let sum = 0;
  let count = 0;
  for (const m of micro) {
    sum += report[m.reportAt] * report[m.reportAt + 1];
    count += report[m.reportAt + 1];
  }
  return count > 0 ? sum / count : 0;
}

export interface SftEval {
  loss: number;
  tokens: number;
  rows: number;
}

/** The token mean over every counted token of every row (the model with `adapter`, or the base when null). */
export async function evaluateSft(
  ctx: GpuContext,
  model: LlamaModel,
  adapter: LoraAdapter | null,
  rows: SftExample[],
  padId: number,
  batchSize = 4,
  onProgress?: (done: number) => void,
): Promise<SftEval> {
  let sum = 0;
  let tokens = 0;
  const out = ctx.pool.acquire(8, undefined, 'eval mean');
  for (let i = 0; i < rows.length; i += batchSize) {
    const batch = uploadBatch(ctx, sftBatch(rows.slice(i, i + batchSize), padId));
    model.forward(batch, { lora: adapter, train: false });
    model.meanLoss(batch, out);
    const [mean, count] = await ctx.readF32(out, 2);
    sum += mean * count;
    tokens += count;
    batch.destroy();
    onProgress?.(Math.min(rows.length, i + batchSize));
  }
  ctx.pool.release(out);
  return { loss: tokens > 0 ? sum / tokens : 0, tokens, rows: rows.length };
}
