// KTO (TRL's KTOTrainer, loss_type "kto"): unpaired rows, each a prompt, a completion and a label
// (desirable or not). r = summed completion log-prob of the policy minus the reference (the same
// model with the adapter off). The KL term of a batch is estimated from mismatched rows, prompt i
// with the completion of row i-1 (row 0 with the last one): KL = max(0, mean(policy - reference))
// over them, with no gradient. loss = mean over the rows of
//   desirable_weight   * (1 - sigmoid(beta * (r - KL)))   for desirable rows,
//   undesirable_weight * (1 - sigmoid(beta * (KL - r)))   for undesirable ones.
// As in TRL, the rows are read in order, not shuffled (KTOTrainer's SequentialSampler), and the
// mismatched pairs are formed over blocks of per_device_train_batch_size rows of the dataset order
// (so a training batch's KL rows are its own rows rotated by one). Evaluation keeps those blocks
// and averages the KL over each batch of per_device_eval_batch_size rows, as TRL's does.
// The reference log-probs of a row (its own and its KL row's) never change: they are computed once
// and cached by the row's index, like DPO's.
import type { TokenizedRow, UnpairedExample } from '../../data/examples.ts';
import { klMismatchedRows, unpairedRow } from '../../data/methodDatasets.ts';
import { batchFromRows, uploadBatch, type GpuBatch } from '../../model/batch.ts';
import { sequenceLogprobSumsBackward } from '../../ops/lossReduce.ts';
import { ktoKl, ktoLoss } from '../../ops/preferenceLosses.ts';
import { StepReport } from '../report.ts';
import type { EvalResult, LogEntry, MicroBatch, Objective, ObjectiveDefinition, ObjectiveRun, RecordedStep } from './objective.ts';

/** Reference log-probs per row index: [the row's, its KL row's]. */
type ReferenceCache = Map<number, [number, number]>;

interface Batches {
  rows: GpuBatch; // (n) prompt + completion, the completion labelled
  kl: GpuBatch; // (n) prompt i + the partner's completion
  labels: GPUBuffer; // (n) u32, 1 = desirable
}

interface MicroResult {
  n: number;
  indices: number[];
  labels: boolean[];
  klAt: number; // (1)
  rowsAt: number; // (n, 4) [term, reward, policy logps, label]
  referenceAt: number; // (n)
  klReferenceAt: number; // (n)
}

class KtoObjective implements Objective<UnpairedExample> {
  private readonly cache: ReferenceCache = new Map();
  private readonly evalCache: ReferenceCache = new Map();

  constructor(private readonly run: ObjectiveRun) {}

  recordStep(micro: MicroBatch<UnpairedExample>[], report: StepReport): RecordedStep {
    const stepRows = micro.reduce((s, m) => s + m.rows.length, 0);
    const uploaded: Batches[] = [];
    const results = micro.map((m) => {
      const b = this.upload(m.rows, klMismatchedRows(m.rows, this.run.recipe.max_length));
      uploaded.push(b);
      const r = this.record(b, m.rows, m.indices, this.cache, stepRows, report, { train: true, dropoutSeed: m.dropoutSeed });
      this.run.ctx.flush();
      return r;
    });
    return {
      tokens: micro.reduce((s, m) => s + m.rows.reduce((t, x) => t + x.prompt.length + x.completion.length, 0), 0),
      metrics: (data: Float32Array, common: LogEntry) => ({ ...ktoLog(results.map((m) => ({ data, m })), this.cache), ...common }),
      release: () => uploaded.forEach(destroy),
    };
  }

  async evaluate(rows: UnpairedExample[], batchSize: number): Promise<EvalResult> {
    const { ctx, recipe } = this.run;
    // The KL rows are paired over blocks of the training batch size (TRL builds them before batching).
    const block = recipe.per_device_train_batch_size;
    const klRows: TokenizedRow[] = [];
    for (let i = 0; i < rows.length; i += block) klRows.push(...klMismatchedRows(rows.slice(i, i + block), recipe.max_length));
    const parts: { data: Float32Array; m: MicroResult }[] = [];
    for (let i = 0; i < rows.length; i += batchSize) {
      const chunk = rows.slice(i, i + batchSize);
      const b = this.upload(chunk, klRows.slice(i, i + batchSize));
      const report = new StepReport(ctx);
      const indices = chunk.map((_, k) => i + k);
      const m = this.record(b, chunk, indices, this.evalCache, chunk.length, report, { train: false, dropoutSeed: 0 });
      const buf = ctx.pool.acquire(report.size * 4, undefined, 'eval report');
      report.record(buf);
      parts.push({ data: await ctx.readF32(buf, report.size), m });
      ctx.pool.release(buf);
      destroy(b);
    }
    return { metrics: ktoLog(parts, this.evalCache), rows: rows.length };
  }

  private upload(rows: UnpairedExample[], klRows: TokenizedRow[]): Batches {
    const { ctx, padId } = this.run;
    const seqs = rows.map(unpairedRow);
    // One length for both batches: the model's activations then fit both passes (a longer second
    // batch would make it reallocate them under the first one's recorded commands).
    const T = Math.max(1, ...seqs.map((r) => r.ids.length), ...klRows.map((r) => r.ids.length));
    return {
      rows: uploadBatch(ctx, batchFromRows(seqs, padId, T)),
      kl: uploadBatch(ctx, batchFromRows(klRows, padId, T)),
      labels: ctx.uploadTemporary(Uint32Array.from(rows, (r) => (r.label ? 1 : 0))),
    };
  }

