// What the labels add up to, and what to do with them: download as DPO JSONL, or train on them.
import { useState } from 'react';
import { LABEL_TRAINING_STEPS } from '../classroom/labelRecipe.ts';
import { dpoRows, pairsLabelledText } from '../classroom/labels.ts';
import { useStudio } from '../store/index.ts';
import { statusText } from './RunPanel.tsx';
import { NumberField } from './NumberField.tsx';

export function LabelTraining() {
  const labels = useStudio((s) => s.labels);
  const download = useStudio((s) => s.downloadLabels);
  const train = useStudio((s) => s.trainOnLabels);
  const training = useStudio((s) => s.training);
  const labelRunId = useStudio((s) => s.labelRunId);
  const modelReady = useStudio((s) => s.model.status === 'ready');
  const [steps, setSteps] = useState(LABEL_TRAINING_STEPS);
  const preferences = dpoRows(labels).length;
  const active = ['starting', 'running', 'paused', 'stopping', 'recovering'].includes(training.phase);
  const mine = labelRunId !== null && training.runId === labelRunId;

  return (
    <div className="label-training">
      <p className="label-count">
        <strong data-testid="labels-count">{pairsLabelledText(labels)}</strong>
        <span className="muted">
          {' '}
          · {preferences} preference{preferences === 1 ? '' : 's'} to train on (ties and both-bad are kept, but state no preference)
        </span>
      </p>
      <div className="actions">
        <button type="button" className="secondary" disabled={preferences === 0} onClick={download}>
          Download labels
        </button>
        <NumberField label="Training steps" value={steps} integer min={1} max={1000} onChange={(v) => v !== null && setSteps(v)} help="max_steps of the DPO run on your labels" />
        <button type="button" disabled={preferences === 0 || !modelReady || active} onClick={() => void train(steps)}>
          Train on my labels
        </button>
      </div>
      <p className="muted field-help">
        The download is <code>labels.jsonl</code>: TRL&apos;s conversational prompt/chosen/rejected rows, which{' '}
        <code>whetstone train --method dpo</code> reads as is. Training uses them as the dataset, with DPO sized for a few dozen pairs.
      </p>
      {mine && (
        <p className="run-status" role="status" aria-label="Label training">
          Training on {preferences} preference{preferences === 1 ? '' : 's'}: {statusText(training)}
        </p>
      )}
    </div>
  );
}
