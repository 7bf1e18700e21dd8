// The IndexedDB database `whetstone`: what the studio keeps between visits, all in this browser.
//   runs         one summary per training run (listed in the Runs panel)
//   metrics      per-step metric values of a run (TRL names: loss, grad_norm, learning_rate, ...)
//   checkpoints  the state needed to resume a run at a step (LoRA weights, optimizer moments)
//   adapters     the finished PEFT adapter files of a run (adapter_model.safetensors, adapter_config.json)
//   datasets     the training file of a run, so an interrupted run can resume after a reload (v2)
//   labels       the classroom's labels: A/B pairs (and thumbs, for KTO) judged in the Label panel (v3)
import type { DBSchema } from 'idb';
import type { Method } from '../../engine/recipe/methods.ts';
import type { LabelRecord } from '../classroom/labels.ts';

export const DB_NAME = 'whetstone';
export const DB_VERSION = 3;

export type RunMethod = Method;
export type RunStatus = 'running' | 'paused' | 'completed' | 'stopped' | 'failed';

export interface RunRecord {
  id: string;
  method: RunMethod;
  /** Model id or name, e.g. "HuggingFaceTB/SmolLM2-135M-Instruct". */
  model: string;
  status: RunStatus;
  /** Optimizer steps done, and planned. */
  steps: number;
  maxSteps: number;
  /** The last logged training loss, or null before the first step. */
  finalLoss: number | null;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** The recipe as the user set it (TRL argument names), plain JSON. */
  recipe: Record<string, unknown>;
  /** Where the base model came from, to load it again when resuming (never holds a hub token). */
  modelSource?: StoredModelSource;
  /** The training file's name (its bytes are in the `datasets` store). */
  datasetName?: string;
  /** Why the run ended early, when it did (failed, or stopped by a lost device). */
  note?: string;
  /** A reward model's scores of chosen and rejected answers after the run (its distribution). */
  rewardScores?: { chosen: number[]; rejected: number[] };
}

export type StoredModelSource = { kind: 'demo' } | { kind: 'hub'; repo: string; revision?: string } | { kind: 'files'; name: string };

export interface DatasetRecord {
  runId: string;
  name: string;
  data: ArrayBuffer;
}

export interface MetricRecord {
  runId: string;
  step: number;
  values: Record<string, number>;
}

export interface CheckpointRecord {
  runId: string;
  step: number;
  /** Named binary parts (e.g. "adapter", "optimizer"). */
  blobs: Record<string, Blob | ArrayBuffer>;
}

export interface AdapterRecord {
  runId: string;
  /** File name -> contents, as PEFT writes them. */
  files: Record<string, Blob | ArrayBuffer>;
}

export interface WhetstoneDb extends DBSchema {
  runs: { key: string; value: RunRecord; indexes: { createdAt: number } };
  metrics: { key: [string, number]; value: MetricRecord; indexes: { runId: string } };
  checkpoints: { key: [string, number]; value: CheckpointRecord; indexes: { runId: string } };
  adapters: { key: string; value: AdapterRecord };
  datasets: { key: string; value: DatasetRecord };
  labels: { key: string; value: LabelRecord; indexes: { createdAt: number } };
}

export type { LabelRecord } from '../classroom/labels.ts';
