// Compare: one prompt answered by the base model and by the fine-tuned adapter, side by side,
// streamed token by token (greedy decoding, so the adapter makes the difference). Best-of-N:
// the adapter samples N answers, a reward model (a finished reward run) scores each, and the best
// is marked — rejection sampling, as the open alignment recipes use it.
import { useStudio } from '../store/index.ts';
import { Panel } from './Panel.tsx';
import { Problem } from './Problem.tsx';

const BEST_OF = [1, 2, 4, 8];

export function ComparePanel() {
  const c = useStudio((s) => s.compare);
  const setPrompt = useStudio((s) => s.setComparePrompt);
  const setBestOf = useStudio((s) => s.setBestOf);
  const run = useStudio((s) => s.runCompare);
  const hasAdapter = useStudio((s) => !!s.training.adapter || (!!s.openRun.runId && s.openRun.hasAdapter));
  const modelReady = useStudio((s) => s.model.status === 'ready');
  const training = useStudio((s) => ['starting', 'running', 'paused', 'stopping', 'recovering'].includes(s.training.phase));
  // Reward models: finished reward runs (the run just trained included: it is saved when it ends).
  const runs = useStudio((s) => s.runs); // filtered here: a selector must not return a new array each time
  const rewardRuns = runs.filter((r) => r.method === 'reward' && (r.status === 'completed' || r.status === 'stopped'));
  const busy = c.status === 'base' || c.status === 'tuned';
  const rewardRunId = c.rewardRunId && rewardRuns.some((r) => r.id === c.rewardRunId) ? c.rewardRunId : (rewardRuns[0]?.id ?? null);
  const bestOf = rewardRunId ? c.bestOf : 1;
  return (
    <Panel title="Compare" subtitle="Base model and adapter, side by side">
      <label className="field">
        <span className="field-label">Prompt</span>
        <textarea rows={2} value={c.prompt} onChange={(e) => setPrompt(e.target.value)} />
      </label>
      <div className="field-row">
        <label className="field">
          <span className="field-label">Best of N</span>
          <select value={bestOf} disabled={!rewardRunId} onChange={(e) => setBestOf(Number(e.target.value), rewardRunId)}>
            {BEST_OF.map((n) => (
              <option key={n} value={n}>
                {n === 1 ? 'off (one greedy answer)' : `${n} samples`}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">Reward model</span>
          <select value={rewardRunId ?? ''} disabled={rewardRuns.length === 0} onChange={(e) => setBestOf(c.bestOf, e.target.value || null)}>
            {rewardRuns.length === 0 && <option value="">none: train a run with method Reward model</option>}
            {rewardRuns.map((r) => (
              <option key={r.id} value={r.id}>
                {r.id} ({r.datasetName ?? r.model}, {r.steps} steps)
              </option>
            ))}
          </select>
        </label>
      </div>
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
          <figcaption>{c.candidates.length > 0 ? `With adapter, best of ${c.candidates.length}` : 'With adapter'}</figcaption>
          {c.candidates.length === 0 ? (
            <p className="answer" aria-busy={c.status === 'tuned'}>
              {c.tuned}
            </p>
          ) : (
            <ol className="candidates" aria-label="Best-of-N answers" aria-busy={c.status === 'tuned'}>
              {c.candidates.map((a, i) => (
                <li key={i} className={i === c.best ? 'best' : undefined} aria-current={i === c.best ? 'true' : undefined}>
                  <span className="reward">{a.reward === null ? 'scoring…' : `reward ${a.reward.toFixed(3)}${i === c.best ? ' · best' : ''}`}</span>
                  <span className="answer">{a.text}</span>
                </li>
              ))}
            </ol>
          )}
        </figure>
      </div>
      {c.error && <Problem error={c.error} />}
    </Panel>
  );
}
