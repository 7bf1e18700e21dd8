// Export: download the trained adapter.
import { NotYet, Panel } from './Panel.tsx';

export function ExportPanel() {
  return (
    <Panel title="Export" subtitle="Take your adapter with you">
      <NotYet>
        Not available yet — arrives with adapter export: a PEFT adapter (adapter_model.safetensors and adapter_config.json)
        that transformers and PEFT load as is.
      </NotYet>
    </Panel>
  );
}
