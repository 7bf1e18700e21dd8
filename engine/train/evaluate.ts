// Loss of the model (with or without an adapter) on examples, without training: the SFT token
// mean over every counted token of every row, or TRL's DPO metrics averaged over pairs.
import type { GpuContext } from '../gpu/context.ts';
import { uploadBatch } from '../model/batch.ts';
import type { LlamaModel } from '../model/model.ts';
import type { LoraAdapter } from '../lora/types.ts';
import { dpoBatch, sftBatch } from './batching.ts';
import { dpoStepMetrics, recordDpoMicroStep, type DpoHyper, type DpoMetrics, type ReferenceCache } from './dpoStep.ts';
import type { PreferenceExample, SftExample } from '../data/examples.ts';
import { StepReport } from './report.ts';

export interface SftEval {
  loss: number;
  tokens: number;
  rows: number;
}

export async function evaluateSft(ctx: GpuContext, model: LlamaModel, adapter: LoraAdapter | null, rows: SftExample[], padId: number, batchSize = 4): Promise<SftEval> {
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
  }
  ctx.pool.release(out);
  return { loss: tokens > 0 ? sum / tokens : 0, tokens, rows: rows.length };
}

export async function evaluateDpo(
  ctx: GpuContext,
  model: LlamaModel,
  adapter: LoraAdapter | null,
  pairs: PreferenceExample[],
  padId: number,
  hyper: DpoHyper,
  batchSize = 4,
  cache: ReferenceCache = new Map(),
): Promise<DpoMetrics & { rows: number }> {
  const sums: Record<string, number> = {};
  for (let i = 0; i < pairs.length; i += batchSize) {
    const chunk = pairs.slice(i, i + batchSize);
    const batch = uploadBatch(ctx, dpoBatch(chunk, padId));
    const report = new StepReport(ctx);
    const indices = chunk.map((_, k) => i + k);
    const micro = recordDpoMicroStep(ctx, model, adapter, batch, indices, cache, hyper, 1, 0, report, false);
    const buf = ctx.pool.acquire(report.size * 4, undefined, 'eval report');
    report.record(buf);
    const m = dpoStepMetrics(await ctx.readF32(buf, report.size), [micro], cache);
    ctx.pool.release(buf);
    for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + v * chunk.length;
    batch.destroy();
  }
  const n = Math.max(pairs.length, 1);
  const mean = (k: keyof DpoMetrics) => (sums[k] ?? 0) / n;
  return {
    loss: mean('loss'),
    'rewards/chosen': mean('rewards/chosen'),
    'rewards/rejected': mean('rewards/rejected'),
    'rewards/accuracies': mean('rewards/accuracies'),
    'rewards/margins': mean('rewards/margins'),
    'logps/chosen': mean('logps/chosen'),
    'logps/rejected': mean('logps/rejected'),
    rows: pairs.length,
  };
}
