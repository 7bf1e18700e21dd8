// The studio <-> engine contract for model loading, datasets, training, chat and export.
// EngineApi (engine/api.ts, in the worker) implements these methods; the page calls them through
// app/engineClient.ts. Every argument and result is structured-clone data; callbacks are
// Comlink.proxy functions; errors arrive as ApiError ({name, message, hint, details}).
import type { Method } from '../recipe/methods.ts';
import type { MemoryEstimate } from '../session/memory.ts';
import type { ProgressCallback } from './types.ts';

/** Where a model comes from. `demo` is the tiny model shipped in public/models/demo (offline). */
export type ModelSource =
  | { kind: 'demo' }
  | { kind: 'hub'; repo: string; revision?: string; /** in memory only, never stored */ token?: string }
  | { kind: 'files'; /** a dropped or picked folder: relative path -> bytes */ files: { path: string; data: ArrayBuffer }[]; name: string };

export interface ModelInfo {
  name: string; // e.g. "Whetstone demo (tiny Llama)" or "HuggingFaceTB/SmolLM2-135M-Instruct"
  modelType: string; // llama | qwen2 | qwen3
  parameters: number;
  layers: number;
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  /** The context the model was trained for (config.json max_position_embeddings). */
  maxPositionEmbeddings: number;
  hasChatTemplate: boolean;
  weightDtype: 'bf16' | 'f16' | 'f32';
  weightBytes: number; // bytes of weights on the GPU
  /** The checkpoint is saved in 4-bit (bitsandbytes NF4): it trains as QLoRA, and the merged export dequantizes it. */
  savedIn4bit: boolean;
}

export type { MemoryEstimate, Method };

export interface DatasetIssueReport {
  line: number; // 1-based line (JSONL/CSV) or row (JSON/Parquet); 0 = about the whole file
  field?: string;
  message: string; // "demo.jsonl line 3: messages[1].role is \"robot\"; expected system, user or assistant"
  /** What to do (a file-level problem: e.g. which columns to rename). */
  hint?: string;
}

/** A preference pair as the trainer reads it: the shared prompt once, the two completions (as text). */
export interface PairPreview {
  line: number;
  prompt: string;
  chosen: string;
  rejected: string;
}

export interface DatasetReport {
  fileName: string;
  format: string; // human name, e.g. "OpenAI messages", "preference pairs (prompt/chosen/rejected)"
  /** "gzip" when the file was gzip-compressed, else null. */
  compression: string | null;
  method: Method; // what the format implies
  rows: number; // valid rows
  countLabel: string; // "3 rows" (SFT), "3 pairs" (DPO, ORPO, SimPO, reward) or "6 examples" (KTO)
  errors: DatasetIssueReport[]; // first errors (up to ~50)
  errorCount: number;
  preview: Record<string, unknown>[]; // first rows as parsed (for the table)
  /** Preference data: the first pairs split as trained (for HH transcripts: the shared prompt, then where they differ). */
  pairPreview: PairPreview[] | null;
  /** With a model loaded: one example rendered through the chat template, token by token. */
  maskPreview: { text: string; trained: boolean }[] | null;
  /** With a model loaded: token statistics (per row; DPO: prompt + the longer completion) and how many tokens the loss counts. */
  tokenStats: { min: number; max: number; mean: number; p50: number; p95: number; trainedTokens: number; truncated: number } | null;
}

/** The recipe object: the same JSON the CLI's --config reads (engine/recipe/fields.ts, TRL names). */
export type RecipeJson = Record<string, unknown>;

export interface TrainCallbacks {
  /** After every optimizer step: phase "train", done = step, total = max steps, metrics = TRL names + tokens_per_second, eta_seconds. */
  onProgress: ProgressCallback;
  /** Every logging step: { step, loss, learning_rate, grad_norm, epoch, ...DPO rewards/... }. */
  onLog: (entry: Record<string, number>) => void;
  /** A complete checkpoint to persist (IndexedDB); files as in checkpoint-N/ of the CLI. */
  onCheckpoint: (step: number, files: Record<string, ArrayBuffer>) => void | Promise<void>;
  /** A sample generation on a fixed prompt every few steps. */
  onSample?: (step: number, prompt: string, text: string) => void;
  onWarning?: (message: string) => void;
}

export interface TrainRequest {
  recipe: RecipeJson;
  dataset: { name: string; data: ArrayBuffer };
  /** Resume from a checkpoint's files (after a reload or a lost device). */
  resumeFrom?: Record<string, ArrayBuffer> | null;
  /** Prompt for the periodic sample generations (default: first prompt of the dataset). */
  samplePrompt?: string;
}

export interface TrainSummary {
  steps: number;
  totalSteps: number;
  stopped: boolean;
  finalLoss: number | null;
  lastLog: Record<string, number> | null;
  /** The final PEFT adapter: adapter_config.json and adapter_model.safetensors. */
  adapter: Record<string, ArrayBuffer>;
  /** A reward model's scores of its eval rows (or first training rows) at the end: the chosen vs rejected distribution. */
  rewardScores?: { chosen: number[]; rejected: number[] } | null;
}

/** Best-of-N: every sampled answer with the reward model's score, and the best one's index. */
export interface BestOfNResult {
  candidates: { text: string; reward: number }[];
  best: number;
}

/**
 * Generation, best-of-N, scoring and the merged export run one at a time in call order; while a
 * run trains they are refused (TrainingInProgress), and train() starts once those asked for
 * before it have finished.
 */
export interface EngineContract {
  loadModel(source: ModelSource, onProgress: ProgressCallback): Promise<ModelInfo>;
  inspectDataset(file: { name: string; data: ArrayBuffer }, method: Method | null, options?: { maxLength?: number }): Promise<DatasetReport>;
  estimateMemory(recipe: RecipeJson): Promise<MemoryEstimate>;
  /** The user prompts of the dataset's first rows (any format), for labelling and the arena. */
  datasetPrompts(file: { name: string; data: ArrayBuffer }, limit?: number): Promise<string[]>;
  train(request: TrainRequest, callbacks: TrainCallbacks): Promise<TrainSummary>;
  pauseTraining(): void;
  resumeTraining(): void;
  stopTraining(): void;
  /** Streams tokens of the answer to one user message; adapter: none (base), or a PEFT adapter's files. */
  generate(
    prompt: string,
    options: { adapter: Record<string, ArrayBuffer> | null; maxNewTokens?: number; temperature?: number; topP?: number; seed?: number },
    onToken: (textSoFar: string) => void,
  ): Promise<string>;
  /**
   * Best-of-N (rejection sampling): `n` answers sampled from the model with `adapter` (or the base),
   * each scored by the reward model `rewardAdapter` (a SEQ_CLS adapter); onCandidate sees each answer when finished.
   */
  bestOfN(
    prompt: string,
    options: { adapter: Record<string, ArrayBuffer> | null; rewardAdapter: Record<string, ArrayBuffer>; n: number; maxNewTokens?: number; temperature?: number; topP?: number; seed?: number },
    onCandidate?: (index: number, text: string) => void,
  ): Promise<BestOfNResult>;
  /** Each answer's reward (scored with its user message) from a reward model's adapter (a SEQ_CLS adapter). */
  scoreAnswers(items: { prompt: string; answer: string }[], rewardAdapter: Record<string, ArrayBuffer>): Promise<number[]>;
  /** The merged model (base + adapter) as HF checkpoint files (safetensors in the base dtype, config, tokenizer). */
  exportMerged(adapter: Record<string, ArrayBuffer>): Promise<Record<string, ArrayBuffer>>;
}
