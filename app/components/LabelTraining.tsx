// What the labels add up to, and what to do with them: download them as the JSONL they train on,
// or train on them — DPO for pairs only, KTO once there are thumbs (app/classroom/labelRecipe.ts).
import { useState } from 'react';
import { LABEL_TRAINING_STEPS, labelTrainingPlan } from '../classroom/labelRecipe.ts';
import { labelsCountText } from '../classroom/labels.ts';
import { useStudio } from '../store/index.ts';
import { statusText } from './RunPanel.tsx';
import { NumberField } from './NumberField.tsx';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function LabelTraining() {
  const labels = useStudio((s) => s.labels);
  const download = useStudio((s) => s.downloadLabels);
  const train = useStudio((s) => s.trainOnLabels);
  const training = useStudio((s) => s.training);
  const labelRunId = useStudio((s) => s.labelRunId);
  const modelReady = useStudio((s) => s.model.status === 'ready');
  const [steps, setSteps] = useState(LABEL_TRAINING_STEPS);
  const plan = labelTrainingPlan(labels);
  const kto = plan.method === 'kto';
  const active = ['starting', 'running', 'paused', 'stopping', 'recovering'].includes(training.phase);
  const mine = labelRunId !== null && training.runId === labelRunId;
  const what = kto ? `${plural(plan.rows, 'row')} (${plan.good} good, ${plan.bad} bad)` : plural(plan.rows, 'preference');

  return (
    <div className="label-training">
      <p className="label-count">
        <strong data-testid="labels-count">{labelsCountText(labels)}</strong>
        <span className="muted">
          {' '}
          · {what} to train on{' '}
          {kto ? '(thumbs as rated; each preference as a good and a bad answer, both-bad as two bad ones)' : '(ties and both-bad are kept, but state no preference)'}
        </span>
      </p>
      <div className="actions">
        <button type="button" className="secondary" disabled={plan.rows === 0} onClick={download}>
          Download labels
        </button>
        <NumberField label="Training steps" value={steps} integer min={1} max={1000} onChange={(v) => v !== null && setSteps(v)} help={`max_steps of the ${kto ? 'KTO' : 'DPO'} run on your labels`} />
        <button type="button" disabled={plan.blocked !== null || !modelReady || active} onClick={() => void train(steps)}>
          Train on my labels
        </button>
      </div>
      {plan.blocked && labels.length > 0 && <p className="muted">{plan.blocked}</p>}
      <p className="muted field-help">
        {kto ? (
          <>
            With thumbs, the labels train with <strong>KTO</strong>, which learns from single answers marked good or bad; pairs join in as a good and a bad answer. The
            download is <code>labels-kto.jsonl</code>: TRL&apos;s unpaired prompt/completion/label rows, which <code>whetstone train --method kto</code> reads as is.
            KTO weighs the smaller side up, as TRL advises (desirable_weight {String(plan.recipe.desirable_weight)}, undesirable_weight{' '}
            {String(plan.recipe.undesirable_weight)}).
          </>
        ) : (
          <>
            Pairs alone train with <strong>DPO</strong>, sized for a few dozen pairs (rate single answers with thumbs, and everything trains with KTO instead). The download
            is <code>labels.jsonl</code>: TRL&apos;s conversational prompt/chosen/rejected rows, which <code>whetstone train --method dpo</code> reads as is.
          </>
        )}
      </p>
      {mine && (
        <p className="run-status" role="status" aria-label="Label training">
          Training {training.method.toUpperCase()} on {what}: {statusText(training)}
        </p>
      )}
    </div>
  );
}
