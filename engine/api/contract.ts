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
  hasChatTemplate: boolean;
  weightDtype: 'bf16' | 'f16' | 'f32';
  weightBytes: number; // bytes of weights on the GPU
}

export type { MemoryEstimate, Method };

export interface DatasetIssueReport {
  line: number; // 1-based line (JSONL/CSV) or row (JSON/Parquet)
  field?: string;
  message: string; // "demo.jsonl line 3: messages[1].role is \"robot\"; expected system, user or assistant"
}

export interface DatasetReport {
  fileName: string;
  format: string; // human name, e.g. "OpenAI messages", "preference pairs (prompt/chosen/rejected)"
  method: Method; // what the format implies
  rows: number; // valid rows
  countLabel: string; // "3 rows" (SFT) or "3 pairs" (DPO)
  errors: DatasetIssueReport[]; // first errors (up to ~50)
  errorCount: number;
  preview: Record<string, unknown>[]; // first rows as parsed (for the table)
  /** With a model loaded: one example rendered through the chat template, token by token. */
  maskPreview: { text: string; trained: boolean }[] | null;
  /** With a model loaded: token statistics and how many tokens the loss counts. */
  tokenStats: { min: number; max: number; mean: number; trainedTokens: number; truncated: number } | null;
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
}

export interface EngineContract {
  loadModel(source: ModelSource, onProgress: ProgressCallback): Promise<ModelInfo>;
  inspectDataset(file: { name: string; data: ArrayBuffer }, method: Method | null, options?: { maxLength?: number }): Promise<DatasetReport>;
  estimateMemory(recipe: RecipeJson): Promise<MemoryEstimate>;
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
  /** The merged model (base + adapter) as HF checkpoint files (safetensors in the base dtype, config, tokenizer). */
  exportMerged(adapter: Record<string, ArrayBuffer>): Promise<Record<string, ArrayBuffer>>;
}
