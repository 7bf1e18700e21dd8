// Dataset: the examples to train on (JSONL, JSON, CSV or Parquet), checked row by row, with a
// preview and the tokens the loss is computed on. Drop a file anywhere on the panel.
import { useState, type DragEvent } from 'react';
import { useStudio } from '../store/index.ts';
import { DatasetErrors } from './DatasetErrors.tsx';
import { DatasetTable } from './DatasetTable.tsx';
import { MaskInspector } from './MaskInspector.tsx';
import { Panel } from './Panel.tsx';
import { Problem } from './Problem.tsx';

export function DatasetPanel() {
  const dataset = useStudio((s) => s.dataset);
  const setFile = useStudio((s) => s.setDatasetFile);
  const loadDemo = useStudio((s) => s.loadDemoDataset);
  const [dragging, setDragging] = useState(false);

  async function readFile(file: File | undefined) {
    // The bytes as a promise: the store notes the recipe now, when the file is chosen.
    if (file) await setFile(file.arrayBuffer().then((data) => ({ name: file.name, data })));
  }

  function onDrop(e: DragEvent) {
    e.preventDefault();
    setDragging(false);
    void readFile(e.dataTransfer.files[0]);
  }

  const report = dataset.report;
  return (
    <Panel title="Dataset" subtitle="Your examples; they never leave this machine">
      <div
        className={`drop-area${dragging ? ' dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <label className="field">
          <span className="field-label">Dataset file</span>
          <input type="file" accept=".jsonl,.ndjson,.json,.csv,.parquet,.gz" onChange={(e) => void readFile(e.target.files?.[0])} />
          <span className="field-help">
            JSONL, JSON, CSV or Parquet (gzip-compressed too): chat messages or prompt/completion (SFT), prompt/chosen/rejected (DPO, ORPO, SimPO, reward model),
            prompt/completion/label (KTO). Or drop it here.
          </span>
        </label>
        <div className="actions">
          <span className="muted">Or try:</span>
          <button type="button" className="secondary" onClick={() => void loadDemo('sft')}>
            Demo SFT dataset
          </button>
          <button type="button" className="secondary" onClick={() => void loadDemo('dpo')}>
            Demo DPO dataset
          </button>
          <button type="button" className="secondary" onClick={() => void loadDemo('kto')}>
            Demo KTO dataset
          </button>
        </div>
        {dataset.status === 'reading' && <p className="muted">Checking {dataset.file?.name}…</p>}
        {dataset.error && <Problem error={dataset.error} />}
        {report && (
          <>
            <p className="dataset-summary" data-testid="dataset-summary">
              <strong>{report.fileName}</strong>: {report.format}
              {report.compression && ` (${report.compression})`} · <span data-testid="dataset-count">{report.countLabel}</span> ·{' '}
              {report.method.toUpperCase()}
            </p>
            <DatasetErrors report={report} />
            <DatasetTable rows={report.preview} pairs={report.pairPreview} />
            <MaskInspector report={report} />
          </>
        )}
      </div>
    </Panel>
  );
}
