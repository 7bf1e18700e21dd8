// The recipe as the Recipe panel edits it: TRL/transformers argument names, the same keys the
// CLI's `--config recipe.json` reads (engine/train/recipe.ts), with defaults that suit the
// chosen model's size.
import type { ModelInfo, Method } from '../engine/api/contract.ts';

export const LORA_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export const DPO_LOSS_TYPES = ['sigmoid', 'ipo', 'hinge', 'robust'] as const;
export type DpoLossType = (typeof DPO_LOSS_TYPES)[number];

export interface RecipeValues {
  method: Method;
  learning_rate: number;
  lr_scheduler_type: 'constant' | 'constant_with_warmup' | 'linear' | 'cosine';
  lora_r: number;
  lora_alpha: number;
  lora_dropout: number;
  lora_target_modules: string[];
  max_steps: number; // > 0 overrides num_train_epochs; -1 = train by epochs
  num_train_epochs: number;
  per_device_train_batch_size: number;
  gradient_accumulation_steps: number;
  max_length: number;
  save_steps: number;
  logging_steps: number;
  seed: number;
  skip_invalid_rows: boolean;
  gradient_checkpointing: boolean;
  beta: number; // DPO only
  loss_type: DpoLossType; // DPO only
}

/** What a model's size suggests: small models take larger learning rates and shorter runs. */
export type SizeClass = 'demo' | 'small' | 'medium';

export function sizeClass(info: Pick<ModelInfo, 'parameters'> | null): SizeClass {
  if (!info || info.parameters < 50e6) return 'demo';
  return info.parameters < 250e6 ? 'small' : 'medium';
}

const LEARNING_RATE: Record<SizeClass, Record<Method, number>> = {
  // Measured on the demo model: 30 steps at these rates visibly change its answers.
  demo: { sft: 1e-2, dpo: 5e-3 },
  small: { sft: 2e-4, dpo: 5e-6 },
  medium: { sft: 1e-4, dpo: 5e-6 },
};

export function defaultLearningRate(size: SizeClass, method: Method): number {
  return LEARNING_RATE[size][method];
}

export function defaultRecipe(size: SizeClass, method: Method = 'sft'): RecipeValues {
  const demo = size === 'demo';
  return {
    method,
    learning_rate: defaultLearningRate(size, method),
    lr_scheduler_type: 'linear',
    lora_r: 8,
    lora_alpha: 16,
    lora_dropout: demo ? 0 : 0.05,
    lora_target_modules: [...LORA_MODULES],
    max_steps: demo ? 30 : -1,
    num_train_epochs: demo ? 3 : 1,
    per_device_train_batch_size: demo ? 4 : size === 'small' ? 4 : 2,
    gradient_accumulation_steps: demo ? 1 : 4,
    max_length: demo ? 128 : 512,
    // The demo trains in seconds: keep a checkpoint after every step so a reload loses nothing.
    save_steps: demo ? 1 : 25,
    logging_steps: 1,
    seed: 42,
    skip_invalid_rows: false,
    gradient_checkpointing: false,
    beta: 0.1,
    loss_type: 'sigmoid',
  };
}

/** The recipe file: the keys `whetstone train --config` reads (DPO keys only for DPO). */
export function recipeJson(r: RecipeValues): Record<string, unknown> {
  const { beta, loss_type, ...common } = r;
  return r.method === 'dpo' ? { ...common, beta, loss_type } : common;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The equivalent command line (flags have the recipe's names). */
export function trainCommand(r: RecipeValues, model: string, dataset: string): string {
  const parts = ['whetstone train', `--model ${shellQuote(model)}`, `--data ${shellQuote(dataset)}`, '--output_dir out'];
  for (const [k, v] of Object.entries(recipeJson(r))) {
    if (typeof v === 'boolean') {
      if (v) parts.push(`--${k}`);
    } else {
      parts.push(`--${k} ${shellQuote(Array.isArray(v) ? v.join(',') : String(v))}`);
    }
  }
  return parts.join(' \\\n  ');
}

/** Reads a saved recipe file back; unknown keys are ignored, known ones must have the right type. */
export function parseRecipeJson(text: string, base: RecipeValues): RecipeValues {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('a recipe file holds one JSON object');
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(k in base)) continue;
    const want = Array.isArray((base as unknown as Record<string, unknown>)[k]) ? 'array' : typeof (base as unknown as Record<string, unknown>)[k];
    const got = Array.isArray(v) ? 'array' : typeof v;
    if (want !== got) throw new Error(`${k} should be a ${want}, not ${got}`);
    out[k] = v;
  }
  return out as unknown as RecipeValues;
}
