// Recipe: how to train (method and hyperparameters, TRL names).
import { NotYet, Panel } from './Panel.tsx';

export function RecipePanel() {
  return (
    <Panel title="Recipe" subtitle="Method and hyperparameters">
      <NotYet>
        Not available yet — arrives with the trainers: SFT or DPO, lora_r, learning_rate, per_device_train_batch_size,
        max_length and the rest, under their TRL names.
      </NotYet>
    </Panel>
  );
}
