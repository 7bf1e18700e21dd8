// Recipe: how to train — SFT or DPO, the LoRA shape and the optimizer settings, under their
// TRL names (hover a field to see it). Defaults suit the loaded model's size.
import { DPO_LOSS_TYPES, LORA_MODULES, type DpoLossType } from '../recipe.ts';
import { useStudio } from '../store/index.ts';
import { NumberField } from './NumberField.tsx';
import { Panel } from './Panel.tsx';
import { RecipeCommand } from './RecipeCommand.tsx';

export function RecipePanel() {
  const r = useStudio((s) => s.recipe);
  const set = useStudio((s) => s.setRecipe);
  const setMethod = useStudio((s) => s.setMethod);
  const toggleModule = (m: string, on: boolean) => {
    const next = on ? [...r.lora_target_modules, m] : r.lora_target_modules.filter((x) => x !== m);
    if (next.length > 0) set({ lora_target_modules: LORA_MODULES.filter((x) => next.includes(x)) });
  };
  return (
    <Panel title="Recipe" subtitle="Method and hyperparameters (TRL names)">
      <label className="field">
        <span className="field-label">Method</span>
        <select aria-label="Method" value={r.method} onChange={(e) => setMethod(e.target.value as 'sft' | 'dpo')} title="method">
          <option value="sft">SFT — supervised fine-tuning</option>
          <option value="dpo">DPO — preference pairs</option>
        </select>
      </label>
      <fieldset className="grid">
        <legend>LoRA</legend>
        <NumberField label="LoRA r" value={r.lora_r} integer min={1} onChange={(v) => set({ lora_r: v })} help="lora_r" />
        <NumberField label="LoRA alpha" value={r.lora_alpha} min={0} onChange={(v) => set({ lora_alpha: v })} help="lora_alpha" />
        <NumberField label="LoRA dropout" value={r.lora_dropout} min={0} max={0.99} step={0.01} onChange={(v) => set({ lora_dropout: v })} help="lora_dropout" />
      </fieldset>
      <fieldset className="modules" aria-label="Target modules">
        <legend>Target modules</legend>
        {LORA_MODULES.map((m) => (
          <label key={m} className="checkbox">
            <input type="checkbox" checked={r.lora_target_modules.includes(m)} onChange={(e) => toggleModule(m, e.target.checked)} />
            {m}
          </label>
        ))}
      </fieldset>
      <fieldset className="grid">
        <legend>Training</legend>
        <NumberField label="Learning rate" value={r.learning_rate} min={0} onChange={(v) => set({ learning_rate: v })} help="learning_rate" />
        <NumberField label="Max steps" value={r.max_steps} integer min={-1} onChange={(v) => set({ max_steps: v })} help="max_steps (-1: train by epochs)" />
        <NumberField label="Epochs" value={r.num_train_epochs} min={0.01} onChange={(v) => set({ num_train_epochs: v })} help="num_train_epochs (used when max_steps is -1)" />
        <NumberField label="Batch size" value={r.per_device_train_batch_size} integer min={1} onChange={(v) => set({ per_device_train_batch_size: v })} help="per_device_train_batch_size" />
        <NumberField label="Gradient accumulation" value={r.gradient_accumulation_steps} integer min={1} onChange={(v) => set({ gradient_accumulation_steps: v })} help="gradient_accumulation_steps" />
        <NumberField label="Max length" value={r.max_length} integer min={2} onChange={(v) => set({ max_length: v })} help="max_length (tokens per row)" />
        <NumberField label="Checkpoint every" value={r.save_steps} integer min={1} onChange={(v) => set({ save_steps: v })} help="save_steps" />
        <label className="field">
          <span className="field-label">Schedule</span>
          <select aria-label="Schedule" value={r.lr_scheduler_type} onChange={(e) => set({ lr_scheduler_type: e.target.value as typeof r.lr_scheduler_type })} title="lr_scheduler_type">
            <option value="linear">linear</option>
            <option value="cosine">cosine</option>
            <option value="constant">constant</option>
            <option value="constant_with_warmup">constant with warmup</option>
          </select>
        </label>
        <label className="checkbox" title="gradient_checkpointing: recompute activations in the backward pass instead of keeping them">
          <input type="checkbox" checked={r.gradient_checkpointing} onChange={(e) => set({ gradient_checkpointing: e.target.checked })} />
          Gradient checkpointing
        </label>
      </fieldset>
      {r.method === 'dpo' && (
        <fieldset className="grid">
          <legend>DPO</legend>
          <NumberField label="Beta" value={r.beta} min={0} onChange={(v) => set({ beta: v })} help="beta" />
          <label className="field">
            <span className="field-label">Loss type</span>
            <select aria-label="Loss type" value={r.loss_type} onChange={(e) => set({ loss_type: e.target.value as DpoLossType })} title="loss_type">
              {DPO_LOSS_TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
        </fieldset>
      )}
      <RecipeCommand />
    </Panel>
  );
}
