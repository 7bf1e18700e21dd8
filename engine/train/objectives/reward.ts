// Reward models (TRL's RewardTrainer; transformers' *ForSequenceClassification with num_labels 1):
// the reward of a sequence is the score head (hidden -> 1, no bias; the adapter's `score`, trained
// in full) on the final normed hidden state of its rightmost token that is not the pad token.
// P pairs are 2P rows [chosen..., rejected...] of prompt + answer tokenized whole; loss =
// mean(-logsigmoid(r_chosen - r_rejected)) + center_rewards_coefficient * mean((r_chosen + r_rejected)^2).
// The forward stops at the hidden states (no LM head) and the backward starts from them.
// Metrics as TRL logs them: loss; accuracy, margin and min/mean/max_reward per micro-batch,
// averaged over the step's micro-batches (TRL appends one value per compute_loss call).
import type { RewardExample } from '../../data/examples.ts';
import type { ScoreHead } from '../../model/loraTypes.ts';
import { batchFromRows, uploadBatch, type GpuBatch } from '../../model/batch.ts';
import { rewardLoss } from '../../ops/preferenceLosses.ts';
import { scoreHeadBackward, scoreHeadForward, scorePositions } from '../../ops/scoreHead.ts';
import { StepReport } from '../report.ts';
import type { EvalResult, LogEntry, MicroBatch, Objective, ObjectiveDefinition, ObjectiveRun, RecordedStep } from './objective.ts';

interface MicroResult {
  P: number;
  pairAt: number; // (P, 4) [term, rc, rr, rc - rr]
  rewardsAt: number; // (2P) [chosen..., rejected...]
}

class RewardObjective implements Objective<RewardExample> {
  private readonly score: ScoreHead;

  constructor(private readonly run: ObjectiveRun) {
    const score = run.adapter?.score;
    if (!score) throw new TypeError('reward objective: the adapter has no score head (attach one: lora/adapter.ts attachScoreHead)');
    this.score = score;
  }

  recordStep(micro: MicroBatch<RewardExample>[], report: StepReport): RecordedStep {
    const stepPairs = micro.reduce((s, m) => s + m.rows.length, 0);
    const batches: GpuBatch[] = [];
    const results = micro.map((m) => {
      const batch = this.upload(m.rows);
      batches.push(batch);
      const r = this.record(batch, m.rows.length, stepPairs, report, { train: true, dropoutSeed: m.dropoutSeed });
      this.run.ctx.flush();
      return r;
    });
    return {
      tokens: micro.reduce((s, m) => s + m.rows.reduce((t, p) => t + p.chosen.length + p.rejected.length, 0), 0),
      metrics: (data: Float32Array, common: LogEntry) => ({ ...rewardLog(data, results, stepPairs), ...common }),
      release: () => batches.forEach((b) => b.destroy()),
    };
  }

  async evaluate(pairs: RewardExample[], batchSize: number): Promise<EvalResult> {
    const { ctx } = this.run;
    const batchMetrics: LogEntry[] = [];
    let lossSum = 0;
    const scores = { chosen: [] as number[], rejected: [] as number[] };
    for (let i = 0; i < pairs.length; i += batchSize) {
      const chunk = pairs.slice(i, i + batchSize);
      const batch = this.upload(chunk);
      const report = new StepReport(ctx);
      const r = this.record(batch, chunk.length, chunk.length, report, { train: false, dropoutSeed: 0 });
      const buf = ctx.pool.acquire(report.size * 4, undefined, 'eval report');
      report.record(buf);
      const data = await ctx.readF32(buf, report.size);
      ctx.pool.release(buf);
      batch.destroy();
      const m = rewardLog(data, [r], chunk.length);
      lossSum += m.loss * chunk.length;
      batchMetrics.push(m);
      scores.chosen.push(...data.subarray(r.rewardsAt, r.rewardsAt + r.P));
      scores.rejected.push(...data.subarray(r.rewardsAt + r.P, r.rewardsAt + 2 * r.P));
    }
    // eval_loss is the mean over pairs (transformers' evaluation loop); the other metrics the mean over batches (TRL).
    const metrics: LogEntry = { loss: lossSum / Math.max(pairs.length, 1) };
    for (const k of ['accuracy', 'margin', 'min_reward', 'mean_reward', 'max_reward']) metrics[k] = batchMetrics.reduce((s, m) => s + m[k], 0) / Math.max(batchMetrics.length, 1);
    return { metrics, rows: pairs.length, scores };
  }

