// Run: start, pause, resume and stop training; the step, speed and time left; live charts and
// sample generations.
import { useStudio } from '../store/index.ts';
import type { TrainingState } from '../store/createTrainingSlice.ts';
import { Panel } from './Panel.tsx';
import { Problem } from './Problem.tsx';
import { ProgressLine } from './ProgressLine.tsx';
import { RewardHistogram } from './RewardHistogram.tsx';
import { RunCharts } from './RunCharts.tsx';
import { SampleList } from './SampleList.tsx';

function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  if (seconds < 60) return `${Math.ceil(seconds)} s left`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s left`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min left`;
}

export function statusText(t: TrainingState): string {
  const steps = `Step ${t.step} / ${t.total ?? '?'}`;
  switch (t.phase) {
    case 'idle':
      return 'Not started';
    case 'starting':
      return 'Starting…';
    case 'running':
      return steps;
    case 'paused':
      return `${steps} — paused`;
    case 'stopping':
      return `${steps} — stopping…`;
    case 'recovering':
      return `${steps} — resuming…`;
    case 'done':
      return `${steps} — done`;
    case 'stopped':
      return `${steps} — stopped`;
    case 'failed':
      return `${steps} — failed`;
  }
}

export function RunPanel() {
  const t = useStudio((s) => s.training);
  const modelReady = useStudio((s) => s.model.status === 'ready');
  const datasetReady = useStudio((s) => s.dataset.status === 'ready' && !!s.dataset.report);
  const report = useStudio((s) => s.dataset.report);
  const skip = useStudio((s) => s.recipe.skip_invalid_rows);
  const estimate = useStudio((s) => s.memory.estimate);
  const start = useStudio((s) => s.startTraining);
  const pause = useStudio((s) => s.pauseTraining);
  const resume = useStudio((s) => s.resumeTraining);
  const stop = useStudio((s) => s.stopTraining);

  const active = ['starting', 'running', 'paused', 'stopping', 'recovering'].includes(t.phase);
  const blockers: string[] = [];
  if (!modelReady) blockers.push('load a model');
  if (!datasetReady) blockers.push('choose a dataset');
  if (report && report.errorCount > 0 && !skip) blockers.push('fix the invalid rows or choose to skip them');
  if (report && report.rows === 0) blockers.push('use a dataset with valid rows');
  const tooBig = estimate !== null && !estimate.fits;

  return (
    <Panel title="Run" subtitle="Train and watch the loss">
      <div className="actions">
        <button type="button" disabled={active || blockers.length > 0 || tooBig} onClick={() => void start()}>
          Start training
        </button>
        {tooBig && !active && blockers.length === 0 && (
          <button type="button" className="secondary" onClick={() => void start()}>
            Start anyway
          </button>
        )}
        {t.phase === 'paused' ? (
          <button type="button" className="secondary" onClick={resume}>
            Resume
          </button>
        ) : (
          <button type="button" className="secondary" disabled={t.phase !== 'running'} onClick={pause}>
            Pause
          </button>
        )}
        <button type="button" className="secondary" disabled={t.phase !== 'running' && t.phase !== 'paused'} onClick={stop}>
          Stop
        </button>
      </div>
      {blockers.length > 0 && !active && <p className="muted">To start: {blockers.join(', ')}.</p>}
      {tooBig && !active && <p className="muted">The memory estimate says this recipe does not fit (see the Model panel).</p>}
      <p className="run-status" role="status" aria-live="polite" data-phase={t.phase}>
        {statusText(t)}
      </p>
      {(active || t.step > 0) && (
        <ProgressLine
          label="Training progress"
          value={t.step}
          max={t.total}
          detail={[
            t.tokensPerSecond !== null ? `${t.tokensPerSecond.toFixed(t.tokensPerSecond < 10 ? 1 : 0)} tokens/s` : '',
            active ? formatEta(t.etaSeconds) : '',
            t.checkpointStep !== null ? `checkpoint saved at step ${t.checkpointStep}` : '',
          ]
            .filter(Boolean)
            .join(' · ')}
        />
      )}
      {t.notes.length > 0 && (
        <ul className="notes" aria-label="Run notes">
          {t.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
      {t.warnings.map((w, i) => (
        <p key={i} className="warning" role="note">
          {w}
        </p>
      ))}
      {t.error && <Problem error={t.error} />}
      <RunCharts logs={t.logs} method={t.method} />
      {t.rewardScores && <RewardHistogram scores={t.rewardScores} />}
      <SampleList samples={t.samples} />
    </Panel>
  );
}
