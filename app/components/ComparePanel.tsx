// Compare: one prompt answered by the base model and by the fine-tuned adapter, side by side,
// streamed token by token (greedy decoding, so the adapter makes the difference).
import { useStudio } from '../store/index.ts';
import { Panel } from './Panel.tsx';
import { Problem } from './Problem.tsx';

export function ComparePanel() {
  const c = useStudio((s) => s.compare);
  const setPrompt = useStudio((s) => s.setComparePrompt);
  const run = useStudio((s) => s.runCompare);
  const hasAdapter = useStudio((s) => !!s.training.adapter || (!!s.openRun.runId && s.openRun.hasAdapter));
  const modelReady = useStudio((s) => s.model.status === 'ready');
  const training = useStudio((s) => ['starting', 'running', 'paused', 'stopping', 'recovering'].includes(s.training.phase));
  const busy = c.status === 'base' || c.status === 'tuned';
  return (
    <Panel title="Compare" subtitle="Base model and adapter, side by side">
      <label className="field">
        <span className="field-label">Prompt</span>
        <textarea rows={2} value={c.prompt} onChange={(e) => setPrompt(e.target.value)} />
      </label>
      <div className="actions">
        <button type="button" disabled={!hasAdapter || !modelReady || training || busy || !c.prompt.trim()} onClick={() => void run()}>
          {busy ? 'Generating…' : 'Compare'}
        </button>
        {!hasAdapter && <span className="muted">Train a run (or open one in Runs) to compare.</span>}
      </div>
      <div className="compare">
        <figure aria-label="Base model answer">
          <figcaption>Base model</figcaption>
          <p className="answer" aria-busy={c.status === 'base'}>
            {c.base}
          </p>
        </figure>
        <figure aria-label="Adapter answer">
          <figcaption>With adapter</figcaption>
          <p className="answer" aria-busy={c.status === 'tuned'}>
            {c.tuned}
          </p>
        </figure>
      </div>
      {c.error && <Problem error={c.error} />}
    </Panel>
  );
}
