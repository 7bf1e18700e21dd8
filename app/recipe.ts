// The recipe as the studio edits it: the engine's one recipe description (engine/recipe/: every
// key the CLI accepts, with its defaults), overlaid with a few defaults that suit the chosen
// model's size. The recipe file and the equivalent command are derived from the same description.
import type { MemoryEstimate, ModelInfo } from '../engine/api/contract.ts';
import { parseRecipeFile, recipeFile, recipeFlags } from '../engine/recipe/command.ts';
import type { Method } from '../engine/recipe/methods.ts';
import { recipeDefaults, resolveRecipe, type Recipe } from '../engine/recipe/schema.ts';

/** Every recipe key, resolved (the same object `whetstone train` resolves its flags to). */
export type RecipeValues = Recipe;

/** What a model's size suggests: small models take larger learning rates and shorter runs. */
export type SizeClass = 'demo' | 'small' | 'medium';

export function sizeClass(info: Pick<ModelInfo, 'parameters'> | null): SizeClass {
  if (!info || info.parameters < 50e6) return 'demo';
  return info.parameters < 250e6 ? 'small' : 'medium';
}

type Overlay = Partial<Omit<Recipe, 'learning_rate'>> & { learning_rate?: Partial<Record<Method, number>> };

/** Where the studio's defaults differ from the CLI's (engine/recipe/fields.ts), by model size. */
export const SIZE_DEFAULTS: Record<SizeClass, Overlay> = {
  // Measured on the demo model: 30 steps at these rates visibly change its answers. It trains in
  // seconds: keep a checkpoint after every step so a reload loses nothing.
  demo: { learning_rate: { sft: 1e-2, dpo: 5e-3, orpo: 1e-2, simpo: 5e-3, kto: 5e-3, reward: 1e-2 }, lora_dropout: 0, max_steps: 30, max_length: 128, save_steps: 1 },
  small: { num_train_epochs: 1, gradient_accumulation_steps: 4, max_length: 512, save_steps: 25 },
  medium: { learning_rate: { sft: 1e-4 }, num_train_epochs: 1, per_device_train_batch_size: 2, gradient_accumulation_steps: 4, max_length: 512, save_steps: 25 },
};

export function defaultLearningRate(size: SizeClass, method: Method): number {
  return SIZE_DEFAULTS[size].learning_rate?.[method] ?? recipeDefaults(method).learning_rate;
}

/**
 * The "4-bit base (QLoRA)" switch's default for a newly loaded model, from the memory estimate's
 * two bases: on when the recipe would not fit with the 16-bit base (the 4-bit one is the biggest
 * saving; the estimate's advice names what else to lower if even that is not enough), and for a
 * checkpoint saved in 4-bit (no 16-bit option); else off (the exact 16-bit base).
 */
export function defaultLoadIn4bit(bases: MemoryEstimate['bases']): boolean {
  return !bases.sixteenBit || !bases.sixteenBit.fits;
}

/** The CLI's defaults for `method` with the size overlay on top. */
export function defaultRecipe(size: SizeClass, method: Method = 'sft'): RecipeValues {
  const { learning_rate: _rates, ...overlay } = SIZE_DEFAULTS[size];
  return resolveRecipe({ ...recipeDefaults(method), ...overlay, learning_rate: defaultLearningRate(size, method) });
}

/** The keys whose studio default differs from the CLI's for this size (shown under the form). */
export function overlaidKeys(size: SizeClass, method: Method): string[] {
  const cli = recipeDefaults(method);
  const studio = defaultRecipe(size, method);
  return (Object.keys(studio) as (keyof Recipe)[]).filter((k) => JSON.stringify(studio[k]) !== JSON.stringify(cli[k]));
}

/** The recipe file: every key its method reads (what `whetstone train --config` reads). */
export function recipeJson(r: RecipeValues): Record<string, unknown> {
  return recipeFile(r);
}

/** Reads a saved recipe file back: every key the CLI accepts is kept; an unknown key or a wrong value throws, naming it. */
export function parseRecipeJson(text: string): RecipeValues {
  return parseRecipeFile(text);
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The equivalent command line: --method and every key that differs from the CLI's default. */
export function trainCommand(r: RecipeValues, model: string, dataset: string): string {
  const parts = ['whetstone train', `--model ${shellQuote(model)}`, `--data ${shellQuote(dataset)}`, '--output_dir out'];
  for (const { flag, value } of recipeFlags(r)) parts.push(value === null ? flag : `${flag} ${shellQuote(value)}`);
  return parts.join(' \\\n  ');
}
