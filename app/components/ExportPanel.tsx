// Export: the trained adapter as a PEFT zip (adapter_config.json + adapter_model.safetensors,
// loadable by transformers/PEFT as is), or the base model with the adapter merged in.
import { useStudio } from '../store/index.ts';
import { Panel } from './Panel.tsx';
import { Problem } from './Problem.tsx';

export function ExportPanel() {
  const runId = useStudio((s) => (s.training.adapter ? s.training.runId : null));
  const exporting = useStudio((s) => s.exporting);
  const exportAdapter = useStudio((s) => s.exportAdapter);
  const exportMerged = useStudio((s) => s.exportMergedModel);
  const savedIn4bit = useStudio((s) => s.model.info?.savedIn4bit ?? false);
  const busy = exporting.status === 'adapter' || exporting.status === 'merged';
  return (
    <Panel title="Export" subtitle="Take your adapter with you">
      {runId ? (
        <p className="muted">
          The adapter of run <code>{runId}</code>.
        </p>
      ) : (
        <p className="muted">Finish a run to export its adapter (earlier runs export from the Runs panel).</p>
      )}
      <div className="actions">
        <button type="button" disabled={!runId || busy} onClick={() => runId && void exportAdapter(runId)}>
          {exporting.status === 'adapter' ? 'Zipping…' : 'Export adapter'}
        </button>
        <button type="button" className="secondary" disabled={!runId || busy} onClick={() => runId && void exportMerged(runId)}>
          {exporting.status === 'merged' ? 'Merging…' : 'Export merged model'}
        </button>
      </div>
      {savedIn4bit && (
        <p className="muted" data-testid="export-dequantized">
          This base model is saved in 4-bit, so its original 16-bit weights are not available: the merged model is its weights dequantized (as bitsandbytes computes with them) with the adapter added, saved as an ordinary 16-bit checkpoint.
        </p>
      )}
      {exporting.lastFile && <p className="muted">Saved {exporting.lastFile}.</p>}
      {exporting.error && <Problem error={exporting.error} />}
    </Panel>
  );
}
