// What changed: after a run, fixed prompts answered by the base model and by the tuned model.
import { useEffect } from 'react';
import { useStudio } from '../store/index.ts';
import { NumberField } from './NumberField.tsx';
import { Panel } from './Panel.tsx';
import { Problem } from './Problem.tsx';

export function WhatChangedPanel() {
  const w = useStudio((s) => s.whatChanged);
  const phase = useStudio((s) => s.training.phase);
  const runId = useStudio((s) => s.training.runId);
  const hasAdapter = useStudio((s) => !!s.training.adapter);
  const show = useStudio((s) => s.showWhatChanged);
  const setTokens = useStudio((s) => s.setWhatChangedTokens);

  // Once per finished run, as soon as it is done.
  useEffect(() => {
    if (phase === 'done' && hasAdapter && runId && w.runId !== runId) void show();
  }, [phase, hasAdapter, runId, w.runId, show]);

  return (
    <Panel title="What changed" subtitle="The same prompts before and after the last run" className="what-changed-panel">
      {w.rows.length === 0 ? (
        <p className="muted">After a run finishes, its answers to a few fixed prompts appear here beside the base model&apos;s.</p>
      ) : (
        <div className="before-after">
          <table aria-label="Before and after">
            <thead>
              <tr>
                <th>Prompt</th>
                <th>Before (base)</th>
                <th>After (tuned)</th>
              </tr>
            </thead>
            <tbody>
              {w.rows.map((r) => (
                <tr key={r.prompt}>
                  <td>{r.prompt}</td>
                  <td aria-busy={r.before === null}>{r.before ?? '…'}</td>
                  <td aria-busy={r.after === null} className={r.after !== null && r.before !== null && r.after !== r.before ? 'changed' : undefined}>
                    {r.after ?? '…'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {w.status === 'done' && (
        <p className="muted">
          {w.rows.filter((r) => r.after !== r.before).length} of {w.rows.length} answers changed (greedy decoding, so the difference is the training&apos;s).
        </p>
      )}
      {w.error && <Problem error={w.error} />}
      <div className="actions advanced">
        <NumberField label="Answer length (tokens)" value={w.maxNewTokens} integer min={1} max={512} onChange={(v) => v !== null && setTokens(v)} help="max_new_tokens of each before/after answer (greedy)" />
        <button type="button" className="secondary" disabled={!hasAdapter || w.status === 'generating'} onClick={() => void show()}>
          Show again
        </button>
      </div>
    </Panel>
  );
}
