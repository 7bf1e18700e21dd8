// Recipe: how to train — the method, the LoRA shape and the training settings under their TRL
// names (hover a field to see it), laid out from the engine's recipe description
// (engine/recipe/fields.ts): the main settings first, every other key the CLI accepts under
// "More options". Defaults are the CLI's, with a few that suit the loaded model's size, and max
// length, epochs and checkpoints read off a dropped dataset (with a note saying so).
import { RECIPE_FIELDS, RECIPE_GROUPS, RECIPE_KEYS, usedBy, type FieldMeta, type RecipeGroup, type RecipeKey } from '../../engine/recipe/fields.ts';
import type { Method } from '../../engine/recipe/methods.ts';
import { overlaidKeys, sizeClass, type RecipeValues } from '../recipe.ts';
import { useStudio } from '../store/index.ts';
import { Panel } from './Panel.tsx';
import { RecipeCommand } from './RecipeCommand.tsx';
import { controlKind, RecipeField } from './RecipeField.tsx';

const meta = (k: RecipeKey): FieldMeta => RECIPE_FIELDS[k];
/** Keys only some methods read (shown under the method's name). */
const methodOnly = (k: RecipeKey) => meta(k).methods !== undefined;

/** The form's keys for this method: main or advanced, in the table's order (the Method menu is drawn apart). */
function formKeys(method: Method, advanced: boolean): RecipeKey[] {
  return RECIPE_KEYS.filter((k) => k !== 'method' && meta(k).form && Boolean(meta(k).form!.advanced) === advanced && usedBy(k, method));
}

/** A fieldset of keys: numbers in a grid, then choices and switches; lists get their own fieldsets after it. */
function Fields({ legend, keys, recipe, set }: { legend: string; keys: RecipeKey[]; recipe: RecipeValues; set: (p: Partial<RecipeValues>) => void }) {
  if (keys.length === 0) return null;
  const order = ['number', 'choice', 'boolean'] as const;
  const inGrid = order.flatMap((kind) => keys.filter((k) => controlKind(k) === kind));
  const lists = keys.filter((k) => controlKind(k) === 'list');
  return (
    <>
      {inGrid.length > 0 && (
        <fieldset className="grid">
          <legend>{legend}</legend>
          {inGrid.map((k) => (
            <RecipeField key={k} name={k} recipe={recipe} onChange={set} />
          ))}
        </fieldset>
      )}
      {lists.map((k) => (
        <RecipeField key={k} name={k} recipe={recipe} onChange={set} />
      ))}
    </>
  );
}

/** Main form: LoRA, then everything else as Training, then the method's own keys. Advanced: by group. */
function sections(method: Method, advanced: boolean): { legend: string; keys: RecipeKey[] }[] {
  const keys = formKeys(method, advanced);
  const common = keys.filter((k) => !methodOnly(k));
  const own = { legend: method.toUpperCase(), keys: keys.filter(methodOnly) };
  if (!advanced) {
    return [{ legend: RECIPE_GROUPS.lora, keys: common.filter((k) => meta(k).group === 'lora') }, { legend: RECIPE_GROUPS.training, keys: common.filter((k) => meta(k).group !== 'lora') }, own];
  }
  const groups = Object.keys(RECIPE_GROUPS) as RecipeGroup[];
  return [...groups.map((g) => ({ legend: RECIPE_GROUPS[g], keys: common.filter((k) => meta(k).group === g) })), own];
}

export function RecipePanel() {
  const r = useStudio((s) => s.recipe);
  const set = useStudio((s) => s.setRecipe);
  const setMethod = useStudio((s) => s.setMethod);
  const size = sizeClass(useStudio((s) => s.model.info));
  const dataNote = useStudio((s) => s.dataNote);
  const overlaid = overlaidKeys(size, r.method);
  return (
    <Panel title="Recipe" subtitle="Method and hyperparameters (TRL names)">
      <RecipeField name="method" recipe={r} onChange={(p) => p.method && setMethod(p.method)} />
      {sections(r.method, false).map((s) => (
        <Fields key={s.legend} legend={s.legend} keys={s.keys} recipe={r} set={set} />
      ))}
      <details className="more-options">
        <summary>More options</summary>
        {sections(r.method, true).map((s) => (
          <Fields key={s.legend} legend={s.legend} keys={s.keys} recipe={r} set={set} />
        ))}
      </details>
      {dataNote && (
        <p className="muted" data-testid="data-defaults">
          {dataNote}
        </p>
      )}
      {overlaid.length > 0 && (
        <p className="muted" data-testid="size-defaults">
          Defaults for a {size} model differ from the CLI&apos;s in {overlaid.join(', ')}.
        </p>
      )}
      <RecipeCommand />
    </Panel>
  );
}
