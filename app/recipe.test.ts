// The studio's recipe is the CLI's: every key the studio writes passes the engine's strict recipe
// schema, loading a recipe file keeps every key the CLI accepts (an unknown key is an error naming
// it), the defaults are the CLI's with a visible per-size overlay, and the equivalent command
// names exactly the values that differ from the CLI's defaults.
import { describe, expect, it } from 'vitest';
import { RECIPE_FIELDS, RECIPE_KEYS, usedBy } from '../engine/recipe/fields.ts';
import { METHODS } from '../engine/recipe/methods.ts';
import { recipeDefaults, resolveRecipe } from '../engine/recipe/schema.ts';
import { defaultLoadIn4bit, defaultRecipe, overlaidKeys, parseRecipeJson, recipeJson, SIZE_DEFAULTS, sizeClass, trainCommand } from './recipe.ts';

describe('studio recipe', () => {
  it('writes every key its method reads, and only keys the CLI accepts, for every size and method', () => {
    for (const size of ['demo', 'small', 'medium'] as const) {
      for (const method of METHODS) {
        const json = recipeJson(defaultRecipe(size, method));
        expect(resolveRecipe(json)).toEqual(defaultRecipe(size, method));
        for (const key of RECIPE_KEYS) expect(key in json, `${key} in the ${method} file`).toBe(usedBy(key, method));
      }
    }
    expect('beta' in recipeJson(defaultRecipe('demo', 'sft'))).toBe(false);
    expect(recipeJson(defaultRecipe('demo', 'dpo'))).toMatchObject({ beta: 0.1, loss_type: 'sigmoid', label_smoothing: 0 });
  });

  it('takes the CLI defaults and overlays only what the size table lists', () => {
    expect(defaultRecipe('demo', 'sft')).toMatchObject({ learning_rate: 1e-2, max_length: 128, max_steps: 30, lora_dropout: 0 });
    expect(defaultRecipe('demo', 'dpo').learning_rate).toBe(5e-3);
    expect(defaultRecipe('small', 'dpo').learning_rate).toBe(recipeDefaults('dpo').learning_rate);
    // A method's own defaults (METHOD_INFO.defaults) apply where the input leaves the key out.
    expect(recipeDefaults('sft').learning_rate).toBe(2e-4);
    expect(recipeDefaults('dpo').learning_rate).toBe(5e-6);
    expect(resolveRecipe({ method: 'dpo', learning_rate: 1e-3 }).learning_rate).toBe(1e-3);
    expect(() => resolveRecipe({ method: 'nope' })).toThrow(/method/);
    for (const size of ['demo', 'small', 'medium'] as const) {
      const listed = Object.keys(SIZE_DEFAULTS[size]).sort();
      for (const method of METHODS) {
        for (const key of overlaidKeys(size, method)) expect(listed).toContain(key);
        // Everything not overlaid is the CLI's default.
        const cli = recipeDefaults(method);
        const studio = defaultRecipe(size, method);
        for (const key of RECIPE_KEYS) if (!listed.includes(key)) expect(studio[key]).toEqual(cli[key]);
      }
    }
    expect(sizeClass({ parameters: 228_000 })).toBe('demo');
    expect(sizeClass({ parameters: 134_500_000 })).toBe('small');
    expect(sizeClass({ parameters: 494_000_000 })).toBe('medium');
  });

  it('shows the equivalent command: --method and every value that differs from the CLI default', () => {
    const recipe = { ...defaultRecipe('demo', 'dpo'), max_steps: 3, skip_invalid_rows: true, completion_only_loss: false, lora_target_modules: ['q_proj' as const, 'v_proj' as const] };
    const cmd = trainCommand(recipe, 'public/models/demo', 'my data.jsonl');
    expect(cmd).toContain('whetstone train');
    expect(cmd).toContain("--data 'my data.jsonl'");
    expect(cmd).toContain('--method dpo');
    expect(cmd).toContain('--max_steps 3');
    expect(cmd).toContain('--learning_rate 0.005');
    expect(cmd).toContain('--lora_target_modules q_proj,v_proj');
    expect(cmd).toMatch(/--skip_invalid_rows( \\|$)/m);
    expect(cmd).not.toContain('--gradient_checkpointing'); // false, the default
    expect(cmd).not.toContain('--loss_type'); // sigmoid, the default
    expect(cmd).not.toContain('--completion_only_loss'); // an SFT key
    const sft = trainCommand({ ...defaultRecipe('small', 'sft'), completion_only_loss: false }, 'm', 'd.jsonl');
    expect(sft).toContain('--completion_only_loss false');
    expect(sft).not.toContain('--learning_rate'); // the CLI's default for SFT
  });

  it('reads a saved recipe back with every key the CLI accepts; unknown keys and wrong values are errors naming the key', () => {
    const full = {
      ...recipeJson(defaultRecipe('demo', 'dpo')),
      max_steps: 7,
      warmup_steps: 2,
      warmup_ratio: 0.1,
      weight_decay: 0.01,
      max_grad_norm: 0.5,
      optim: 'sgd',
      adam_beta1: 0.8,
      adam_beta2: 0.99,
      adam_epsilon: 1e-6,
      use_rslora: true,
      drop_long_rows: true,
      eval_steps: 5,
      eval_split: 0.2,
      label_smoothing: 0.1,
      completion_only_loss: false,
      packing: true,
    };
    const back = parseRecipeJson(JSON.stringify(full));
    for (const [k, v] of Object.entries(full)) expect(back[k as keyof typeof back], k).toEqual(v);
    expect(() => parseRecipeJson(JSON.stringify({ ...full, unknown_key: 1 }))).toThrow('unknown option unknown_key');
    expect(() => parseRecipeJson('{"lora_r": "8"}')).toThrow(/lora_r/);
    expect(() => parseRecipeJson('[1]')).toThrow('one JSON object');
    expect(() => parseRecipeJson('{oops')).toThrow('not JSON');
  });

  it('every key has help, a group, and a form label unless another panel owns it', () => {
    for (const key of RECIPE_KEYS) {
      const f = RECIPE_FIELDS[key] as { help: string; form?: { label: string } };
      expect(f.help.length, key).toBeGreaterThan(3);
      if (key !== 'skip_invalid_rows') expect(f.form?.label, key).toBeTruthy();
    }
    const labels = RECIPE_KEYS.map((k) => (RECIPE_FIELDS[k] as { form?: { label: string } }).form?.label).filter(Boolean) as string[];
    expect(new Set(labels).size).toBe(labels.length);
    // The e2e tests find these by substring.
    expect(labels.filter((l) => /beta/i.test(l))).toEqual(['Beta']);
    expect(labels.filter((l) => /method/i.test(l))).toEqual(['Method']);
  });

  it('turns the 4-bit base (QLoRA) on by default only when the model would not fit otherwise', () => {
    const base = (totalBytes: number, fits: boolean) => ({ weightsBytes: totalBytes / 2, totalBytes, fits });
    expect(defaultRecipe('medium').load_in_4bit).toBe(false);
    expect(defaultLoadIn4bit({ sixteenBit: base(3e9, true), fourBit: base(1e9, true) })).toBe(false); // fits 16-bit: exact weights
    expect(defaultLoadIn4bit({ sixteenBit: base(5e9, false), fourBit: base(2e9, true) })).toBe(true); // fits only in 4-bit
    expect(defaultLoadIn4bit({ sixteenBit: base(9e9, false), fourBit: base(6e9, false) })).toBe(true); // fits neither: 4-bit first, the advice says what else
    expect(defaultLoadIn4bit({ sixteenBit: null, fourBit: base(1e9, true) })).toBe(true); // saved in 4-bit
  });
});
