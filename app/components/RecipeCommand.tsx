// The recipe as a file (the CLI's --config) and as the equivalent `whetstone train` command.
import { useRef, useState } from 'react';
import { parseRecipeJson, recipeJson, trainCommand } from '../recipe.ts';
import { sourceLabel } from '../store/createModelSlice.ts';
import { useStudio } from '../store/index.ts';
import { downloadText } from '../zip.ts';

export function RecipeCommand() {
  const recipe = useStudio((s) => s.recipe);
  const replace = useStudio((s) => s.replaceRecipe);
  const source = useStudio((s) => s.model.source);
  const datasetName = useStudio((s) => s.dataset.file?.name ?? 'data.jsonl');
  const [loadError, setLoadError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const model = source ? sourceLabel(source) : 'public/models/demo';

  return (
    <div className="recipe-command">
      <div className="actions">
        <button type="button" className="secondary" onClick={() => downloadText(`${JSON.stringify(recipeJson(recipe), null, 2)}\n`, 'recipe.json')}>
          Save recipe
        </button>
        <button type="button" className="secondary" onClick={() => input.current?.click()}>
          Load recipe…
        </button>
        <input
          ref={input}
          type="file"
          accept=".json,application/json"
          aria-label="Recipe file"
          hidden
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (!file) return;
            void file.text().then((text) => {
              try {
                replace(parseRecipeJson(text));
                setLoadError(null);
              } catch (err) {
                setLoadError(`${file.name}: ${(err as Error).message}`);
              }
            });
            e.target.value = '';
          }}
        />
      </div>
      {loadError && (
        <p className="problem" role="alert">
          {loadError}
        </p>
      )}
      <details>
        <summary>The same run from the command line</summary>
        <pre className="command" aria-label="Equivalent command">
          {trainCommand(recipe, model, datasetName)}
        </pre>
      </details>
    </div>
  );
}
