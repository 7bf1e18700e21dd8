// Learning-rate schedules with transformers' semantics (optimization.py get_scheduler): the
// multiplier for optimizer step `step` (0-based) of `total`, after `warmup` linear warmup steps.
import type { Recipe } from '../recipe/schema.ts';

export function warmupSteps(recipe: Pick<Recipe, 'warmup_steps' | 'warmup_ratio'>, total: number): number {
  return recipe.warmup_steps > 0 ? recipe.warmup_steps : Math.ceil(recipe.warmup_ratio * total);
}

export function lrMultiplier(type: Recipe['lr_scheduler_type'], step: number, total: number, warmup: number): number {
  if (type === 'constant') return 1;
  if (step < warmup) return step / Math.max(1, warmup);
  if (type === 'constant_with_warmup') return 1;
  const progress = (step - warmup) / Math.max(1, total - warmup);
  if (type === 'linear') return Math.max(0, (total - step) / Math.max(1, total - warmup));
  // cosine with num_cycles = 0.5
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** The learning rate used by optimizer step `step` (0-based). */
export function learningRateAt(recipe: Recipe, step: number, total: number): number {
  return recipe.learning_rate * lrMultiplier(recipe.lr_scheduler_type, step, total, warmupSteps(recipe, total));
}
