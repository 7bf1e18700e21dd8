// Dataset: the examples to train on, checked row by row.
import { NotYet, Panel } from './Panel.tsx';

export function DatasetPanel() {
  return (
    <Panel title="Dataset" subtitle="Your examples; they never leave this machine">
      <NotYet>
        Not available yet — arrives with dataset inspection: drop a JSONL or Parquet file, see every bad row by line, and
        preview which tokens the loss is computed on.
      </NotYet>
    </Panel>
  );
}
