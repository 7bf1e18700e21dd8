// DPO (TRL's DPOTrainer, dpo_trainer.py): P pairs as 2P rows [chosen..., rejected...] in one
// batch. The reference log-probs are the same model with the adapter switched off, computed once
// per pair and cached by the pair's index (uploaded from the cache on later epochs). The policy
// pass, the DPO loss and its gradient, and the backward are all recorded without a readback; the
// step's loss is the mean over its pairs (each pair's gradient scaled by 1 / pairs in the step).
import type { GpuContext } from '../../gpu/context.ts';
import type { PreferenceExample } from '../../data/examples.ts';
import { uploadBatch, type GpuBatch } from '../../model/batch.ts';
import type { LoraAdapter } from '../../model/loraTypes.ts';
import type { LlamaModel } from '../../model/model.ts';
import { dpoLoss, type DpoLossType } from '../../ops/dpoLoss.ts';
import { sequenceLogprobSumsBackward } from '../../ops/lossReduce.ts';
import { matmul } from '../../ops/matmul.ts';
import type { Recipe } from '../../recipe/schema.ts';
import { IGNORE_INDEX } from '../../util/labels.ts';
import { dpoBatch } from '../batching.ts';
import { StepReport } from '../report.ts';
import type { EvalResult, LogEntry, MicroBatch, Objective, ObjectiveDefinition, ObjectiveRun, RecordedStep } from './objective.ts';

class DpoObjective implements Objective<PreferenceExample> {
  /** Reference log-probs of training pairs, by index. */
  private readonly cache: ReferenceCache = new Map();
  /** The same for evaluation pairs (the reference does not change between evaluations). */
  private readonly evalCache: ReferenceCache = new Map();
  private readonly hyper: DpoHyper;

  constructor(private readonly run: ObjectiveRun) {
    this.hyper = dpoHyper(run.recipe);
  }

  recordStep(micro: MicroBatch<PreferenceExample>[], report: StepReport): RecordedStep {
    const { ctx, model, adapter, padId } = this.run;
    const stepPairs = micro.reduce((s, m) => s + m.rows.length, 0);
    const batches: GpuBatch[] = [];
    const results = micro.map((m) => {
      const batch = uploadBatch(ctx, dpoBatch(m.rows, padId));
      batches.push(batch);
      const r = recordDpoMicroStep(ctx, model, adapter, batch, m.indices, this.cache, this.hyper, stepPairs, m.dropoutSeed, report);
      ctx.flush();
      return r;
    });
    return {
      tokens: micro.reduce((s, m) => s + m.rows.reduce((t, p) => t + p.chosen.ids.length + p.rejected.ids.length, 0), 0),
      metrics: (data: Float32Array, common: LogEntry) => ({ ...dpoStepMetrics(data, results, this.cache), ...common }),
      release: () => batches.forEach((b) => b.destroy()),
    };
  }

  async evaluate(pairs: PreferenceExample[], batchSize: number, onProgress?: (done: number) => void): Promise<EvalResult> {
    const { rows, ...metrics } = await evaluateDpo(this.run.ctx, this.run.model, this.run.adapter, pairs, this.run.padId, this.hyper, batchSize, this.evalCache, onProgress);
    return { metrics: { ...metrics }, rows };
  }
}

export const dpo: ObjectiveDefinition<PreferenceExample> = {
  sequencesPerExample: 2,
  create: (run) => new DpoObjective(run),
};

export function dpoHyper(recipe: Pick<Recipe, 'beta' | 'loss_type' | 'label_smoothing'>): DpoHyper {
  return { beta: recipe.beta, lossType: recipe.loss_type, labelSmoothing: recipe.label_smoothing };
}

export interface DpoHyper {
  beta: number;
  lossType: DpoLossType;
  labelSmoothing: number;
}

interface DpoMicroResult {
  P: number;
  pairIndices: number[];
  pairAt: number; // (P, 4) [loss, rewards/chosen, rewards/rejected, z]
  policyAt: number; // (2P)
  referenceAt: number; // (2P)
}

/** Reference log-probs per pair index: [chosen, rejected]. */
export type ReferenceCache = Map<number, [number, number]>;

