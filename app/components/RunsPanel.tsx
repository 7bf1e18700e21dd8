// Runs: every training run kept in this browser (IndexedDB), newest first.
import { useStudio } from '../store/index.ts';
import type { RunRecord } from '../persistence/index.ts';
import { formatDate } from '../format.ts';
import { Panel } from './Panel.tsx';
import { RunDetail } from './RunDetail.tsx';

function RunItem({ run, onDelete }: { run: RunRecord; onDelete: (id: string) => void }) {
  const isOpen = useStudio((s) => s.openRun.runId === run.id);
  const openRun = useStudio((s) => s.openSavedRun);
  const closeRun = useStudio((s) => s.closeSavedRun);
  return (
    <li className="run" aria-label={`Run ${run.id}`}>
      <div className="run-main">
        <span className={`badge badge-${run.method}`}>{run.method.toUpperCase()}</span>
        <span className="run-model">{run.model}</span>
      </div>
      <div className="run-facts">
        <span className={`status status-${run.status}`}>{run.status}</span>
        <span>
          step {run.steps} / {run.maxSteps}
        </span>
        <span>loss {run.finalLoss === null ? '—' : run.finalLoss.toFixed(4)}</span>
        <time dateTime={new Date(run.createdAt).toISOString()}>{formatDate(run.createdAt)}</time>
      </div>
      <button
        type="button"
        className="link-button run-open"
        aria-expanded={isOpen}
        aria-label={`${isOpen ? 'Close' : 'Open'} run ${run.id}`}
        onClick={() => (isOpen ? closeRun() : void openRun(run.id))}
      >
        {isOpen ? 'Close' : 'Open'}
      </button>
      <button
        type="button"
        className="link-button run-delete"
        aria-label={`Delete run ${run.id}`}
        onClick={() => {
          if (window.confirm(`Delete run ${run.id} with its metrics, checkpoints and adapter?`)) onDelete(run.id);
        }}
      >
        Delete
      </button>
      {isOpen && <RunDetail run={run} />}
    </li>
  );
}

export function RunsPanel() {
  const runs = useStudio((s) => s.runs);
  const status = useStudio((s) => s.runsStatus);
  const error = useStudio((s) => s.runsError);
  const deleteRun = useStudio((s) => s.deleteRun);
  const dismiss = useStudio((s) => s.dismissRunsError);

  return (
    <Panel title="Runs" subtitle="Kept in this browser between visits">
      {error && (
        <div className="problem" role="alert">
          <div>
            <p className="problem-message">{error.message}</p>
            <p>{error.hint}</p>
          </div>
          <button type="button" className="link-button" onClick={dismiss}>
            Dismiss
          </button>
        </div>
      )}
      {status === 'loading' && runs.length === 0 && <p className="muted">Loading saved runs…</p>}
      {status === 'ready' && runs.length === 0 && (
        <p className="muted">No runs yet. Runs you train are saved here, in this browser only.</p>
      )}
      {runs.length > 0 && (
        <ul className="runs" aria-label="Saved runs">
          {runs.map((run) => (
            <RunItem key={run.id} run={run} onDelete={(id) => void deleteRun(id)} />
          ))}
        </ul>
      )}
    </Panel>
  );
}
