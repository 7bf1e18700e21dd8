// A training run, assembled once for both faces (`whetstone train` and EngineApi.train): recipe +
// loaded model + dataset (+ evaluation data or split, + a checkpoint to resume or an adapter to
// start from) -> a ready Trainer, with the memory estimate checked before anything is allocated,
// the first step watched for out-of-memory, sample generations, and a lost device turned into a
// GpuDeviceLost naming the checkpoint to resume from. The faces keep only their own concerns: flags
// and terminal output; postMessage shapes, page callbacks and pause/stop.
import type { LoadedDataset } from '../data/dataset.ts';
import type { TrainingExamples } from '../data/examples.ts';
import type { PackingStats } from '../data/packing.ts';
import type { GpuContext } from '../gpu/context.ts';
import { GpuDeviceLost, GpuOutOfMemory } from '../gpu/errors.ts';
import type { ByteSource } from '../io/byteSource.ts';
import type { FileMap, FileSet } from '../io/fileSet.ts';
import { attachScoreHead, createLoraAdapter, destroyAdapter } from '../lora/adapter.ts';
import { freshScoreWeight } from '../lora/seqCls.ts';
import { OBJECTIVES } from '../train/objectives/index.ts';
import { WhetstoneError } from '../errors.ts';
import { loadAdapter, loadAdapterFiles } from '../lora/load.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../lora/peft.ts';
import type { LoraAdapter } from '../lora/types.ts';
import type { LoadedModel } from '../model/loadModel.ts';
import { LlamaModel } from '../model/model.ts';
import { checkLoadedAsRecipe } from '../quant/loadNf4.ts';
import type { Recipe } from '../recipe/schema.ts';
import type { CheckpointExpectation } from '../train/checkpointCheck.ts';
import { decodeCheckpoint, type DecodedCheckpoint } from '../train/checkpointState.ts';
import { splitEval } from '../train/evalSplit.ts';
import { loraConfigFromRecipe } from '../train/recipe.ts';
import { absurdValueWarnings } from '../train/recipeWarnings.ts';
import type { RunStore } from '../train/runStore.ts';
import { Trainer, type TrainerCallbacks, type TrainResult } from '../train/trainer.ts';
import { chatPrompt, generateText } from './chat.ts';
import { loadExamples, packForRecipe } from './data.ts';
import { FirstStepGuard } from './firstStepGuard.ts';
import { estimateTrainingMemory, trainingOutOfMemory, type MemoryEstimate } from './memory.ts';

/** Greedy tokens of each sample generation. */
export const SAMPLE_TOKENS = 24;

export interface TrainingCallbacks extends TrainerCallbacks {
  /** A sample answer to a fixed prompt, every fifth of the run (only with `samples`). */
  onSample?(step: number, prompt: string, text: string): void;
}

export interface TrainingSessionInit {
  ctx: GpuContext;
  loaded: LoadedModel;
  recipe: Recipe;
  /** The training file (.jsonl, .json, .csv, .parquet). */
  data: ByteSource;
  /** Evaluation rows from their own file; without it, recipe.eval_split holds some training rows out. */
  evalData?: ByteSource | null;
  /**
   * Continue from a checkpoint-N (name: for messages): its files, checked here by checkResume, or a
   * checkpoint the face already read with checkResume (the CLI does, before it locks --output_dir).
   */
  resumeFrom?: ResumeFiles | { name: string; checkpoint: DecodedCheckpoint } | null;
  /** Start from an existing PEFT adapter (its r, alpha and targets) instead of a fresh one. */
  adapter?: FileSet | null;
  store: RunStore;
  /** adapter_config.json's base_model_name_or_path. */
  baseModel: string;
  /** When the estimate says the run does not fit: refuse with GpuOutOfMemory (default), or warn and try. */
  memoryPolicy?: 'refuse' | 'warn';
  /** Sample generations; prompt empty = the dataset's first user turn. */
  samples?: { prompt?: string | null } | null;
  /** Resolves when the GPU device is lost: the run then ends with GpuDeviceLost at once. */
  deviceLost?: Promise<GpuDeviceLost> | null;
  callbacks?: TrainingCallbacks;
}

/** A checkpoint's files; it must be of the recipe's method and optimizer, and match `expected` (the LoRA options the user set). */
export interface ResumeFiles {
  name: string;
  files: FileMap;
  expected?: CheckpointExpectation;
}

/** Reads and checks a checkpoint strictly before anything is restored: the same method and optimizer, and the LoRA shape the face asks for. */
export function checkResume(recipe: Recipe, from: ResumeFiles): Promise<DecodedCheckpoint> {
  return decodeCheckpoint(from.files, from.name, { method: recipe.method, optim: recipe.optim, ...from.expected });
}

