// The Label panel's settings: which prompts, which model answers, and how it samples.
import { useStudio } from '../store/index.ts';
import { useModelOptions } from './useModelOptions.ts';
import { NumberField } from './NumberField.tsx';

export function LabelPromptFields({ disabled }: { disabled: boolean }) {
  const l = useStudio((s) => s.labelling);
  const set = useStudio((s) => s.setLabelling);
  const useDemo = useStudio((s) => s.useDemoPrompts);
  const useDataset = useStudio((s) => s.useDatasetPrompts);
  const hasDataset = useStudio((s) => s.dataset.status === 'ready');
  const options = useModelOptions();
  return (
    <div className="label-settings">
      <label className="field">
        <span className="field-label">Prompts (one per line)</span>
        <textarea rows={3} value={l.promptText} onChange={(e) => set({ promptText: e.target.value })} spellCheck={false} />
      </label>
      <div className="actions">
        <span className="muted">Or use:</span>
        <button type="button" className="secondary" onClick={useDemo}>
          Demo prompts
        </button>
        <button type="button" className="secondary" disabled={!hasDataset} onClick={() => void useDataset()}>
          Dataset prompts
        </button>
      </div>
      <div className="grid-fields advanced">
        <label className="field">
          <span className="field-label">Answers from</span>
          <select aria-label="Answers from" value={l.source} disabled={disabled} onChange={(e) => set({ source: e.target.value })}>
            {options.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <NumberField label="Temperature" value={l.temperature} min={0} max={2} onChange={(v) => v !== null && set({ temperature: v })} help="temperature: higher gives more varied answers" />
        <NumberField label="Top-p" value={l.topP} min={0.01} max={1} onChange={(v) => v !== null && set({ topP: v })} help="top_p: sample from the smallest set of tokens holding this much probability" />
        <NumberField label="Max new tokens" value={l.maxNewTokens} integer min={1} max={512} onChange={(v) => v !== null && set({ maxNewTokens: v })} help="max_new_tokens per answer" />
      </div>
    </div>
  );
}
