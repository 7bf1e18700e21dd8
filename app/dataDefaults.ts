// Recipe defaults read off a real dataset (the demo datasets keep the demo recipe): max_length from
// the rows' token lengths within the model's context, epochs and checkpoints sized to the number of
// rows, and a short note that says where each value came from. Pure: the studio's store applies it
// when a dropped file's report (with a model's token statistics) arrives.
import type { RecipeValues } from './recipe.ts';

export interface DataStats {
  /** Valid rows (SFT rows or DPO pairs). */
  rows: number;
  /** 95th percentile of the tokens per row (DPO: prompt + the longer completion). */
  p95: number;
}

export interface DataDefaults {
  patch: Pick<RecipeValues, 'max_length' | 'max_steps' | 'num_train_epochs' | 'save_steps'>;
  /** "From your data: p95 = 412 tokens → max length 448; 300 pairs → 3 epochs (57 steps), a checkpoint every 6 steps." */
  note: string;
}

/** max_length is a multiple of this (GPU tiles; HF users pick such lengths). */
export const LENGTH_MULTIPLE = 64;
/** About this many checkpoints in a run. */
export const CHECKPOINTS_PER_RUN = 10;

/** Passes over the data: small sets take more (TRL's default 3), large sets one. */
export function epochsFor(rows: number): number {
  return rows < 1000 ? 3 : rows < 10_000 ? 2 : 1;
}

/**
 * Defaults for `stats` on a model with `context` tokens (max_position_embeddings; null: unknown),
 * keeping the recipe's batch shape (per_device_train_batch_size, gradient_accumulation_steps).
 * `countLabel` is the rows as the dataset report counts them ("300 pairs").
 */
export function dataDefaults(
  stats: DataStats,
  context: number | null,
  recipe: Pick<RecipeValues, 'per_device_train_batch_size' | 'gradient_accumulation_steps'>,
  countLabel: string,
): DataDefaults {
  const rounded = Math.max(LENGTH_MULTIPLE, Math.ceil(stats.p95 / LENGTH_MULTIPLE) * LENGTH_MULTIPLE);
  const maxLength = context !== null && rounded > context ? context : rounded;
  const epochs = epochsFor(stats.rows);
  const perEpoch = Math.max(1, Math.ceil(Math.ceil(stats.rows / recipe.per_device_train_batch_size) / recipe.gradient_accumulation_steps));
  const steps = perEpoch * epochs;
  const saveSteps = Math.max(1, Math.ceil(steps / CHECKPOINTS_PER_RUN));
  const capped = maxLength < rounded ? ` (the model's context is ${context})` : '';
  const note =
    `From your data: p95 = ${stats.p95} tokens → max length ${maxLength}${capped}; ` +
    `${countLabel} → ${epochs} epoch${epochs === 1 ? '' : 's'} (${steps} step${steps === 1 ? '' : 's'}), a checkpoint every ${saveSteps} step${saveSteps === 1 ? '' : 's'}.`;
  return { patch: { max_length: maxLength, max_steps: -1, num_train_epochs: epochs, save_steps: saveSteps }, note };
}
