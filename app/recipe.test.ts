// The studio's recipe file is the CLI's --config: every key it writes must pass the engine's
// strict recipe schema, and the command it shows must name the same values.
import { describe, expect, it } from 'vitest';
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- the test checks the studio's recipe against the CLI's schema
import { resolveRecipe } from '../engine/train/recipe.ts';
import { defaultRecipe, parseRecipeJson, recipeJson, sizeClass, trainCommand } from './recipe.ts';

describe('studio recipe', () => {
  it('writes only keys the CLI accepts, for every size and method', () => {
    for (const size of ['demo', 'small', 'medium'] as const) {
      for (const method of ['sft', 'dpo'] as const) {
        const json = recipeJson(defaultRecipe(size, method));
        const resolved = resolveRecipe(json);
        expect(resolved.method).toBe(method);
        expect(resolved.learning_rate).toBe(json.learning_rate);
        expect(resolved.max_length).toBe(json.max_length);
        expect('beta' in json).toBe(method === 'dpo');
      }
    }
  });

  it('uses the demo defaults the issue asks for', () => {
    expect(defaultRecipe('demo', 'sft')).toMatchObject({ learning_rate: 1e-2, max_length: 128 });
    expect(defaultRecipe('demo', 'dpo').learning_rate).toBe(5e-3);
    expect(sizeClass({ parameters: 228_000 })).toBe('demo');
    expect(sizeClass({ parameters: 134_500_000 })).toBe('small');
    expect(sizeClass({ parameters: 494_000_000 })).toBe('medium');
  });

  it('shows the equivalent command with the recipe flags', () => {
    const cmd = trainCommand({ ...defaultRecipe('demo', 'dpo'), max_steps: 3, skip_invalid_rows: true }, 'public/models/demo', 'my data.jsonl');
    expect(cmd).toContain('whetstone train');
    expect(cmd).toContain("--data 'my data.jsonl'");
    expect(cmd).toContain('--max_steps 3');
    expect(cmd).toContain('--lora_target_modules q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj');
    expect(cmd).toContain('--skip_invalid_rows');
    expect(cmd).not.toContain('--gradient_checkpointing');
    expect(cmd).toContain('--loss_type sigmoid');
  });

  it('reads a saved recipe back and rejects wrong types', () => {
    const base = defaultRecipe('demo');
    const back = parseRecipeJson(JSON.stringify({ ...recipeJson(base), max_steps: 7, unknown_key: 1 }), base);
    expect(back.max_steps).toBe(7);
    expect(back).not.toHaveProperty('unknown_key');
    expect(() => parseRecipeJson('{"lora_r": "8"}', base)).toThrow('lora_r should be a number, not string');
    expect(() => parseRecipeJson('[1]', base)).toThrow('one JSON object');
  });
});
