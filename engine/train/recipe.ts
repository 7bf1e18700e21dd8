// The training recipe: one object with TRL/transformers argument names, shared by the CLI flags,
// the recipe file (`--config recipe.json`) and the studio's Recipe panel (which saves this JSON).
import { z } from 'zod';
import { LORA_MODULES } from '../model/weights.ts';
import { DPO_LOSS_TYPES } from '../ops/dpoLoss.ts';
import { WhetstoneError } from '../gpu/errors.ts';
import type { LoraConfig } from '../lora/types.ts';

export const recipeSchema = z
  .object({
    method: z.enum(['sft', 'dpo']).default('sft'),
    learning_rate: z.number().positive().optional(), // default depends on method, see resolveRecipe
    lr_scheduler_type: z.enum(['constant', 'constant_with_warmup', 'linear', 'cosine']).default('linear'),
    warmup_steps: z.number().int().min(0).default(0),
    warmup_ratio: z.number().min(0).max(1).default(0),
    weight_decay: z.number().min(0).default(0),
    max_grad_norm: z.number().min(0).default(1),
    optim: z.enum(['adamw_torch', 'sgd']).default('adamw_torch'),
    adam_beta1: z.number().min(0).max(1).default(0.9),
    adam_beta2: z.number().min(0).max(1).default(0.999),
    adam_epsilon: z.number().positive().default(1e-8),
    per_device_train_batch_size: z.number().int().positive().default(4),
    gradient_accumulation_steps: z.number().int().positive().default(1),
    max_steps: z.number().int().default(-1), // > 0 overrides num_train_epochs
    num_train_epochs: z.number().positive().default(3),
    seed: z.number().int().default(42),
    lora_r: z.number().int().positive().default(8),
    lora_alpha: z.number().positive().default(16),
    lora_dropout: z.number().min(0).max(0.99).default(0.05),
    lora_target_modules: z.array(z.enum(LORA_MODULES)).nonempty().default([...LORA_MODULES]),
    use_rslora: z.boolean().default(false),
    max_length: z.number().int().positive().default(1024),
    drop_long_rows: z.boolean().default(false), // false: truncate (TRL), and count them
    logging_steps: z.number().int().positive().default(1),
    eval_steps: z.number().int().positive().nullable().default(null),
    eval_split: z.number().min(0).max(0.9).default(0), // fraction of rows held out when no eval file is given
    save_steps: z.number().int().positive().default(50),
    completion_only_loss: z.boolean().default(true),
    packing: z.boolean().default(false),
    beta: z.number().positive().default(0.1),
    loss_type: z.enum(DPO_LOSS_TYPES).default('sigmoid'),
    label_smoothing: z.number().min(0).max(0.49).default(0),
    gradient_checkpointing: z.boolean().default(false),
    skip_invalid_rows: z.boolean().default(false),
  })
  .strict();

export type RecipeInput = z.input<typeof recipeSchema>;
export type Recipe = z.output<typeof recipeSchema> & { learning_rate: number };

export class RecipeError extends WhetstoneError {
  constructor(message: string) {
    super(`Invalid recipe: ${message}`, 'Fix the option named above (the names are the same as TRL/transformers training arguments).');
  }
}

/** Default learning rates: LoRA SFT commonly 2e-4; LoRA DPO much lower (TRL's DPO default is 1e-6 for full fine-tunes). */
export const DEFAULT_LEARNING_RATE = { sft: 2e-4, dpo: 5e-6 } as const;

export function resolveRecipe(input: unknown): Recipe {
  const parsed = recipeSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.join('.') || '(recipe)';
    throw new RecipeError(issue.code === 'unrecognized_keys' ? `unknown option ${issue.keys.join(', ')}` : `${where}: ${issue.message}`);
  }
  const r = parsed.data;
  if (r.loss_type === 'robust' && r.label_smoothing === 0) {
    // TRL allows it; robust DPO with no smoothing is plain sigmoid DPO.
  }
  return { ...r, learning_rate: r.learning_rate ?? DEFAULT_LEARNING_RATE[r.method] };
}

/** Optimizer steps for a dataset of `rows` examples (HF Trainer: max_steps wins when > 0). */
export function totalSteps(recipe: Recipe, rows: number): number {
  if (recipe.max_steps > 0) return recipe.max_steps;
  const perEpoch = Math.max(1, Math.ceil(Math.ceil(rows / recipe.per_device_train_batch_size) / recipe.gradient_accumulation_steps));
  return Math.max(1, Math.ceil(perEpoch * recipe.num_train_epochs));
}

/** The recipe as `whetstone train` flags (what the studio shows as the equivalent command). */
export function recipeToFlags(recipe: Partial<Recipe>): string[] {
  const defaults = resolveRecipe({ method: recipe.method ?? 'sft' });
  const flags: string[] = [];
  for (const [k, v] of Object.entries(recipe)) {
    if (v === undefined || v === null) continue;
    if (JSON.stringify((defaults as Record<string, unknown>)[k]) === JSON.stringify(v)) continue;
    flags.push(`--${k}`, Array.isArray(v) ? v.join(',') : String(v));
  }
  return flags;
}

/** The LoRA part of a recipe, as the adapter code takes it. */
export function loraConfigFromRecipe(r: Recipe): LoraConfig {
  return { r: r.lora_r, loraAlpha: r.lora_alpha, loraDropout: r.lora_dropout, targetModules: r.lora_target_modules, useRslora: r.use_rslora };
}