export interface TrainingSummary extends TrainResult {
  total: number;
  /** The loss of the last step (every step's, not only logged ones). */
  finalLoss: number | null;
  /** A reward model's scores of its eval rows (or first training rows) at the end: chosen vs rejected. */
  rewardScores: { chosen: number[]; rejected: number[] } | null;
}

/**
 * A reward model trains a score head beside the LoRA: a fresh one (transformers' init,
 * normal(0, initializer_range)) when the adapter has none (a new run, or a causal-LM adapter to
 * start from). Other methods train a causal LM: a reward model's adapter cannot start them.
 */
function withScoreHeadAsNeeded(ctx: GpuContext, loaded: LoadedModel, recipe: Recipe, adapter: LoraAdapter, given: string | null): void {
  const rewardModel = OBJECTIVES[recipe.method].scoreHead === true;
  if (rewardModel && !adapter.score) attachScoreHead(ctx, adapter, freshScoreWeight(loaded.spec.hiddenSize, loaded.spec.initializerRange, (recipe.seed * 31 + 7) >>> 0));
  if (!rewardModel && adapter.score) {
    throw new WhetstoneError(
      `${given ?? 'the adapter'} is a reward model (task_type SEQ_CLS, with a score head); method ${recipe.method} trains a causal LM`,
      'Start from a causal-LM adapter (or none), or train it further with --method reward.',
    );
  }
}

/** Prepares a run (nothing trained yet): see TrainingSession. Frees what it allocated if it fails. */
export async function prepareTraining(init: TrainingSessionInit): Promise<TrainingSession> {
  const { ctx, loaded, recipe } = init;
  const warn = (w: string) => init.callbacks?.onWarning?.(w);
  for (const w of absurdValueWarnings(recipe, loaded.spec)) warn(w);
  checkLoadedAsRecipe(loaded.model.weights.quantization, recipe);
  const estimate = estimateTrainingMemory(loaded, ctx.caps, recipe);
  if (!estimate.fits) {
    if (init.memoryPolicy !== 'warn') throw trainingOutOfMemory(estimate, recipe, null);
    warn(`${estimate.advice} Trying anyway.`);
  }
  const data = await loadExamples(init.data, loaded.tokenizer, recipe);
  for (const w of data.warnings) warn(w);
  let train: TrainingExamples = data.examples;
  let evalSet: TrainingExamples | null = null;
  if (init.evalData) evalSet = (await loadExamples(init.evalData, loaded.tokenizer, recipe)).examples;
  else if (recipe.eval_split > 0 && train.rows.length > 1) [train, evalSet] = splitEval(train, recipe.eval_split, recipe.seed);
  // Packed once here (TRL packs the dataset, eval rows too by default); the trainer sees packed rows as rows.
  const packed = packForRecipe(train, recipe);
  train = packed.examples;
  if (evalSet) evalSet = packForRecipe(evalSet, recipe).examples;
  const samplePrompt = init.samples ? init.samples.prompt?.trim() || data.samplePrompt : null;

  const from = init.resumeFrom;
  const resume = !from ? null : 'checkpoint' in from ? from.checkpoint : await checkResume(recipe, from);
  const adapter = resume
    ? await loadAdapterFiles(ctx, loaded.spec, init.resumeFrom!.name, { [ADAPTER_CONFIG]: new TextEncoder().encode(resume.adapterConfig), [ADAPTER_WEIGHTS]: resume.adapterWeights })
    : init.adapter
      ? await loadAdapter(ctx, loaded.spec, init.adapter)
      : createLoraAdapter(ctx, loaded.spec, loraConfigFromRecipe(recipe), recipe.seed);
  try {
    withScoreHeadAsNeeded(ctx, loaded, recipe, adapter, init.adapter ? 'the starting adapter' : null);
    return new TrainingSession(init, estimate, data, train, evalSet, adapter, resume, samplePrompt, packed.packing);
  } catch (e) {
    destroyAdapter(adapter);
    throw e;
  }
}

/**
 * A prepared run: the model (a view of the loaded weights with the recipe's gradient
 * checkpointing), the adapter, the trainer. run() trains (once) and frees everything at the end.
 */
export class TrainingSession {
  readonly trainer: Trainer;
  readonly model: LlamaModel;
  private lastCheckpointStep: number | null;
  private lastStep: number;
  private lastLoss: number | null = null;
  private sampledAt: number;
  private readonly sampleEvery: number;
  private readonly guard: FirstStepGuard;
  private destroyed = false;

