// The training loop shared by SFT and DPO: seeded data order, gradient accumulation, one readback
// per optimizer step, metrics with TRL's names, evaluation, checkpoints (atomic) and resume.
import type { GpuContext } from '../gpu/context.ts';
import { uploadBatch, type GpuBatch } from '../model/batch.ts';
import type { LlamaModel } from '../model/model.ts';
import { readLoraWeights, zeroLoraGrads } from '../lora/adapter.ts';
import { peftConfigJson, peftWeightsBytes } from '../lora/peft.ts';
import type { LoraAdapter } from '../lora/types.ts';
import { dpoBatch, epochOrder, packRows, sftBatch } from './batching.ts';
import { encodeCheckpoint, type DecodedCheckpoint, type TrainerState } from './checkpointState.ts';
import { dpoStepMetrics, recordDpoMicroStep, type DpoMicroResult, type ReferenceCache } from './dpoStep.ts';
import { evaluateDpo, evaluateSft } from './evaluate.ts';
import { type PreferenceExample, type SftExample, type TrainingExamples } from './examples.ts';
import { LoraOptimizer } from './optimizer.ts';
import type { Recipe } from './recipe.ts';
import { totalSteps } from './recipe.ts';
import { StepReport } from './report.ts';
import type { FileMap, RunStore } from './runStore.ts';
import { learningRateAt, warmupSteps } from './schedule.ts';
import { recordSftMicroStep, sftStepLoss, type SftMicroResult } from './sftStep.ts';
import { autotunePendingMatmuls } from '../ops/matmulAutotune.ts';

