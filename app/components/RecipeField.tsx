// One recipe key as a form control, read off the engine's recipe description
// (engine/recipe/fields.ts): a number input with the schema's bounds, a select for a choice, a
// checkbox for a switch, a row of checkboxes for a list. The label is the field's accessible name;
// hovering shows the TRL name and its help.
import type { ReactNode } from 'react';
import { fieldKind, RECIPE_FIELDS, type FieldMeta, type RecipeKey } from '../../engine/recipe/fields.ts';
import { METHOD_INFO, type Method } from '../../engine/recipe/methods.ts';
import type { RecipeValues } from '../recipe.ts';
import { NumberField } from './NumberField.tsx';

export interface RecipeFieldProps {
  name: RecipeKey;
  recipe: RecipeValues;
  onChange: (patch: Partial<RecipeValues>) => void;
}

/** Where a control goes: number inputs share a grid; selects and switches follow; lists get their own fieldset. */
export function controlKind(name: RecipeKey): 'number' | 'choice' | 'boolean' | 'list' {
  return fieldKind(name).kind;
}

export function RecipeField({ name, recipe, onChange }: RecipeFieldProps): ReactNode {
  const meta: FieldMeta = RECIPE_FIELDS[name];
  const form = meta.form!;
  const kind = fieldKind(name);
  const help = `${name}: ${meta.help}`;
  const set = (value: unknown) => onChange({ [name]: value } as Partial<RecipeValues>);
  const value = recipe[name] as unknown;
  switch (kind.kind) {
    case 'number':
      return (
        <NumberField
          label={form.label}
          value={value as number | null}
          integer={kind.integer}
          min={form.min ?? kind.min ?? undefined}
          minExclusive={form.min === undefined && kind.minExclusive}
          max={form.max ?? kind.max ?? undefined}
          nullable={kind.nullable}
          onChange={(v) => set(v)}
          help={help}
        />
      );
    case 'choice':
      return (
        <label className="field">
          <span className="field-label">{form.label}</span>
          <select aria-label={form.label} value={String(value)} onChange={(e) => set(e.target.value)} title={help}>
            {kind.options.map((o) => (
              <option key={o} value={o}>
                {name === 'method' ? METHOD_INFO[o as Method].label : o.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </label>
      );
    case 'boolean':
      return (
        <label className="checkbox" title={help}>
          <input type="checkbox" checked={Boolean(value)} onChange={(e) => set(e.target.checked)} />
          {form.label}
        </label>
      );
    case 'list': {
      const chosen = value as string[];
      const toggle = (item: string, on: boolean) => {
        const next = on ? [...chosen, item] : chosen.filter((x) => x !== item);
        if (next.length > 0) set(kind.options.filter((x) => next.includes(x)));
      };
      return (
        <fieldset className="modules" aria-label={form.label} title={help}>
          <legend>{form.label}</legend>
          {kind.options.map((item) => (
            <label key={item} className="checkbox">
              <input type="checkbox" checked={chosen.includes(item)} onChange={(e) => toggle(item, e.target.checked)} />
              {item}
            </label>
          ))}
        </fieldset>
      );
    }
  }
}
