// The training loop, the same for every method: seeded data order (or the dataset's, where the
// objective says so), gradient accumulation, one readback per optimizer step, metrics with TRL's
// names, evaluation, checkpoints (atomic) and resume. What a step computes is the method's objective (objectives/); nothing here names a method.
import type { GpuContext } from '../gpu/context.ts';
import type { LlamaModel } from '../model/model.ts';
import { zeroLoraGrads } from '../lora/adapter.ts';
import { adapterFileBytes } from '../lora/seqCls.ts';
import type { LoraAdapter } from '../lora/types.ts';
import type { TrainingExamples } from '../data/examples.ts';
import type { Recipe } from '../recipe/schema.ts';
import { epochOrder } from './batching.ts';
import { encodeCheckpoint, type DecodedCheckpoint, type TrainerState } from './checkpointState.ts';
import { createObjective, OBJECTIVES, type LogEntry, type MicroBatch, type Objective } from './objectives/index.ts';
import { LoraOptimizer } from './optimizer.ts';
import { totalSteps } from './recipe.ts';
import { StepReport } from './report.ts';
import type { FileMap, RunStore } from './runStore.ts';
import { learningRateAt, warmupSteps } from './schedule.ts';
import { autotunePendingMatmuls } from '../ops/matmulAutotune.ts';

export type { LogEntry };

export interface TrainerCallbacks {
  /** After every optimizer step (for progress bars): step, total, tokens/s, ETA. */
  onProgress?(p: { step: number; total: number; tokensPerSecond: number; etaSeconds: number; loss: number }): void;
  /** Every logging_steps (and eval results), with TRL metric names. */
  onLog?(entry: LogEntry): void;
  onWarning?(message: string): void;
  onCheckpoint?(step: number): void;
  /** Awaited before each step: resolve 'stop' to end early (the adapter so far is saved). */
  beforeStep?(): Promise<'continue' | 'stop'> | 'continue' | 'stop';
}

export interface TrainerInit {
  ctx: GpuContext;
  model: LlamaModel;
  adapter: LoraAdapter;
  recipe: Recipe;
  train: TrainingExamples;
  eval?: TrainingExamples | null;
  padId: number;
  store: RunStore;
  baseModel: string;
  callbacks?: TrainerCallbacks;
}

export interface TrainResult {
  steps: number;
  stopped: boolean;
  skippedSteps: number;
  lastLog: LogEntry | null;
  history: LogEntry[];
}

export class Trainer {
  private readonly optimizer: LoraOptimizer;
  private readonly objective: Objective<unknown>;
  readonly total: number;
  private readonly batchesPerEpoch: number;
  private history: LogEntry[] = [];
  private step = 0;
  private microBatch = 0;
  /** Input tokens of every step so far, the resumed ones included (TRL's num_tokens, HF's num_input_tokens_seen). */
  private tokensSeen = 0;

  constructor(private readonly init: TrainerInit) {
    const { recipe, train } = init;
    if (init.eval && init.eval.method !== train.method) throw new TypeError(`Trainer: ${init.eval.method} eval rows for a ${train.method} run`);
    this.objective = createObjective(train.method, { ctx: init.ctx, model: init.model, adapter: init.adapter, recipe, padId: init.padId });
    this.total = totalSteps(recipe, train.rows.length);
    this.batchesPerEpoch = Math.max(1, Math.ceil(train.rows.length / recipe.per_device_train_batch_size));
    this.optimizer = new LoraOptimizer(init.ctx, init.adapter, {
      optim: recipe.optim,
      beta1: recipe.adam_beta1,
      beta2: recipe.adam_beta2,
      eps: recipe.adam_epsilon,
      weightDecay: recipe.weight_decay,
      maxGradNorm: recipe.max_grad_norm,
    });
  }