  /** The reference, KL and policy passes of one batch, the loss, and (training) the backward. */
  private record(b: Batches, rows: UnpairedExample[], indices: number[], cache: ReferenceCache, stepRows: number, report: StepReport, o: { train: boolean; dropoutSeed: number }): MicroResult {
    const { ctx, model, adapter, recipe } = this.run;
    const n = rows.length;
    const sums = (batch: GpuBatch, label: string, lora: typeof adapter, train = false, dropoutSeed = 0): GPUBuffer => {
      const out = ctx.pool.acquire(n * 4, undefined, label);
      model.forward(batch, { lora, train, dropout: train ? (lora?.config.loraDropout ?? 0) : 0, dropoutSeed });
      model.sequenceLogprobs(batch, out);
      return out;
    };
    let reference: GPUBuffer;
    let klReference: GPUBuffer;
    if (indices.every((i) => cache.has(i))) {
      reference = ctx.pool.acquire(n * 4, undefined, 'reference logps');
      klReference = ctx.pool.acquire(n * 4, undefined, 'KL reference logps');
      ctx.copy(ctx.uploadTemporary(Float32Array.from(indices, (i) => cache.get(i)![0])), 0, reference, 0, n * 4);
      ctx.copy(ctx.uploadTemporary(Float32Array.from(indices, (i) => cache.get(i)![1])), 0, klReference, 0, n * 4);
    } else {
      reference = sums(b.rows, 'reference logps', null);
      klReference = sums(b.kl, 'KL reference logps', null);
    }
    const klPolicy = sums(b.kl, 'KL policy logps', adapter);
    const train = o.train && adapter !== null;
    const policy = sums(b.rows, 'policy logps', adapter, train, o.dropoutSeed); // last: the backward needs its activations
    const kl = ctx.pool.acquire(4, undefined, 'KL');
    ktoKl(ctx, { klPolicy, klReference, kl, n });
    const out = ctx.pool.acquire(n * 16, undefined, 'kto rows');
    const dPolicy = ctx.pool.acquire(n * 4, undefined, 'kto dPolicy');
    ktoLoss(ctx, { policy, reference, labels: b.labels, kl, rows: out, dPolicy, n, beta: recipe.beta, desirableWeight: recipe.desirable_weight, undesirableWeight: recipe.undesirable_weight, dScale: 1 / stepRows });
    if (train) {
      const { B, T } = b.rows;
      const dLoss = ctx.pool.acquire(B * T * 4, undefined, 'dLoss');
      sequenceLogprobSumsBackward(ctx, { dSums: dPolicy, labels: b.rows.labels, S: n, T, dLoss });
      model.backward(b.rows, dLoss);
      ctx.pool.release(dLoss);
    }
    for (const x of [klPolicy, policy, dPolicy]) ctx.pool.release(x);
    // kl, out and the reference log-probs now belong to the report.
    return {
      n,
      indices,
      labels: rows.map((r) => r.label),
      klAt: report.add(kl, 1),
      rowsAt: report.add(out, 4 * n),
      referenceAt: report.add(reference, n),
      klReferenceAt: report.add(klReference, n),
    };
  }
}

function destroy(b: Batches): void {
  b.rows.destroy();
  b.kl.destroy();
}

/**
 * TRL's KTO log over batches: the loss and the rewards/logps of the desirable (chosen) and
 * undesirable (rejected) rows as row means, the KL as the mean of the batches' KL; margins when both
 * kinds are present. Fills the reference cache.
 */
function ktoLog(parts: { data: Float32Array; m: MicroResult }[], cache: ReferenceCache): LogEntry {
  const sums = new Map<string, { sum: number; n: number }>();
  const add = (k: string, v: number) => {
    const s = sums.get(k) ?? { sum: 0, n: 0 };
    sums.set(k, { sum: s.sum + v, n: s.n + 1 });
  };
  let kl = 0;
  for (const { data, m } of parts) {
    kl += data[m.klAt];
    for (let k = 0; k < m.n; k++) {
      const at = m.rowsAt + 4 * k;
      const side = m.labels[k] ? 'chosen' : 'rejected';
      add('loss', data[at]);
      add(`rewards/${side}`, data[at + 1]);
      add(`logps/${side}`, data[at + 2]);
      cache.set(m.indices[k], [data[m.referenceAt + k], data[m.klReferenceAt + k]]);
    }
  }
  const mean = (k: string) => sums.get(k)!.sum / sums.get(k)!.n;
  const out: LogEntry = { loss: sums.has('loss') ? mean('loss') : 0, kl: parts.length ? kl / parts.length : 0 };
  for (const side of ['chosen', 'rejected']) {
    if (!sums.has(`rewards/${side}`)) continue;
    out[`rewards/${side}`] = mean(`rewards/${side}`);
    out[`logps/${side}`] = mean(`logps/${side}`);
  }
  if ('rewards/chosen' in out && 'rewards/rejected' in out) out['rewards/margins'] = out['rewards/chosen'] - out['rewards/rejected'];
  return out;
}

export const kto: ObjectiveDefinition<UnpairedExample> = {
  // The KL rows run through the model in their own pass, never beside the rows.
  sequencesPerExample: 1,
  dataOrder: 'sequential',
  create: (run) => new KtoObjective(run),
};
