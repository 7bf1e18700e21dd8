// Test-only helpers for the trainer tests: the tiny-llama fixture on the GPU, its PEFT adapter,
// the trainer goldens (scripts/reference/trainer_reference.py), an in-memory RunStore, and a
// Trainer runner that collects logs and warnings.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GpuContext } from '../gpu/context.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { createLoraAdapter, readLoraWeights } from '../lora/adapter.ts';
import { peftKey } from '../lora/peft.ts';
import type { LoraAdapter } from '../lora/types.ts';
import { loadAdapter, loadAdapterFiles } from '../lora/load.ts';
import { loadModel, type LoadedModel } from '../model/loadModel.ts';
import { LORA_MODULES, type ModuleName } from '../model/modules.ts';
import type { PreferenceExample, SftExample, TrainingExamples } from '../data/examples.ts';
import { resolveRecipe, type RecipeInput } from '../recipe/schema.ts';
import type { FileMap, RunStore } from './runStore.ts';
import { Trainer, type LogEntry, type TrainResult } from './trainer.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Tensor {
  shape: number[];
  data: number[];
}
type Row = { ids: number[]; train_mask: number[] };

export interface TrainerGoldens {
  sft: {
    rows: Row[];
    batch_loss: { lora: number; base: number; tokens: number };
    sgd: { row: number; lr: number; loss: number; tokens: number; adapter_after: Record<string, Tensor> };
  };
  dpo: {
    beta: number;
    robust_label_smoothing: number;
    pairs: { chosen: Row; rejected: Row }[];
    completion_tokens: { chosen: number[]; rejected: number[] };
    policy_logps: { chosen: number[]; rejected: number[] };
    reference_logps: { chosen: number[]; rejected: number[] };
    loss_per_pair: Record<string, number[]>;
    loss: Record<'sigmoid' | 'ipo' | 'hinge' | 'robust', number>;
    loss_ipo_length_averaged: number;
    metrics: Record<string, number>;
    sigmoid_lora_grads: Record<string, Tensor>;
    ipo_length_averaged: { metrics: Record<string, number>; lora_grads: Record<string, Tensor> };
  };
  adamw: { lr: number; weight_decay: number; eps: number; betas: number[]; max_grad_norm: number; steps: { loss: number; grad_norm: number }[]; adapter_after: Record<string, Tensor> };
  schedules: Record<'linear' | 'cosine' | 'constant_with_warmup', { total: number; warmup: number; multipliers: number[] }>;
}

let cached: TrainerGoldens | null = null;
export function trainerGoldens(): TrainerGoldens {
  cached ??= JSON.parse(readFileSync(`${ROOT}engine/train/fixtures/goldens.json`, 'utf8')) as TrainerGoldens;
  return cached;
}

export const sftRows = (rows: Row[]): SftExample[] => rows.map((r) => ({ ids: r.ids, trainMask: r.train_mask }));
export const dpoPairs = (pairs: { chosen: Row; rejected: Row }[]): PreferenceExample[] =>
  pairs.map((p) => ({ chosen: { ids: p.chosen.ids, trainMask: p.chosen.train_mask }, rejected: { ids: p.rejected.ids, trainMask: p.rejected.train_mask } }));

/** tiny-llama with f32 weights (its BF16 values are exact in f32, so goldens hold tightly). */
export async function loadTinyLlama(ctx: GpuContext, gradientCheckpointing = false): Promise<LoadedModel> {
  return loadModel(ctx, await openNodeFolder(`${ROOT}engine/model/fixtures/tiny-llama`), { dtype: 'f32', gradientCheckpointing });
}

/** The non-zero tiny-llama-lora PEFT adapter, freshly uploaded. */
export async function loadTinyLora(ctx: GpuContext, loaded: LoadedModel): Promise<LoraAdapter> {
  return loadAdapter(ctx, loaded.spec, await openNodeFolder(`${ROOT}engine/model/fixtures/tiny-llama-lora`));
}

/** A fresh PEFT-initialised adapter (A Kaiming-uniform, B = 0) on every module. */
export function freshAdapter(ctx: GpuContext, loaded: LoadedModel, opts: { r?: number; alpha?: number; dropout?: number; seed?: number } = {}): LoraAdapter {
  const r = opts.r ?? 8;
  const config = { r, loraAlpha: opts.alpha ?? 2 * r, loraDropout: opts.dropout ?? 0, targetModules: [...LORA_MODULES], useRslora: false };
  return createLoraAdapter(ctx, loaded.spec, config, opts.seed ?? 42);
}

/** An adapter from PEFT files held in memory (e.g. a checkpoint's). */
export async function adapterFromFiles(ctx: GpuContext, loaded: LoadedModel, files: FileMap): Promise<LoraAdapter> {
  return loadAdapterFiles(ctx, loaded.spec, 'checkpoint', files);
}

/** Adapter weights (or gradients) keyed by PEFT name, e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight. */
export async function peftTensors(ctx: GpuContext, adapter: LoraAdapter, which: 'weights' | 'grads' = 'weights'): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [key, w] of await readLoraWeights(ctx, adapter, which)) {
    const [l, m] = key.split('.');
    out.set(peftKey(Number(l), m as ModuleName, 'A'), w.A);
    out.set(peftKey(Number(l), m as ModuleName, 'B'), w.B);
  }
  return out;
}

export class MemoryRunStore implements RunStore {
  readonly checkpoints = new Map<number, FileMap>();
  final: FileMap | null = null;
  readonly metrics: Record<string, number | string>[] = [];
  async saveCheckpoint(step: number, files: FileMap): Promise<void> {
    this.checkpoints.set(step, files);
  }
  async saveFinal(files: FileMap): Promise<void> {
    this.final = files;
  }
  async appendMetrics(row: Record<string, number | string>): Promise<void> {
    this.metrics.push(row);
  }
}

export interface RunOptions {
  ctx: GpuContext;
  loaded: LoadedModel;
  adapter: LoraAdapter;
  recipe: RecipeInput;
  train: TrainingExamples;
  store?: RunStore;
  /** Called on the new Trainer before run() (e.g. to restore a checkpoint). */
  before?: (t: Trainer) => void;
  /** Stop (saving a checkpoint) once this many steps have run in this call. */
  stopAfter?: number;
}

export interface RunOutput extends TrainResult {
  logs: LogEntry[];
  warnings: string[];
  store: RunStore;
}

export async function runTrainer(o: RunOptions): Promise<RunOutput> {
  const logs: LogEntry[] = [];
  const warnings: string[] = [];
  const store = o.store ?? new MemoryRunStore();
  let calls = 0;
  const trainer = new Trainer({
    ctx: o.ctx,
    model: o.loaded.model,
    adapter: o.adapter,
    recipe: resolveRecipe({ method: o.train.method, ...o.recipe }),
    train: o.train,
    padId: o.loaded.tokenizer.padTokenId ?? 0,
    store,
    baseModel: 'whetstone/tiny-llama',
    callbacks: {
      onLog: (e) => logs.push(e),
      onWarning: (w) => warnings.push(w),
      beforeStep: () => (o.stopAfter !== undefined && calls++ >= o.stopAfter ? 'stop' : 'continue'),
    },
  });
  o.before?.(trainer);
  const result = await trainer.run();
  trainer.destroy();
  return { ...result, logs, warnings, store };
}

/** Max |a - b| over every tensor of two adapters' weights. */
export function maxAbsDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  return worst;
}
