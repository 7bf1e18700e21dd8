// The one recipe -> TRL table against the fields of the real TRL / transformers / PEFT classes
// (trlConfigFields.json, read from their sources), and against the recipe's own keys.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recipeSchema } from '../recipe/schema.ts';
import { TRL_FIXED, TRL_METHODS, TRL_NAMES, TRL_TRAINERS, type TrlMethod, type TrlTarget } from './names.ts';

const fields = JSON.parse(readFileSync(new URL('./trlConfigFields.json', import.meta.url), 'utf8')) as { classes: Record<string, string[]> };
const configHas = (method: TrlMethod, name: string) => [...fields.classes[TRL_TRAINERS[method].config], ...fields.classes.TrainingArguments].includes(name);

describe('recipe -> TRL names', () => {
  it('every config name exists in the TRL config of each method it is used for (own fields or TrainingArguments)', () => {
    for (const [key, t] of Object.entries(TRL_NAMES) as [string, TrlTarget][]) {
      if (t.to !== 'config') continue;
      for (const m of t.methods ?? TRL_METHODS) expect(configHas(m, t.name), `${key} -> ${TRL_TRAINERS[m].config}.${t.name}`).toBe(true);
    }
  });

  it('every LoRA name is a peft.LoraConfig field; every fixed setting exists where train.py writes it', () => {
    for (const [key, t] of Object.entries(TRL_NAMES) as [string, TrlTarget][]) {
      if (t.to === 'lora') expect(fields.classes.LoraConfig, key).toContain(t.name);
    }
    for (const f of TRL_FIXED) {
      if (f.owner === 'lora') expect(fields.classes.LoraConfig, f.name).toContain(f.name);
      else for (const m of f.methods ?? TRL_METHODS) expect(configHas(m, f.name), `${TRL_TRAINERS[m].config}.${f.name}`).toBe(true);
    }
  });

  it('every recipe key has a row (a new recipe key must say where it goes in TRL)', () => {
    const table = new Set(Object.keys(TRL_NAMES));
    for (const key of Object.keys(recipeSchema.shape)) expect(table.has(key), `recipe key ${key} has no TRL row`).toBe(true);
  });

  it('each method has a TRL trainer and config with a field list', () => {
    expect(Object.keys(TRL_TRAINERS).sort()).toEqual([...TRL_METHODS].sort());
    for (const m of TRL_METHODS) expect(fields.classes[TRL_TRAINERS[m].config], m).toBeDefined();
  });
});
