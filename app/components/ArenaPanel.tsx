// Arena: a blind test. Both models answer every prompt; the answers are shown as Left and Right
// (sides shuffled per prompt) without names; the result and the table are revealed at the end.
import { useEffect } from 'react';
import { parsePromptList } from '../classroom/prompts.ts';
import type { ArenaChoice } from '../classroom/winRate.ts';
import { useStudio } from '../store/index.ts';
import { useModelOptions } from './useModelOptions.ts';
import { NumberField } from './NumberField.tsx';
import { Panel } from './Panel.tsx';
import { Problem } from './Problem.tsx';
import { ProgressLine } from './ProgressLine.tsx';
import { ArenaResult } from './ArenaResult.tsx';

const KEYS: Record<string, ArenaChoice> = { ArrowLeft: 'left', ArrowRight: 'right', ArrowDown: 'tie', l: 'left', r: 'right', t: 'tie' };

export function ArenaPanel() {
  const a = useStudio((s) => s.arena);
  const set = useStudio((s) => s.setArena);
  const start = useStudio((s) => s.startArena);
  const judge = useStudio((s) => s.judgeArena);
  const reset = useStudio((s) => s.resetArena);
  const useDemo = useStudio((s) => s.useArenaDemoPrompts);
  const useDataset = useStudio((s) => s.useArenaDatasetPrompts);
  const hasDataset = useStudio((s) => s.dataset.status === 'ready');
  const options = useModelOptions();
  const modelReady = useStudio((s) => s.model.status === 'ready');
  const training = useStudio((s) => ['starting', 'running', 'paused', 'stopping', 'recovering'].includes(s.training.phase));
  const running = a.status === 'generating' || a.status === 'judging';

  // The challenger defaults to the newest finished run.
  const newestRun = options[1]?.value ?? null;
  useEffect(() => {
    if (!running && (a.modelB === null || !options.some((o) => o.value === a.modelB)) && newestRun) set({ modelB: newestRun });
  }, [newestRun, a.modelB, running, options, set]);

  useEffect(() => {
    if (a.status !== 'judging') return;
    const onKey = (e: KeyboardEvent) => {
      const t = e.target;
      if (e.ctrlKey || e.metaKey || e.altKey || (t instanceof HTMLElement && ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
      const choice = KEYS[e.key];
      if (!choice) return;
      e.preventDefault();
      judge(choice);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [a.status, judge]);

  const label = (v: string | null) => options.find((o) => o.value === v)?.label ?? '';
  const nameA = a.modelA === 'base' ? 'Base' : 'Model A';
  const nameB = a.modelA === 'base' ? 'Tuned' : 'Model B';
  const round = a.rounds[a.current];
  const answers = 2 * parsePromptList(a.promptText).length;
  const canStart = modelReady && !training && !running && a.modelB !== null && a.modelA !== a.modelB;

  return (
    <Panel title="Arena" subtitle="Blind A/B test: which model answers better?" className="arena-panel">
      <div className="grid-fields">
        <label className="field">
          <span className="field-label">Model A (baseline)</span>
          <select aria-label="Model A" value={a.modelA} disabled={running} onChange={(e) => set({ modelA: e.target.value })}>
            {options.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">Model B (challenger)</span>
          <select aria-label="Model B" value={a.modelB ?? ''} disabled={running} onChange={(e) => set({ modelB: e.target.value })}>
            {a.modelB === null && <option value="">Train a run first</option>}
            {options.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label className="field">
        <span className="field-label">Arena prompts (one per line)</span>
        <textarea rows={3} value={a.promptText} disabled={running} onChange={(e) => set({ promptText: e.target.value })} spellCheck={false} />
      </label>
      <div className="actions">
        <button type="button" className="secondary" disabled={running} onClick={useDemo}>
          Demo prompts
        </button>
        <button type="button" className="secondary" disabled={running || !hasDataset} onClick={() => void useDataset()}>
          Dataset prompts
        </button>
        <span className="advanced">
          <NumberField label="Arena max new tokens" value={a.maxNewTokens} integer min={1} max={512} onChange={(v) => v !== null && set({ maxNewTokens: v })} help="max_new_tokens per answer (both models answer greedily)" />
        </span>
      </div>
      <div className="actions">
        <button type="button" disabled={!canStart} onClick={() => void start()}>
          Start arena
        </button>
        {(a.status === 'done' || a.status === 'error') && (
          <button type="button" className="secondary" onClick={reset}>
            New arena
          </button>
        )}
        {a.modelA === a.modelB && <span className="muted">Choose two different models.</span>}
      </div>
      <p className="muted field-help">
        Both models answer greedily (temperature 0). Sides are shuffled per prompt and names are hidden until the end. Keys: ← left, → right, ↓ tie.
      </p>
      {a.status === 'generating' && <ProgressLine label="Arena answers" value={a.progress} max={answers} detail={`Generating answers: ${a.progress} of ${answers}`} />}
      {a.status === 'judging' && round && (
        <div className="arena-round" role="group" aria-label="Arena round">
          <p className="label-prompt">
            <span className="muted">
              Prompt {a.current + 1} of {a.rounds.length}:
            </span>{' '}
            {round.prompt}
          </p>
          <div className="compare">
            <figure aria-label="Left answer">
              <figcaption>Left</figcaption>
              <p className="answer">{round.bOnLeft ? round.answerB : round.answerA}</p>
            </figure>
            <figure aria-label="Right answer">
              <figcaption>Right</figcaption>
              <p className="answer">{round.bOnLeft ? round.answerA : round.answerB}</p>
            </figure>
          </div>
          <div className="actions verdicts">
            <button type="button" onClick={() => judge('left')}>
              Left is better
            </button>
            <button type="button" onClick={() => judge('right')}>
              Right is better
            </button>
            <button type="button" className="secondary" onClick={() => judge('tie')}>
              Tie
            </button>
          </div>
        </div>
      )}
      {a.status === 'done' && (
        <>
          <ArenaResult rounds={a.rounds} nameA={nameA} nameB={nameB} />
          <p className="muted">
            {nameA} = {label(a.modelA)}; {nameB} = {label(a.modelB)}.
          </p>
        </>
      )}
      {a.error && <Problem error={a.error} />}
    </Panel>
  );
}
