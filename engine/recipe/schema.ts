// The recipe as one strict zod object built from the field table (fields.ts): what the CLI's
// flags and --config file, the studio's form and its recipe file all resolve to. An unknown key
// or a wrong value is a RecipeError naming the key.
// Pure (zod only): the studio imports this file (see eslint.config.js).
import { z } from 'zod';
import { WhetstoneError } from '../errors.ts';
import { RECIPE_FIELDS, type FieldMeta } from './fields.ts';
import { isMethod, METHOD_INFO, type Method, type MethodInfo } from './methods.ts';

type Shape = { [K in keyof typeof RECIPE_FIELDS]: (typeof RECIPE_FIELDS)[K]['schema'] };

export const recipeSchema = z.strictObject(
  Object.fromEntries(Object.entries(RECIPE_FIELDS).map(([key, f]) => [key, f.schema])) as Shape,
);

export type RecipeInput = z.input<typeof recipeSchema>;
/** A resolved recipe: every key set (the method's own defaults first, then the table's). */
export type Recipe = z.output<typeof recipeSchema>;

export class RecipeError extends WhetstoneError {
  constructor(message: string, hint = 'Fix the option named above (the names are the same as TRL/transformers training arguments).') {
    super(`Invalid recipe: ${message}`, hint);
  }
}

/** Validates a recipe (CLI flags over a --config file, the studio's recipe) and fills in the defaults. */
export function resolveRecipe(input: unknown): Recipe {
  const given = (input ?? {}) as Record<string, unknown>;
  const method = typeof given === 'object' && isMethod(given.method ?? 'sft') ? ((given.method ?? 'sft') as Method) : null;
  if (given && typeof given === 'object') for (const [key, value] of Object.entries(given)) refuseValue(key, value);
  // A key the input leaves out takes the method's default where it has one (METHOD_INFO.defaults).
  const parsed = recipeSchema.safeParse(method && !Array.isArray(given) ? { ...METHOD_INFO[method].defaults, ...withoutUndefined(given) } : given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.join('.') || '(recipe)';
    throw new RecipeError(issue.code === 'unrecognized_keys' ? `unknown option ${issue.keys.join(', ')}` : `${where}: ${issue.message}`);
  }
  const min = (METHOD_INFO[parsed.data.method] as MethodInfo).minBatchSize;
  if (min && parsed.data.per_device_train_batch_size < min.size) {
    throw new RecipeError(`per_device_train_batch_size: ${parsed.data.method.toUpperCase()} needs at least ${min.size} ${METHOD_INFO[parsed.data.method].unit[1]} per batch: ${min.why}`);
  }
  return parsed.data;
}

/** Throws the RecipeError of a value the field table refuses with its own hint (FieldMeta.refused), e.g. bnb_4bit_quant_type fp4. */
export function refuseValue(key: string, value: unknown): void {
  const refused = (RECIPE_FIELDS as Record<string, FieldMeta>)[key]?.refused;
  const r = typeof value === 'string' && refused ? refused[value] : undefined;
  if (r) throw new RecipeError(`${key} ${r.why}`, r.hint);
}

function withoutUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Every default for `method` (what `whetstone train --method M` runs with no other option). */
export function recipeDefaults(method: Method): Recipe {
  return resolveRecipe({ method });
}
