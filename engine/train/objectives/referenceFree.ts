// What ORPO and SimPO (TRL's ORPOTrainer and CPOTrainer with loss_type "simpo") share: preference
// pairs with no reference model, so a step runs each sequence through the model once. P pairs are
// 2P rows [chosen..., rejected...] in one batch; one forward gives the per-token losses, from which
//   nll (2)     = [mean, count] token mean over the chosen rows' labels (ORPO: the whole sequence,
//                 prompt included; SimPO: the completion)
//   sums (2P)   = summed completion log-probs, counts (2P) their tokens (completionLogprobs.ts)
//   pair (P, 4) = the method's loss op on the length-averaged log-probs (preferenceLosses.ts)
// and one backward takes the gradient of the preference term plus the weighted NLL.
//
// Gradient accumulation: each pair's preference term is weighted 1 / (pairs in the step), and
// each micro-batch's NLL token mean by (its pairs / pairs in the step). With full micro-batches
// that is TRL's scaling (each micro-batch's loss averaged over its pairs, divided by
// gradient_accumulation_steps); the preference part, like DPO's, does not depend on how the pairs
// are split into micro-batches, the NLL part (a mean over each micro-batch's tokens) does, as in TRL.
import type { PreferenceExample, TokenizedRow } from '../../data/examples.ts';
import type { GpuContext } from '../../gpu/context.ts';
import { batchFromRows, uploadBatch, type GpuBatch } from '../../model/batch.ts';
import { completionLogprobSums, completionNllBackward } from '../../ops/completionLogprobs.ts';
import { maskedTokenMean } from '../../ops/lossReduce.ts';
import type { PairedLogprobArgs } from '../../ops/preferenceLosses.ts';
import { StepReport } from '../report.ts';
import type { EvalResult, LogEntry, MicroBatch, Objective, ObjectiveRun, RecordedStep } from './objective.ts';

/** What one method adds to the shared pass. */
export interface ReferenceFreeMethod {
  /** Labels over every token of every row (ORPO: the chosen NLL covers the prompt) or the completions only. */
  wholeRows: boolean;
  /** Weight of the chosen rows' NLL in the loss (ORPO 1; SimPO cpo_alpha; 0 = not computed). */
  nllWeight: number;
  /** Records the loss op (orpoLoss / simpoLoss with the method's hyperparameters). */
  loss(ctx: GpuContext, args: PairedLogprobArgs): void;
  /** The log row from the step's values, in TRL's names (the loss first). */
  metrics(v: PairValues): LogEntry;
}

/** The step's per-pair values, read back, over all its micro-batches. */
export interface PairValues {
  /** sum over micro-batches of (its pairs / step pairs) * its NLL token mean: the step's NLL. */
  nll: number;
  /** (P, 4) rows of the loss op, micro-batches concatenated. */
  pair: number[][];
  /** Length-averaged log-probs of the chosen and rejected completions. */
  logpsChosen: number[];
  logpsRejected: number[];
}

interface MicroResult {
  P: number;
  nllAt: number; // [mean, count]
  pairAt: number; // (P, 4)
  logpsAt: number; // (2P)
}

export class ReferenceFreeObjective implements Objective<PreferenceExample> {
  constructor(
    private readonly run: ObjectiveRun,
    private readonly method: ReferenceFreeMethod,
  ) {}

  recordStep(micro: MicroBatch<PreferenceExample>[], report: StepReport): RecordedStep {
    const { ctx, adapter } = this.run;
    const stepPairs = micro.reduce((s, m) => s + m.rows.length, 0);
    const batches: { batch: GpuBatch; starts: GPUBuffer }[] = [];
    const results = micro.map((m) => {
      const b = this.upload(m.rows);
      batches.push(b);
      const r = this.record(b, m.rows.length, stepPairs, report, { train: true, dropout: adapter?.config.loraDropout ?? 0, dropoutSeed: m.dropoutSeed });
      ctx.flush();
      return r;
    });
    return {
      tokens: micro.reduce((s, m) => s + m.rows.reduce((t, p) => t + p.chosen.ids.length + p.rejected.ids.length, 0), 0),
      metrics: (data: Float32Array, common: LogEntry) => ({ ...this.method.metrics(pairValues(data, results, stepPairs)), ...common }),
      release: () => batches.forEach((b) => b.batch.destroy()),
    };
  }

