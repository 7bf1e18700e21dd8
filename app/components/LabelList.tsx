// The labels so far, newest first: change a verdict or delete a label (kept in IndexedDB).
import { PAIR_VERDICTS, VERDICT_NAMES, type PairVerdict } from '../classroom/labels.ts';
import { useStudio } from '../store/index.ts';

const clip = (s: string) => (s.length > 90 ? `${s.slice(0, 90)}…` : s);

export function LabelList() {
  const labels = useStudio((s) => s.labels);
  const setVerdict = useStudio((s) => s.setVerdict);
  const remove = useStudio((s) => s.removeLabel);
  if (labels.length === 0) return null;
  const numbered = labels.map((l, i) => ({ label: l, n: i + 1 })).reverse();
  return (
    <details className="label-list">
      <summary>Labels ({labels.length})</summary>
      <div className="table-window">
        <table aria-label="Labels">
          <thead>
            <tr>
              <th>#</th>
              <th>Prompt</th>
              <th>A</th>
              <th>B</th>
              <th>Verdict</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {numbered.map(({ label, n }) => (
              <tr key={label.id}>
                <td className="line-number">{n}</td>
                <td>{clip(label.prompt)}</td>
                <td>{clip(label.kind === 'pair' ? label.a : label.completion)}</td>
                <td>{label.kind === 'pair' ? clip(label.b) : ''}</td>
                <td>
                  {label.kind === 'pair' ? (
                    <select aria-label={`Verdict of label ${n}`} value={label.verdict} onChange={(e) => void setVerdict(label.id, e.target.value as PairVerdict)}>
                      {PAIR_VERDICTS.map((v) => (
                        <option key={v} value={v}>
                          {VERDICT_NAMES[v]}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <span>{label.label ? 'Good' : 'Bad'}</span>
                  )}
                </td>
                <td>
                  <button type="button" className="link-button" aria-label={`Delete label ${n}`} onClick={() => void remove(label.id)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}
