// Label: the classroom's first step. Two answers per prompt from the current model; pick the
// better one (or tie, or both bad). Each choice is a preference pair kept in this browser.
import { useStudio } from '../store/index.ts';
import { LabelList } from './LabelList.tsx';
import { LabelPair } from './LabelPair.tsx';
import { LabelPromptFields } from './LabelPromptFields.tsx';
import { LabelTraining } from './LabelTraining.tsx';
import { Panel } from './Panel.tsx';
import { Problem } from './Problem.tsx';

export function LabelPanel() {
  const l = useStudio((s) => s.labelling);
  const sample = useStudio((s) => s.samplePair);
  const skip = useStudio((s) => s.skipPair);
  const modelReady = useStudio((s) => s.model.status === 'ready');
  const training = useStudio((s) => ['starting', 'running', 'paused', 'stopping', 'recovering'].includes(s.training.phase));
  const labelsError = useStudio((s) => s.labelsError);
  const busy = l.status === 'sampling';
  const started = l.status !== 'idle' || l.prompt !== '';

  return (
    <Panel title="Label" subtitle="Pick the better of two answers; each choice is a preference pair" className="label-panel">
      <LabelPromptFields disabled={busy} />
      <div className="actions">
        <button type="button" disabled={!modelReady || training || busy} onClick={() => void (started ? skip() : sample())}>
          {started ? 'Skip' : 'Start labelling'}
        </button>
        {!modelReady && <span className="muted">Load a model to sample answers.</span>}
        {training && <span className="muted">Sampling waits while a run trains.</span>}
      </div>
      <LabelPair />
      {l.error && <Problem error={l.error} />}
      {labelsError && <Problem error={labelsError} />}
      <LabelTraining />
      <LabelList />
    </Panel>
  );
}