export type LogEntry = Record<string, number>;

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
  private readonly referenceCache: ReferenceCache = new Map();
  readonly total: number;
  private readonly batchesPerEpoch: number;
  private history: LogEntry[] = [];
  private step = 0;
  private microBatch = 0;

  constructor(private readonly init: TrainerInit) {
    const { recipe, train } = init;
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
    let tokensSeen = 0;
    const firstStep = this.step;
    while (this.step < this.total) {
      if ((await callbacks?.beforeStep?.()) === 'stop') {
        stopped = true;
        break;
      }
      const { metrics, tokens, applied } = await this.trainStep();
      if (this.step === firstStep) await autotunePendingMatmuls(this.init.ctx); // no-op on CPU adapters
      tokensSeen += tokens;
      this.step++;
      if (!applied) {
        skipped++;
        callbacks?.onWarning?.(`step ${this.step}: the loss or gradients were not finite (NaN/Inf); the update was skipped. Try a lower learning_rate.`);
      }
      const elapsed = (Date.now() - started) / 1000;
      const rate = tokensSeen / Math.max(elapsed, 1e-3);
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
    const { ctx, model, adapter, recipe, padId } = this.init;
    const ev = this.init.eval!;
    const bs = recipe.per_device_train_batch_size;
    const m =
      ev.method === 'sft'
        ? { loss: (await evaluateSft(ctx, model, adapter, ev.rows, padId, bs)).loss }
        : await evaluateDpo(ctx, model, adapter, ev.rows, padId, this.dpoHyper(), bs);
    const out: LogEntry = {};
    for (const [k, v] of Object.entries(m)) if (k !== 'rows') out[`eval_${k}`] = v as number;
    return out;
  }

  destroy(): void {
    this.optimizer.destroy();
  }

  private async trainStep(): Promise<{ metrics: LogEntry; tokens: number; applied: boolean }> {
    const { ctx, model, adapter, recipe, train, padId } = this.init;
    const lr = learningRateAt(recipe, this.step, this.total);
    zeroLoraGrads(ctx, adapter);
    const report = new StepReport(ctx);
    const micro = Array.from({ length: recipe.gradient_accumulation_steps }, (_, k) => this.microRows(this.microBatch + k));
    const batches: GpuBatch[] = [];
    let tokens = 0;
    const sftResults: SftMicroResult[] = [];
    const dpoResults: DpoMicroResult[] = [];
    if (train.method === 'sft') {
      const rows = micro.map((idx) => idx.map((i) => train.rows[i]));
      for (const r of rows) batches.push(uploadBatch(ctx, recipe.packing ? packRows(r, recipe.max_length, padId) : sftBatch(r, padId)));
      // Counted from the batches, not the rows: packing truncates rows longer than max_length.
      const stepTokens = batches.reduce((s, b) => s + b.countedTokens, 0);
      batches.forEach((batch, k) => {
        tokens += rows[k].reduce((s, x) => s + x.ids.length, 0);
        sftResults.push(recordSftMicroStep(ctx, model, adapter, batch, Math.max(stepTokens, 1), this.dropoutSeed(k), report));
        ctx.flush();
      });
    } else {
      const stepPairs = micro.reduce((s, idx) => s + idx.length, 0);
      micro.forEach((idx, k) => {
        const pairs = idx.map((i) => train.rows[i]);
        const batch = uploadBatch(ctx, dpoBatch(pairs, padId));
        batches.push(batch);
        tokens += pairs.reduce((s, p) => s + p.chosen.ids.length + p.rejected.ids.length, 0);
        dpoResults.push(recordDpoMicroStep(ctx, model, adapter, batch, idx, this.referenceCache, this.dpoHyper(), stepPairs, this.dropoutSeed(k), report));
        ctx.flush();
      });
    }
    // One buffer: [loss values | stats]; the loss values are checked for NaN/Inf with the gradients.
    const lossFloats = report.size;
    const buf = ctx.pool.acquire((lossFloats + 4) * 4, undefined, 'step report');
    report.record(buf);
    this.optimizer.step(lr, { buffer: buf, n: lossFloats });
    ctx.copy(this.optimizer.stats, 0, buf, lossFloats * 4, 16);
    const data = await ctx.readF32(buf, lossFloats + 4);
    ctx.pool.release(buf);
    for (const b of batches) b.destroy();
    const applied = data[lossFloats + 3] === 0;
    this.optimizer.commit(applied);
    this.microBatch += recipe.gradient_accumulation_steps;
    const common = { grad_norm: data[lossFloats + 1], learning_rate: lr, epoch: this.epoch() };
    const metrics: LogEntry =
      train.method === 'sft'
        ? { loss: sftStepLoss(data, sftResults), ...common, num_tokens: sftResults.reduce((s, m) => s + m.tokens, 0) }
        : { ...dpoStepMetrics(data, dpoResults, this.referenceCache), ...common };
    return { metrics, tokens, applied };
  }

  /** Row indices of global micro-batch m (epoch-wise seeded shuffle). */
  private microRows(m: number): number[] {
    const { recipe, train } = this.init;
    const n = train.rows.length;
    const epoch = Math.floor(m / this.batchesPerEpoch);
    const within = m % this.batchesPerEpoch;
    const order = epochOrder(n, recipe.seed, epoch);
    const bs = recipe.per_device_train_batch_size;
    return order.slice(within * bs, Math.min(n, (within + 1) * bs));
  }

  private epoch(): number {
    return this.microBatch / this.batchesPerEpoch;
  }

  private dropoutSeed(k: number): number {
    return (this.init.recipe.seed * 7919 + this.microBatch + k + 1) >>> 0;
  }

  private dpoHyper() {
    const r = this.init.recipe;
    return { beta: r.beta, lossType: r.loss_type, labelSmoothing: r.label_smoothing };
  }

  private async log(entry: LogEntry): Promise<void> {
    this.history.push(entry);
    this.init.callbacks?.onLog?.(entry);
    await this.init.store.appendMetrics(entry);
  }

  private async adapterFiles(): Promise<FileMap> {
    const { ctx, adapter, model, baseModel } = this.init;
    const weights = await readLoraWeights(ctx, adapter);
    return {
      'adapter_config.json': new TextEncoder().encode(peftConfigJson(adapter.config, baseModel)),
      'adapter_model.safetensors': peftWeightsBytes(adapter.config, model.spec.numLayers, weights),
    };
  }

  private async saveCheckpoint(): Promise<void> {
    const { ctx, adapter, model, baseModel, recipe, train } = this.init;
    const weights = await readLoraWeights(ctx, adapter);
    const state: TrainerState = {
      global_step: this.step,
      epoch: this.epoch(),
      micro_batch: this.microBatch,
      optimizer_t: this.optimizer.t,
      total_steps: this.total,
      method: train.method,
      log_history: this.history,
    };
    const scheduler = { lr_scheduler_type: recipe.lr_scheduler_type, total_steps: this.total, warmup_steps: warmupSteps(recipe, this.total), last_step: this.step };
    const files = encodeCheckpoint(
      state,
      peftConfigJson(adapter.config, baseModel),
      peftWeightsBytes(adapter.config, model.spec.numLayers, weights),
      await this.optimizer.exportState(),
      scheduler,
      recipe.seed,
    );
    await this.init.store.saveCheckpoint(this.step, files);
    this.init.callbacks?.onCheckpoint?.(this.step);
  }
}

export type { PreferenceExample, SftExample };