  /** P pairs -> the 2P rows (nothing labelled: no LM loss). */
  private upload(pairs: RewardExample[]): GpuBatch {
    const rows = [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)].map((ids) => ({ ids, trainMask: new Uint8Array(ids.length) }));
    return uploadBatch(this.run.ctx, batchFromRows(rows, this.run.padId));
  }

  private record(batch: GpuBatch, P: number, stepPairs: number, report: StepReport, o: { train: boolean; dropoutSeed: number }): MicroResult {
    const { ctx, model, adapter, recipe, padId } = this.run;
    const { B, T } = batch;
    const H = model.spec.hiddenSize;
    const train = o.train && adapter !== null;
    const hidden = model.forwardHidden(batch, { lora: adapter, train, dropout: train ? (adapter?.config.loraDropout ?? 0) : 0, dropoutSeed: o.dropoutSeed });
    const positions = ctx.uploadTemporary(scorePositions(batch.cpu.ids, B, T, padId));
    const head = { hidden, weight: this.score.weight, positions, B, T, H };
    const rewards = ctx.pool.acquire(B * 4, undefined, 'rewards');
    scoreHeadForward(ctx, { ...head, rewards });
    const pair = ctx.pool.acquire(4 * P * 4, undefined, 'reward pair');
    const dRewards = ctx.pool.acquire(B * 4, undefined, 'dRewards');
    rewardLoss(ctx, { rewards, pair, dRewards, P, centerRewardsCoefficient: recipe.center_rewards_coefficient ?? 0, dScale: 1 / stepPairs });
    if (train) {
      const dHidden = ctx.pool.acquire(B * T * H * 4, undefined, 'dHidden');
      scoreHeadBackward(ctx, { ...head, dRewards, dHidden, dWeight: this.score.grad, accumulate: true });
      model.backwardFromHidden(batch, dHidden);
      ctx.pool.release(dHidden);
    }
    ctx.pool.release(dRewards);
    // pair and rewards now belong to the report.
    return { P, pairAt: report.add(pair, 4 * P), rewardsAt: report.add(rewards, 2 * P) };
  }
}

/** The step's loss (mean over its pairs) and TRL's reward metrics (per micro-batch, averaged over them). */
function rewardLog(data: Float32Array, micro: MicroResult[], stepPairs: number): LogEntry {
  let loss = 0;
  const per = { accuracy: 0, margin: 0, min_reward: 0, mean_reward: 0, max_reward: 0 };
  for (const m of micro) {
    let accuracy = 0;
    let margin = 0;
    for (let k = 0; k < m.P; k++) {
      const at = m.pairAt + 4 * k;
      loss += data[at] / stepPairs;
      accuracy += data[at + 1] > data[at + 2] ? 1 : 0;
      margin += data[at + 3];
    }
    const rewards = Array.from(data.subarray(m.rewardsAt, m.rewardsAt + 2 * m.P));
    per.accuracy += accuracy / m.P;
    per.margin += margin / m.P;
    per.min_reward += Math.min(...rewards);
    per.mean_reward += rewards.reduce((a, b) => a + b, 0) / rewards.length;
    per.max_reward += Math.max(...rewards);
  }
  const n = Math.max(micro.length, 1);
  return { loss, accuracy: per.accuracy / n, margin: per.margin / n, min_reward: per.min_reward / n, mean_reward: per.mean_reward / n, max_reward: per.max_reward / n };
}

export const reward: ObjectiveDefinition<RewardExample> = {
  sequencesPerExample: 2,
  scoreHead: true,
  create: (run) => new RewardObjective(run),
};