  /** Continues from a checkpoint: adapter weights must already be loaded into init.adapter. */
  restore(ckpt: DecodedCheckpoint): void {
    this.optimizer.importState(ckpt.optimizer);
    this.step = ckpt.state.global_step;
    this.microBatch = ckpt.state.micro_batch;
    this.history = ckpt.state.log_history ?? [];
    this.tokensSeen = ckpt.state.num_input_tokens_seen ?? 0; // checkpoints written before it was saved start from 0
  }

  get trainableParameters(): number {
    return this.optimizer.parameterCount;
  }

  async run(): Promise<TrainResult> {
    const { recipe, callbacks } = this.init;
    let skipped = 0;
    let stopped = false;
    let lastLog: LogEntry | null = null;
    let lastSaved = this.step;
    const started = Date.now();
    let tokensThisRun = 0;
    const firstStep = this.step;
    while (this.step < this.total) {
      if ((await callbacks?.beforeStep?.()) === 'stop') {
        stopped = true;
        break;
      }
      const { metrics, tokens, applied } = await this.trainStep();
      if (this.step === firstStep) await autotunePendingMatmuls(this.init.ctx); // no-op on CPU adapters
      tokensThisRun += tokens;
      this.step++;
      if (!applied) {
        skipped++;
        callbacks?.onWarning?.(`step ${this.step}: the loss or gradients were not finite (NaN/Inf); the update was skipped. Try a lower learning_rate.`);
      }
      const elapsed = (Date.now() - started) / 1000;
      const rate = tokensThisRun / Math.max(elapsed, 1e-3);
      const stepsPerSec = (this.step - firstStep) / Math.max(elapsed, 1e-3);
      callbacks?.onProgress?.({ step: this.step, total: this.total, tokensPerSecond: rate, etaSeconds: (this.total - this.step) / Math.max(stepsPerSec, 1e-9), loss: metrics.loss });
      if (this.step % recipe.logging_steps === 0 || this.step === this.total) {
        const entry = { step: this.step, ...metrics };
        lastLog = entry;
        await this.log(entry);
      }
      if (recipe.eval_steps && this.init.eval && (this.step % recipe.eval_steps === 0 || this.step === this.total)) {
        await this.log({ step: this.step, epoch: this.epoch(), ...(await this.evaluate()) });
      }
      if (applied && this.step % recipe.save_steps === 0 && this.step < this.total) {
        await this.saveCheckpoint();
        lastSaved = this.step;
      }
    }
    if (this.step > lastSaved && stopped) await this.saveCheckpoint();
    await this.init.store.saveFinal(await this.adapterFiles());
    return { steps: this.step, stopped, skippedSteps: skipped, lastLog, history: this.history };
  }

  /** Eval metrics with the `eval_` prefix HF uses. */
  async evaluate(): Promise<LogEntry> {
    const ev = this.init.eval!;
    const { metrics } = await this.objective.evaluate(ev.rows, this.init.recipe.per_device_eval_batch_size);
    const out: LogEntry = {};
    for (const [k, v] of Object.entries(metrics)) out[`eval_${k}`] = v;
    return out;
  }

  /**
   * A reward model's scores of the eval rows (or of the first `max` training rows) as it is now:
   * the chosen vs rejected distribution the studio draws after a run; null for other methods.
   */
  async rewardScores(max = 256): Promise<{ chosen: number[]; rejected: number[] } | null> {
    const { train, recipe } = this.init;
    if (!OBJECTIVES[train.method].scoreHead) return null;
    const rows = (this.init.eval ?? train).rows.slice(0, max);
    return (await this.objective.evaluate(rows, recipe.per_device_eval_batch_size)).scores ?? null;
  }

  destroy(): void {
    this.optimizer.destroy();
  }

