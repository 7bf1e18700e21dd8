// The recipe as a file (what the studio saves and `whetstone train --config` reads) and as
// `whetstone train` flags (the studio's "equivalent command"), both derived from the field table.
// Pure: the studio imports this file (see eslint.config.js).
import { RECIPE_KEYS, usedBy, type RecipeKey } from './fields.ts';
import { RecipeError, recipeDefaults, resolveRecipe, type Recipe } from './schema.ts';

/** The recipe file: every key the recipe's method reads, in the table's order. */
export function recipeFile(recipe: Recipe): Partial<Record<RecipeKey, unknown>> {
  const out: Partial<Record<RecipeKey, unknown>> = {};
  for (const key of RECIPE_KEYS) if (usedBy(key, recipe.method)) out[key] = recipe[key];
  return out;
}

/** Reads a recipe file: one JSON object of recipe keys; an unknown key or a wrong value is a RecipeError naming it. */
export function parseRecipeFile(text: string): Recipe {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new RecipeError(`the file is not JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new RecipeError('a recipe file holds one JSON object');
  return resolveRecipe(parsed);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** One `whetstone train` flag: `--name` and its value (null for a boolean flag that is true). */
export interface RecipeFlag {
  flag: string;
  value: string | null;
}

/** `whetstone train` flags for this recipe: --method, then every key its method reads that differs from the CLI's default. */
export function recipeFlags(recipe: Recipe): RecipeFlag[] {
  const defaults = recipeDefaults(recipe.method);
  const flags: RecipeFlag[] = [{ flag: '--method', value: recipe.method }];
  for (const key of RECIPE_KEYS) {
    const v = recipe[key];
    if (key === 'method' || !usedBy(key, recipe.method) || same(v, defaults[key]) || v === null || v === undefined) continue;
    flags.push({ flag: `--${key}`, value: v === true ? null : Array.isArray(v) ? v.join(',') : String(v) });
  }
  return flags;
}
