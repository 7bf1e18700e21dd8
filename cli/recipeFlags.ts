// The training flags: one per recipe key of the engine's field table (engine/recipe/fields.ts),
// with TRL/transformers' names, help and defaults taken from it. Commander gets no defaults here,
// so we can tell flags the user gave from values a --config recipe file sets (flags win).
import { Option, type Command } from 'commander';
import { fieldKind, RECIPE_FIELDS, RECIPE_KEYS, usedBy, type FieldMeta, type RecipeKey } from '../engine/recipe/fields.ts';
import { METHODS } from '../engine/recipe/methods.ts';
import { recipeDefaults, refuseValue } from '../engine/recipe/schema.ts';
import { bool, list, num } from './parse.ts';

/** The help line of a key: its text, the choices, the default, and the methods that read it. */
export function flagHelp(key: RecipeKey): string {
  const f: FieldMeta = RECIPE_FIELDS[key];
  const kind = fieldKind(key);
  const parts = [f.help];
  // Choices are listed by commander (Option.choices), not here a second time.
  if (kind.kind === 'list') parts.push(`(comma-separated: ${kind.options.join(',')})`);
  // The default of the first method that reads the key, and where other methods differ (DPO's learning rate).
  const readers = METHODS.filter((m) => usedBy(key, m));
  const show = (v: unknown) => (kind.kind === 'list' && Array.isArray(v) && v.length === kind.options.length ? 'all' : Array.isArray(v) ? v.join(',') : String(v));
  const first = recipeDefaults(readers[0])[key];
  if (f.defaultText) parts.push(`(default: ${f.defaultText})`);
  else if (first !== null && first !== undefined) {
    const others = readers.slice(1).filter((m) => JSON.stringify(recipeDefaults(m)[key]) !== JSON.stringify(first));
    parts.push(`(default ${show(first)}${others.map((m) => `; ${m.toUpperCase()}: ${show(recipeDefaults(m)[key])}`).join('')})`);
  }
  if (f.methods) parts.push(`[${f.methods.map((m) => m.toUpperCase()).join(', ')} only]`);
  return parts.join(' ');
}

/** The QLoRA keys (how the model loads): `eval` and `generate` take them too. */
export const FOUR_BIT_KEYS: readonly RecipeKey[] = ['load_in_4bit', 'bnb_4bit_quant_type', 'bnb_4bit_use_double_quant'];

/** One flag per recipe key (or per key of `keys`), named and parsed from the field table. */
export function addRecipeFlags(cmd: Command, keys: readonly RecipeKey[] = RECIPE_KEYS): Command {
  for (const key of keys) {
    const kind = fieldKind(key);
    let flag: string;
    let parse: (v: string) => unknown;
    if (kind.kind === 'boolean') [flag, parse] = [`--${key} [bool]`, bool(key)];
    else if (kind.kind === 'list') [flag, parse] = [`--${key} <a,b,...>`, list];
    else if (kind.kind === 'number') [flag, parse] = [`--${key} <value>`, num(key, { integer: kind.integer })];
    else if (kind.kind === 'choice') {
      // A value outside the choices is refused while parsing, in commander's one line naming them.
      // A value the table refuses with its own hint (fp4) gets that hint instead (a RecipeError).
      const option = new Option(`--${key} <value>`, flagHelp(key)).choices(kind.options);
      const checkChoice = option.parseArg!;
      cmd.addOption(
        option.argParser((v: string, previous: unknown) => {
          refuseValue(key, v);
          return checkChoice(v, previous);
        }),
      );
      continue;
    } else [flag, parse] = [`--${key} <value>`, (v: string) => v];
    cmd.option(flag, flagHelp(key), parse);
  }
  return cmd;
}

/** The recipe keys the user set on the command line (a bare boolean flag means true). */
export function recipeFromFlags(opts: Record<string, unknown>, keys: readonly RecipeKey[] = RECIPE_KEYS): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (opts[key] !== undefined) out[key] = opts[key];
  return out;
}
