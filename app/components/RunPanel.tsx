// Run: start, pause and stop training; watch the loss.
import { NotYet, Panel } from './Panel.tsx';

export function RunPanel() {
  return (
    <Panel title="Run" subtitle="Train and watch the loss">
      <NotYet>Not available yet — arrives with the trainers: start, pause and stop a run, with a live loss chart.</NotYet>
    </Panel>
  );
}