  async evaluate(pairs: PreferenceExample[], batchSize: number): Promise<EvalResult> {
    const { ctx } = this.run;
    const sums: Record<string, number> = {};
    for (let i = 0; i < pairs.length; i += batchSize) {
      const chunk = pairs.slice(i, i + batchSize);
      const b = this.upload(chunk);
      const report = new StepReport(ctx);
      const r = this.record(b, chunk.length, chunk.length, report, { train: false, dropout: 0, dropoutSeed: 0 });
      const buf = ctx.pool.acquire(report.size * 4, undefined, 'eval report');
      report.record(buf);
      const m = this.method.metrics(pairValues(await ctx.readF32(buf, report.size), [r], chunk.length));
      ctx.pool.release(buf);
      for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + v * chunk.length;
      b.batch.destroy();
    }
    const n = Math.max(pairs.length, 1);
    return { metrics: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / n])), rows: pairs.length };
  }

  /** P pairs -> the 2P-row batch and each row's completion start (u32, freed at the next submit). */
  private upload(pairs: PreferenceExample[]): { batch: GpuBatch; starts: GPUBuffer } {
    const { ctx, padId } = this.run;
    const rows = [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)];
    const whole = this.method.wholeRows;
    const labelled = whole ? rows.map((r): TokenizedRow => ({ ids: r.ids, trainMask: new Uint8Array(r.ids.length).fill(1) })) : rows;
    const starts = Uint32Array.from(rows, (r) => Math.max(0, Array.prototype.indexOf.call(r.trainMask, 1)));
    return { batch: uploadBatch(ctx, batchFromRows(labelled, padId)), starts: ctx.uploadTemporary(starts) };
  }

  /** Forward, the NLL, completion sums, the loss op and (training) the backward of one micro-batch. */
  private record(b: { batch: GpuBatch; starts: GPUBuffer }, P: number, stepPairs: number, report: StepReport, o: { train: boolean; dropout: number; dropoutSeed: number }): MicroResult {
    const { ctx, model, adapter } = this.run;
    const { batch, starts } = b;
    const T = batch.T;
    const train = o.train && adapter !== null;
    const out = model.forward(batch, { lora: adapter, train, dropout: o.dropout, dropoutSeed: o.dropoutSeed });
    const nll = ctx.pool.acquire(8, undefined, 'chosen nll');
    maskedTokenMean(ctx, { lossPerToken: out.lossPerToken, labels: batch.labels, N: P * T, out: nll });
    const rows = { labels: batch.labels, starts, S: 2 * P, T };
    const sums = ctx.pool.acquire(2 * P * 4, undefined, 'completion logps');
    const counts = ctx.pool.acquire(2 * P * 4, undefined, 'completion tokens');
    completionLogprobSums(ctx, { ...rows, lossPerToken: out.lossPerToken, sums, counts });
    const pair = ctx.pool.acquire(4 * P * 4, undefined, 'pair terms');
    const logps = ctx.pool.acquire(2 * P * 4, undefined, 'averaged logps');
    const dSums = ctx.pool.acquire(2 * P * 4, undefined, 'dSums');
    this.method.loss(ctx, { sums, counts, pair, logps, dSums, P, beta: 0, dScale: 1 / stepPairs });
    if (train) {
      const dLoss = ctx.pool.acquire(batch.B * T * 4, undefined, 'dLoss');
      const nllScale = (this.method.nllWeight * P) / stepPairs;
      completionNllBackward(ctx, { ...rows, dSums, dLoss, nllRows: nllScale ? P : 0, nllScale, nllStats: nllScale ? nll : undefined });
      model.backward(batch, dLoss);
      ctx.pool.release(dLoss);
    }
    ctx.pool.release(sums);
    ctx.pool.release(counts);
    ctx.pool.release(dSums);
    // nll, pair and logps now belong to the report.
    return { P, nllAt: report.add(nll, 2), pairAt: report.add(pair, 4 * P), logpsAt: report.add(logps, 2 * P) };
  }
}

function pairValues(data: Float32Array, micro: MicroResult[], stepPairs: number): PairValues {
  const v: PairValues = { nll: 0, pair: [], logpsChosen: [], logpsRejected: [] };
  for (const m of micro) {
    v.nll += (m.P / stepPairs) * data[m.nllAt];
    for (let k = 0; k < m.P; k++) {
      v.pair.push(Array.from(data.subarray(m.pairAt + 4 * k, m.pairAt + 4 * k + 4)));
      v.logpsChosen.push(data[m.logpsAt + k]);
      v.logpsRejected.push(data[m.logpsAt + m.P + k]);
    }
  }
  return v;
}

export const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** TRL's rewards/* and logps/* of a pair batch: rewards are columns 1 and 2 of the loss op (beta * averaged log-probs). */
export function pairRewardMetrics(v: PairValues): LogEntry {
  const rc = v.pair.map((r) => r[1]);
  const rr = v.pair.map((r) => r[2]);
  return {
    'rewards/chosen': mean(rc),
    'rewards/rejected': mean(rr),
    'rewards/accuracies': mean(rc.map((c, i) => (c > rr[i] ? 1 : 0))),
    'rewards/margins': mean(rc.map((c, i) => c - rr[i])),
    'logps/chosen': mean(v.logpsChosen),
    'logps/rejected': mean(v.logpsRejected),
  };
}