  private async trainStep(): Promise<{ metrics: LogEntry; tokens: number; applied: boolean }> {
    const { ctx, adapter, recipe, train } = this.init;
    const lr = learningRateAt(recipe, this.step, this.total);
    zeroLoraGrads(ctx, adapter);
    const report = new StepReport(ctx);
    const micro: MicroBatch<unknown>[] = Array.from({ length: recipe.gradient_accumulation_steps }, (_, k) => {
      const indices = this.microRows(this.microBatch + k);
      return { rows: indices.map((i) => train.rows[i]), indices, dropoutSeed: this.dropoutSeed(k) };
    });
    const step = this.objective.recordStep(micro, report);
    // One buffer: [the objective's values | optimizer stats]; the values are checked for NaN/Inf with the gradients.
    const lossFloats = report.size;
    const buf = ctx.pool.acquire((lossFloats + 4) * 4, undefined, 'step report');
    report.record(buf);
    this.optimizer.step(lr, { buffer: buf, n: lossFloats });
    ctx.copy(this.optimizer.stats, 0, buf, lossFloats * 4, 16);
    const data = await ctx.readF32(buf, lossFloats + 4);
    ctx.pool.release(buf);
    step.release();
    const applied = data[lossFloats + 3] === 0;
    this.optimizer.commit(applied);
    this.microBatch += recipe.gradient_accumulation_steps;
    this.tokensSeen += step.tokens;
    const metrics = step.metrics(data, { grad_norm: data[lossFloats + 1], learning_rate: lr, epoch: this.epoch(), num_tokens: this.tokensSeen });
    return { metrics, tokens: step.tokens, applied };
  }

  /** Row indices of global micro-batch m (epoch-wise seeded shuffle, or the dataset order where the objective says so). */
  private microRows(m: number): number[] {
    const { recipe, train } = this.init;
    const n = train.rows.length;
    const epoch = Math.floor(m / this.batchesPerEpoch);
    const within = m % this.batchesPerEpoch;
    const order = OBJECTIVES[train.method].dataOrder === 'sequential' ? Array.from({ length: n }, (_, i) => i) : epochOrder(n, recipe.seed, epoch);
    const bs = recipe.per_device_train_batch_size;
    return order.slice(within * bs, Math.min(n, (within + 1) * bs));
  }

  private epoch(): number {
    return this.microBatch / this.batchesPerEpoch;
  }

  private dropoutSeed(k: number): number {
    return (this.init.recipe.seed * 7919 + this.microBatch + k + 1) >>> 0;
  }

  private async log(entry: LogEntry): Promise<void> {
    this.history.push(entry);
    this.init.callbacks?.onLog?.(entry);
    await this.init.store.appendMetrics(entry);
  }

  private async adapterFiles(): Promise<FileMap> {
    const { ctx, adapter, model, baseModel } = this.init;
    const files = await adapterFileBytes(ctx, adapter, model.spec.numLayers, baseModel);
    return { 'adapter_config.json': new TextEncoder().encode(files.config), 'adapter_model.safetensors': files.weights };
  }

  private async saveCheckpoint(): Promise<void> {
    const { ctx, adapter, model, baseModel, recipe, train } = this.init;
    const files = await adapterFileBytes(ctx, adapter, model.spec.numLayers, baseModel);
    const state: TrainerState = {
      global_step: this.step,
      epoch: this.epoch(),
      micro_batch: this.microBatch,
      optimizer_t: this.optimizer.t,
      total_steps: this.total,
      method: train.method,
      num_input_tokens_seen: this.tokensSeen,
      log_history: this.history,
    };
    const scheduler = { lr_scheduler_type: recipe.lr_scheduler_type, total_steps: this.total, warmup_steps: warmupSteps(recipe, this.total), last_step: this.step };
    const checkpoint = encodeCheckpoint(
      state,
      files.config,
      files.weights,
      await this.optimizer.exportState(),
      scheduler,
      recipe.seed,
    );
    await this.init.store.saveCheckpoint(this.step, checkpoint);
    this.init.callbacks?.onCheckpoint?.(this.step);
  }
}