  constructor(
    private readonly init: TrainingSessionInit,
    readonly estimate: MemoryEstimate,
    /** The training file as loaded (format, statistics). */
    readonly data: LoadedDataset,
    /** The rows the trainer steps through (packed sequences when the recipe packs). */
    readonly train: TrainingExamples,
    readonly evalSet: TrainingExamples | null,
    readonly adapter: LoraAdapter,
    resume: DecodedCheckpoint | null,
    readonly samplePrompt: string | null,
    /** How the training rows were packed (recipe.packing), null when they were not. */
    readonly packing: PackingStats | null,
  ) {
    const { ctx, loaded, recipe } = init;
    const user = init.callbacks ?? {};
    this.model = new LlamaModel(ctx, loaded.spec, loaded.model.weights, { gradientCheckpointing: recipe.gradient_checkpointing });
    this.guard = new FirstStepGuard(ctx.device, estimate, recipe);
    const start = resume?.state.global_step ?? 0;
    this.lastStep = start;
    this.sampledAt = resume ? start : -1;
    this.lastCheckpointStep = resume ? start : null;
    this.trainer = new Trainer({
      ctx,
      model: this.model,
      adapter,
      recipe,
      train: this.train,
      eval: evalSet,
      padId: loaded.tokenizer.padId,
      store: init.store,
      baseModel: init.baseModel,
      callbacks: {
        beforeStep: async () => {
          await this.guard.check(); // the first step's allocations succeeded
          if (this.lastStep > 0 && this.lastStep % this.sampleEvery === 0) await this.sample(this.lastStep);
          const go = (await user.beforeStep?.()) ?? 'continue';
          if (go === 'continue') this.guard.begin();
          return go;
        },
        onProgress: (p) => {
          this.guard.end();
          this.lastStep = p.step;
          this.lastLoss = p.loss;
          user.onProgress?.(p);
        },
        onLog: (e) => user.onLog?.(e),
        onWarning: (w) => user.onWarning?.(w),
        onCheckpoint: (step) => {
          this.lastCheckpointStep = step;
          user.onCheckpoint?.(step);
        },
      },
    });
    if (resume) this.trainer.restore(resume);
    this.sampleEvery = Math.max(1, Math.floor(this.trainer.total / 5));
  }

  /** Optimizer steps of the whole run. */
  get total(): number {
    return this.trainer.total;
  }

  /** The step the run starts from (the checkpoint's when resuming). */
  get startStep(): number {
    return this.lastStep;
  }

  /** Trains to the end (or until beforeStep says stop), saves the final adapter, and frees the run's GPU memory. */
  async run(): Promise<TrainingSummary> {
    const lost = this.init.deviceLost;
    try {
      const running = this.trainer.run();
      running.catch(() => {}); // when the device is lost first, the race below has already answered
      const result = await (lost ? Promise.race([running, lost.then((e) => Promise.reject(e))]) : running);
      await this.guard.check();
      if (result.steps > 0 && (result.steps % this.sampleEvery === 0 || result.steps === this.total)) await this.sample(result.steps);
      const rewardScores = await this.trainer.rewardScores();
      return { ...result, total: this.total, finalLoss: this.lastLoss ?? result.lastLog?.loss ?? null, rewardScores };
    } catch (e) {
      this.guard.end();
      const gone = lost ? await settled(lost) : null;
      if (gone) throw new GpuDeviceLost(gone.reason, gone.message, { lastCheckpointStep: this.lastCheckpointStep });
      // A buffer larger than the device allows: say what the whole run needs and what to lower.
      if (e instanceof GpuOutOfMemory && e.weightsBytes === undefined) throw trainingOutOfMemory(this.estimate, this.init.recipe, e.message);
      throw e;
    } finally {
      this.destroy();
    }
  }

  /** Frees the run's model view, adapter and optimizer (run() does it; call it when run() is never called). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.trainer.destroy();
    this.model.destroy();
    destroyAdapter(this.adapter);
    this.init.ctx.pool.trim();
  }

  private async sample(step: number): Promise<void> {
    const onSample = this.init.callbacks?.onSample;
    if (!onSample || !this.samplePrompt || this.sampledAt === step) return;
    this.sampledAt = step;
    const tokenizer = this.init.loaded.tokenizer;
    const { text } = await generateText(this.model, tokenizer, chatPrompt(tokenizer, this.samplePrompt).ids, this.adapter, { maxNewTokens: SAMPLE_TOKENS });
    onSample(step, this.samplePrompt, text);
  }
}

/** The device-loss error if the device is lost now or within a moment (errors of a dying device come first). */
function settled(lost: Promise<GpuDeviceLost>): Promise<GpuDeviceLost | null> {
  return Promise.race([lost, new Promise<null>((r) => setTimeout(() => r(null), 100))]);
}
