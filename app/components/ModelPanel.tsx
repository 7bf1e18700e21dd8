// Model: which base model to fine-tune.
import { NotYet, Panel } from './Panel.tsx';

export function ModelPanel() {
  return (
    <Panel title="Model" subtitle="The base model to fine-tune">
      <NotYet>
        Not available yet — arrives with model loading: the built-in demo model, a Hugging Face model id, or your own
        safetensors files.
      </NotYet>
    </Panel>
  );
}
