// Compare: the same prompt through the base model and the fine-tuned adapter.
import { NotYet, Panel } from './Panel.tsx';

export function ComparePanel() {
  return (
    <Panel title="Compare" subtitle="Base model and adapter, side by side">
      <NotYet>Not available yet — arrives with generation: one prompt, answered by the base model and by your adapter.</NotYet>
    </Panel>
  );
}
