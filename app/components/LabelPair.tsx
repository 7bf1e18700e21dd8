// The pair being judged: answers A and B side by side (streaming while sampled), the four
// verdict buttons, and their keys (A, B, T, X — or 1 to 4).
import { useEffect } from 'react';
import { isTrainable, PAIR_VERDICTS, VERDICT_NAMES, type PairVerdict } from '../classroom/labels.ts';
import { useStudio } from '../store/index.ts';

const KEYS: Record<string, PairVerdict> = { a: 'a', '1': 'a', b: 'b', '2': 'b', t: 'tie', '3': 'tie', x: 'both_bad', '4': 'both_bad' };
const SHORTCUT: Record<PairVerdict, string> = { a: 'A', b: 'B', tie: 'T', both_bad: 'X' };

/** Keys typed into a field are text, not verdicts. */
function typing(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

export function LabelPair() {
  const l = useStudio((s) => s.labelling);
  const judge = useStudio((s) => s.judgePair);
  const ready = l.status === 'ready';

  useEffect(() => {
    if (!ready) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      const verdict = KEYS[e.key.toLowerCase()];
      if (!verdict) return;
      e.preventDefault();
      void judge(verdict);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [ready, judge]);

  if (l.status === 'idle' && !l.prompt) return null;
  return (
    <div className="label-pair">
      <p className="label-prompt">
        <span className="muted">Prompt {l.index + 1}:</span> {l.prompt}
      </p>
      <div className="compare">
        <figure aria-label="Answer A">
          <figcaption>A</figcaption>
          <p className="answer" aria-busy={l.status === 'sampling' && !l.b}>
            {l.a}
          </p>
        </figure>
        <figure aria-label="Answer B">
          <figcaption>B</figcaption>
          <p className="answer" aria-busy={l.status === 'sampling'}>
            {l.b}
          </p>
        </figure>
      </div>
      <div className="actions verdicts">
        {PAIR_VERDICTS.map((v) => (
          <button
            key={v}
            type="button"
            className={v === 'a' || v === 'b' ? '' : 'secondary'}
            disabled={!ready}
            aria-label={VERDICT_NAMES[v]}
            aria-keyshortcuts={`${SHORTCUT[v]} ${PAIR_VERDICTS.indexOf(v) + 1}`}
            onClick={() => void judge(v)}
          >
            {VERDICT_NAMES[v]} <kbd>{SHORTCUT[v]}</kbd>
          </button>
        ))}
      </div>
      {ready && l.a === l.b && <p className="muted">A and B came out the same: press Tie, or Skip for another pair.</p>}
      {ready && l.a !== l.b && (!isTrainable(l.a) || !isTrainable(l.b)) && (
        <p className="muted">One answer is empty: a training row cannot hold it, so this pair will be kept but not trained on.</p>
      )}
    </div>
  );
}
