// What training derives from a recipe (engine/recipe/ describes and validates it): the number of
// optimizer steps and the adapter's LoRA configuration.
import type { LoraConfig } from '../lora/types.ts';
import type { Recipe } from '../recipe/schema.ts';

/** Optimizer steps for a dataset of `rows` examples (HF Trainer: max_steps wins when > 0). */
export function totalSteps(recipe: Recipe, rows: number): number {
  if (recipe.max_steps > 0) return recipe.max_steps;
  const perEpoch = Math.max(1, Math.ceil(Math.ceil(rows / recipe.per_device_train_batch_size) / recipe.gradient_accumulation_steps));
  return Math.max(1, Math.ceil(perEpoch * recipe.num_train_epochs));
}

/** The LoRA part of a recipe, as the adapter code takes it. */
export function loraConfigFromRecipe(r: Recipe): LoraConfig {
  return { r: r.lora_r, loraAlpha: r.lora_alpha, loraDropout: r.lora_dropout, targetModules: r.lora_target_modules, useRslora: r.use_rslora };
}
