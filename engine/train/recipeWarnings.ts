// Values that parse but make no sense (`--lora_r 100000`, `--max_length 1e9`): a run with them
// would waste hours or fail deep inside, so the user is warned before it starts, in one line per
// value, naming the option and what is usual. Only warnings: an expert may mean it.
// Wiring: the training session (engine/session/training.ts) passes them to onWarning before
// anything else, so `whetstone train` and the studio both show them.

import { usedBy } from '../recipe/fields.ts';
import type { Method } from '../recipe/methods.ts';

/** The recipe options checked (TRL names; a Recipe fits). */
export interface RecipeValues {
  method?: Method;
  learning_rate?: number;
  lora_r?: number;
  lora_alpha?: number;
  max_length?: number;
  per_device_train_batch_size?: number;
  gradient_accumulation_steps?: number;
  num_train_epochs?: number;
  max_steps?: number;
  warmup_steps?: number;
  beta?: number;
}

/** What the model allows (a ModelSpec fits). */
export interface ModelLimits {
  hiddenSize: number;
  maxPositionEmbeddings: number;
}

export const ABSURD = {
  lora_r: 1024,
  max_length: 1 << 20,
  learning_rate: 0.1,
  batch_tokens: 1 << 24,
  num_train_epochs: 1000,
  max_steps: 10_000_000,
  beta: 100,
} as const;

export function absurdValueWarnings(r: RecipeValues, model?: ModelLimits): string[] {
  const out: string[] = [];
  if (r.lora_r !== undefined) {
    if (model && r.lora_r >= model.hiddenSize) {
      out.push(`lora_r=${r.lora_r} is at least the model's hidden_size (${model.hiddenSize}): the adapter is then no smaller than the layers it adapts; ranks of 8-64 are usual`);
    } else if (r.lora_r > ABSURD.lora_r) out.push(`lora_r=${r.lora_r} is far above usual LoRA ranks (8-64)`);
  }
  if (r.max_length !== undefined) {
    if (model && r.max_length > model.maxPositionEmbeddings) {
      out.push(`max_length=${r.max_length} is beyond the model's max_position_embeddings (${model.maxPositionEmbeddings}); positions past it were never trained`);
    } else if (r.max_length > ABSURD.max_length) out.push(`max_length=${r.max_length} tokens is far beyond any model's context; rows are cut to it, and memory is planned for it`);
  }
  if (r.learning_rate !== undefined && r.learning_rate > ABSURD.learning_rate) {
    out.push(`learning_rate=${r.learning_rate} is far above LoRA's usual 1e-5 to 1e-3: expect a diverging (NaN) loss`);
  }
  const perStep = (r.per_device_train_batch_size ?? 1) * (r.gradient_accumulation_steps ?? 1) * (r.max_length ?? 1);
  if (perStep > ABSURD.batch_tokens) {
    out.push(`per_device_train_batch_size x gradient_accumulation_steps x max_length = ${perStep} tokens per step: steps will be extremely slow`);
  }
  if (r.num_train_epochs !== undefined && r.num_train_epochs > ABSURD.num_train_epochs) out.push(`num_train_epochs=${r.num_train_epochs} will overfit the data many times over`);
  if (r.max_steps !== undefined && r.max_steps > ABSURD.max_steps) out.push(`max_steps=${r.max_steps} would run for months`);
  if (r.warmup_steps !== undefined && r.max_steps !== undefined && r.max_steps > 0 && r.warmup_steps >= r.max_steps) {
    out.push(`warmup_steps=${r.warmup_steps} is not below max_steps=${r.max_steps}: the learning rate never reaches its set value`);
  }
  if (r.beta !== undefined && r.beta > ABSURD.beta && (!r.method || usedBy('beta', r.method))) out.push(`beta=${r.beta} is far above the usual 0.01-0.5 (SimPO: 2-10)`);
  return out;
}
