// A training method is an objective (what TRL's compute_loss is to its trainers): how its
// examples become GPU batches, what one optimizer step records (forward, loss, backward), which
// metrics it logs, and how it evaluates. The loop (train/trainer.ts), evaluation
// (session/evaluation.ts) and the memory estimate (session/memory.ts) know methods only through
// this interface; each method is one file in this folder plus one line in index.ts.
import type { GpuContext } from '../../gpu/context.ts';
import type { LoraAdapter } from '../../model/loraTypes.ts';
import type { LlamaModel } from '../../model/model.ts';
import type { Recipe } from '../../recipe/schema.ts';
import type { StepReport } from '../report.ts';

/** One log row: TRL's metric names -> values. */
export type LogEntry = Record<string, number>;

/** What an objective computes with. adapter null = the base model (evaluating it without LoRA). */
export interface ObjectiveRun {
  ctx: GpuContext;
  model: LlamaModel;
  adapter: LoraAdapter | null;
  recipe: Recipe;
  /** Fills the tail of padded rows (it is never a label). */
  padId: number;
}

/** One micro-batch of an optimizer step. */
export interface MicroBatch<Row> {
  rows: Row[];
  /** Each row's index in the training set: stable across epochs and resumes (keys for caches, e.g. DPO's reference log-probs). */
  indices: number[];
  /** Seeds this micro-batch's LoRA dropout masks. */
  dropoutSeed: number;
}

/** A step recorded on the GPU, waiting for the step report to be read back. */
export interface RecordedStep {
  /** Tokens the step ran through the model (every row's ids, no padding): tokens/s and TRL's num_tokens. */
  tokens: number;
  /**
   * The step's log row from the read-back report, in TRL's names and order; `common` holds
   * grad_norm, learning_rate, epoch and num_tokens (the running total of input tokens), which the
   * objective places among its own metrics.
   */
  metrics(report: Float32Array, common: LogEntry): LogEntry;
  /** Frees the step's GPU batches (called after the readback). */
  release(): void;
}

export interface EvalResult {
  /** Metrics without the eval_ prefix (the trainer adds it), e.g. { loss } or DPO's rewards/*. */
  metrics: LogEntry;
  /** Examples evaluated. */
  rows: number;
  /** Tokens the loss counted, when the method counts tokens (SFT). */
  tokens?: number;
  /** Each pair's rewards, when the method scores rows (a reward model): the distribution the studio draws. */
  scores?: { chosen: number[]; rejected: number[] };
}

export interface Objective<Row> {
  /**
   * Records forward, loss and backward of every micro-batch of one optimizer step, accumulating
   * LoRA gradients so that the step's gradient is that of the step's loss (TRL's normalisation
   * for the method). Nothing is read back: what the metrics need is added to `report`, which
   * takes ownership of those buffers.
   */
  recordStep(micro: MicroBatch<Row>[], report: StepReport): RecordedStep;
  /**
   * Loss and metrics over `rows` without training, batchSize examples per forward pass;
   * onProgress(done) after each batch (examples evaluated so far).
   */
  evaluate(rows: Row[], batchSize: number, onProgress?: (done: number) => void): Promise<EvalResult>;
}

export interface ObjectiveDefinition<Row> {
  /**
   * Sequences one example becomes in a batch (SFT 1; DPO 2: chosen and rejected): how many
   * rows of activations per_device_train_batch_size examples take (the memory estimate).
   */
  sequencesPerExample: number;
  /**
   * How the trainer orders the rows: a seeded shuffle per epoch (default; HF Trainer's
   * RandomSampler), or the dataset order (TRL's KTOTrainer uses a SequentialSampler).
   */
  dataOrder?: 'shuffled' | 'sequential';
  /**
   * A reward model: the method trains a score head beside the LoRA (a fresh one, normal(0,
   * initializer_range), when the starting adapter has none; saved as a PEFT SEQ_CLS adapter), and
   * its evaluation returns each pair's scores (EvalResult.scores).
   */
  scoreHead?: boolean;
  create(run: ObjectiveRun): Objective<Row>;
}
