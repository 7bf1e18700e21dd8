// A saved run, opened: its recipe, charts and a fresh export of its adapter.
import type { RunRecord } from '../persistence/index.ts';
import { useStudio } from '../store/index.ts';
import { RewardHistogram } from './RewardHistogram.tsx';
import { RunCharts } from './RunCharts.tsx';

export function RunDetail({ run }: { run: RunRecord }) {
  const open = useStudio((s) => s.openRun);
  const exportAdapter = useStudio((s) => s.exportAdapter);
  const busy = useStudio((s) => s.exporting.status === 'adapter');
  if (open.loading) return <p className="muted">Loading…</p>;
  return (
    <div className="run-detail">
      {run.note && <p className="muted">{run.note}</p>}
      <RunCharts logs={open.logs} method={run.method} />
      {run.rewardScores && <RewardHistogram scores={run.rewardScores} />}
      {open.logs.length === 0 && <p className="muted">No metrics were saved for this run.</p>}
      <details>
        <summary>Recipe</summary>
        <pre className="command">{JSON.stringify(run.recipe, null, 2)}</pre>
      </details>
      <button type="button" disabled={!open.hasAdapter || busy} onClick={() => void exportAdapter(run.id)}>
        Export adapter
      </button>
      {!open.hasAdapter && <span className="muted"> This run has no finished adapter.</span>}
    </div>
  );
}