function recordDpoMicroStep(
  ctx: GpuContext,
  model: LlamaModel,
  adapter: LoraAdapter | null,
  batch: GpuBatch,
  pairIndices: number[],
  cache: ReferenceCache,
  hyper: DpoHyper,
  stepPairs: number,
  dropoutSeed: number,
  report: StepReport,
  train = true,
): DpoMicroResult {
  const P = pairIndices.length;
  const reference = referenceLogprobs(ctx, model, batch, pairIndices, cache);
  const policy = ctx.pool.acquire(2 * P * 4, undefined, 'policy logps');
  model.forward(batch, { lora: adapter, train, dropout: adapter?.config.loraDropout ?? 0, dropoutSeed });
  model.sequenceLogprobs(batch, policy);
  // TRL's IPO works on log-probs averaged over each row's completion tokens (concatenated_forward:
  // all_logps / size_completion), for the policy and the reference alike; the other losses on sums.
  const invLen = hyper.lossType === 'ipo' ? ctx.uploadTemporary(inverseCompletionLengths(batch)) : null;
  const lossPolicy = invLen ? scaleRows(ctx, policy, invLen, 2 * P, 'policy logps / length') : policy;
  const lossReference = invLen ? scaleRows(ctx, reference, invLen, 2 * P, 'reference logps / length') : reference;
  const pair = ctx.pool.acquire(4 * P * 4, undefined, 'dpo pair');
  const dPolicy = ctx.pool.acquire(2 * P * 4, undefined, 'dpo dPolicy');
  dpoLoss(ctx, { policy: lossPolicy, reference: lossReference, pair, dPolicy, P, beta: hyper.beta, lossType: hyper.lossType, labelSmoothing: hyper.labelSmoothing, dScale: 1 / stepPairs });
  const result: DpoMicroResult = {
    P,
    pairIndices,
    pairAt: report.add(pair, 4 * P),
    policyAt: report.add(lossPolicy, 2 * P), // logps/* metrics: what the loss saw (TRL)
    referenceAt: report.add(reference, 2 * P), // sums, for the reference cache
  };
  let dSums = dPolicy;
  if (invLen) {
    ctx.pool.release(policy);
    ctx.pool.release(lossReference);
    dSums = scaleRows(ctx, dPolicy, invLen, 2 * P, 'dpo dSums'); // d/dsum = d/dmean / length
  }
  if (train && adapter) {
    const N = batch.B * batch.T;
    const dLoss = ctx.pool.acquire(N * 4, undefined, 'dLoss');
    sequenceLogprobSumsBackward(ctx, { dSums, labels: batch.labels, S: 2 * P, T: batch.T, dLoss });
    model.backward(batch, dLoss);
    ctx.pool.release(dLoss);
  }
  ctx.pool.release(dPolicy); // pair and the reported log-probs now belong to the report
  if (dSums !== dPolicy) ctx.pool.release(dSums);
  return result;
}

/** (2P) 1 / (completion tokens of each row), 0 for a row with none. */
function inverseCompletionLengths(batch: GpuBatch): Float32Array {
  const { B, T, labels } = batch.cpu;
  const out = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) if (labels[b * T + t] !== IGNORE_INDEX) n++;
    out[b] = n > 0 ? 1 / n : 0;
  }
  return out;
}

/** out (n) = x (n) * w (n), element by element: a batch of n 1x1 matmuls. Returns a pool buffer. */
function scaleRows(ctx: GpuContext, x: GPUBuffer, w: GPUBuffer, n: number, label: string): GPUBuffer {
  const out = ctx.pool.acquire(n * 4, undefined, label);
  matmul(ctx, { a: x, b: w, out, M: 1, N: 1, K: 1, batch: n, strideA: 1, strideB: 1, strideOut: 1 });
  return out;
}

function referenceLogprobs(ctx: GpuContext, model: LlamaModel, batch: GpuBatch, pairIndices: number[], cache: ReferenceCache): GPUBuffer {
  const P = pairIndices.length;
  const out = ctx.pool.acquire(2 * P * 4, undefined, 'reference logps');
  if (pairIndices.every((i) => cache.has(i))) {
    const values = new Float32Array(2 * P);
    pairIndices.forEach((i, k) => {
      const [c, r] = cache.get(i)!;
      values[k] = c;
      values[P + k] = r;
    });
    ctx.copy(ctx.uploadTemporary(values), 0, out, 0, 2 * P * 4);
    return out;
  }
  model.forward(batch, { lora: null, train: false });
  model.sequenceLogprobs(batch, out);
  return out;
}

export interface DpoMetrics {
  loss: number;
  'rewards/chosen': number;
  'rewards/rejected': number;
  'rewards/accuracies': number;
  'rewards/margins': number;
  'logps/chosen': number;
  'logps/rejected': number;
}

/** Means over all pairs of the step (TRL's names), and fills the reference cache. */
function dpoStepMetrics(report: Float32Array, micro: DpoMicroResult[], cache: ReferenceCache): DpoMetrics {
  const acc = { loss: 0, rc: 0, rr: 0, accuracy: 0, pc: 0, pr: 0, n: 0 };
  for (const m of micro) {
    for (let k = 0; k < m.P; k++) {
      const at = m.pairAt + 4 * k;
      const rc = report[at + 1];
      const rr = report[at + 2];
      acc.loss += report[at];
      acc.rc += rc;
      acc.rr += rr;
      acc.accuracy += rc > rr ? 1 : 0;
      acc.pc += report[m.policyAt + k];
      acc.pr += report[m.policyAt + m.P + k];
      acc.n++;
      cache.set(m.pairIndices[k], [report[m.referenceAt + k], report[m.referenceAt + m.P + k]]);
    }
  }
  const n = Math.max(acc.n, 1);
  return {
    loss: acc.loss / n,
    'rewards/chosen': acc.rc / n,
    'rewards/rejected': acc.rr / n,
    'rewards/accuracies': acc.accuracy / n,
    'rewards/margins': (acc.rc - acc.rr) / n,
    'logps/chosen': acc.pc / n,
    'logps/rejected': acc.pr / n,
  };
}

/** TRL's DPO metrics averaged over `pairs`, without training (the model with `adapter`, or the base when null). */
export async function evaluateDpo(
  ctx: GpuContext,
  model: LlamaModel,
  adapter: LoraAdapter | null,
  pairs: PreferenceExample[],
  padId: number,
  hyper: DpoHyper,
  batchSize = 4,
  cache: ReferenceCache = new Map(),
  onProgress?: (done: number) => void,
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
    onProgress?.(i + chunk.length);
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
