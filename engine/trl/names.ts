// The one table from Whetstone's recipe keys to the names a TRL + PEFT project uses for them
// (`whetstone recipe --to trl`), and the trainer / config classes per method. names.test.ts checks
// every TRL / PEFT name here against the fields of the real classes (trlConfigFields.json).

import type { RecipeKey } from '../recipe/fields.ts';
import { METHODS, type Method } from '../recipe/methods.ts';

/** Every training method has a TRL trainer. */
export const TRL_METHODS = METHODS;
export type TrlMethod = Method;

export interface TrlTrainer {
  trainer: string;
  config: string;
  /** Where to import them from: the top-level `trl`, with a fallback for classes TRL moved to trl.experimental. */
  experimental: string | null;
}

export const TRL_TRAINERS: Record<TrlMethod, TrlTrainer> = {
  sft: { trainer: 'SFTTrainer', config: 'SFTConfig', experimental: null },
  dpo: { trainer: 'DPOTrainer', config: 'DPOConfig', experimental: null },
  orpo: { trainer: 'ORPOTrainer', config: 'ORPOConfig', experimental: 'trl.experimental.orpo' },
  simpo: { trainer: 'CPOTrainer', config: 'CPOConfig', experimental: 'trl.experimental.cpo' },
  kto: { trainer: 'KTOTrainer', config: 'KTOConfig', experimental: 'trl.experimental.kto' },
  reward: { trainer: 'RewardTrainer', config: 'RewardConfig', experimental: null },
};

/** Where a recipe key goes in the generated project. */
export type TrlTarget =
  /** A field of the method's TRL config (its own, or inherited from transformers.TrainingArguments). */
  | { to: 'config'; name: string; methods?: readonly TrlMethod[] }
  /** A field of peft.LoraConfig. */
  | { to: 'lora'; name: string }
  /** Carried out by the generated project itself (which trainer, which rows go in which file). */
  | { to: 'project'; how: string }
  /** No TRL equivalent; the README says what TRL does instead. */
  | { to: 'none'; why: string };

const cfg = (name: string, methods?: readonly TrlMethod[]): TrlTarget => (methods ? { to: 'config', name, methods } : { to: 'config', name });

/** Whetstone recipe key -> TRL / PEFT name. */
export const TRL_NAMES = {
  method: { to: 'project', how: 'picks the trainer and config classes' },
  learning_rate: cfg('learning_rate'),
  lr_scheduler_type: cfg('lr_scheduler_type'),
  warmup_steps: cfg('warmup_steps'),
  warmup_ratio: cfg('warmup_ratio'),
  weight_decay: cfg('weight_decay'),
  max_grad_norm: cfg('max_grad_norm'),
  optim: cfg('optim'),
  adam_beta1: cfg('adam_beta1'),
  adam_beta2: cfg('adam_beta2'),
  adam_epsilon: cfg('adam_epsilon'),
  per_device_train_batch_size: cfg('per_device_train_batch_size'),
  per_device_eval_batch_size: cfg('per_device_eval_batch_size'),
  gradient_accumulation_steps: cfg('gradient_accumulation_steps'),
  max_steps: cfg('max_steps'),
  num_train_epochs: cfg('num_train_epochs'),
  seed: cfg('seed'),
  lora_r: { to: 'lora', name: 'r' },
  lora_alpha: { to: 'lora', name: 'lora_alpha' },
  lora_dropout: { to: 'lora', name: 'lora_dropout' },
  lora_target_modules: { to: 'lora', name: 'target_modules' },
  use_rslora: { to: 'lora', name: 'use_rslora' },
  max_length: cfg('max_length'),
  drop_long_rows: { to: 'none', why: 'TRL truncates rows longer than max_length (reward pairs are filtered out, as Whetstone does)' },
  logging_steps: cfg('logging_steps'),
  eval_steps: cfg('eval_steps'),
  eval_split: { to: 'project', how: 'the held-out rows (same seeded split as Whetstone) are written to data/eval.jsonl' },
  save_steps: cfg('save_steps'),
  completion_only_loss: cfg('completion_only_loss', ['sft']),
  packing: cfg('packing', ['sft']),
  packing_strategy: cfg('packing_strategy', ['sft']),
  beta: cfg('beta', ['dpo', 'orpo', 'simpo', 'kto']),
  loss_type: cfg('loss_type', ['dpo']),
  label_smoothing: cfg('label_smoothing', ['dpo', 'simpo']),
  gradient_checkpointing: cfg('gradient_checkpointing'),
  skip_invalid_rows: { to: 'project', how: 'invalid rows are left out of the data files (each one listed when the project is written)' },
  simpo_gamma: cfg('simpo_gamma', ['simpo']),
  cpo_alpha: cfg('cpo_alpha', ['simpo']),
  desirable_weight: cfg('desirable_weight', ['kto']),
  undesirable_weight: cfg('undesirable_weight', ['kto']),
  center_rewards_coefficient: cfg('center_rewards_coefficient', ['reward']),
  load_in_4bit: { to: 'project', how: 'train.py loads the model with quantization_config=BitsAndBytesConfig(load_in_4bit=True, ...) (bitsandbytes, CUDA)' },
  bnb_4bit_quant_type: { to: 'project', how: "BitsAndBytesConfig's bnb_4bit_quant_type, with load_in_4bit" },
  bnb_4bit_use_double_quant: { to: 'project', how: "BitsAndBytesConfig's bnb_4bit_use_double_quant, with load_in_4bit" },
} as const satisfies Record<RecipeKey, TrlTarget>;

export type TrlRecipeKey = keyof typeof TRL_NAMES;

/**
 * Settings train.py writes that no recipe key carries, with the class that owns each name (checked
 * like the table): where the run writes, when it evaluates and logs, precision, and the fixed
 * choices of each method (SimPO is CPO's loss_type "simpo"; reward models are SEQ_CLS LoRAs).
 */
export const TRL_FIXED: { name: string; owner: 'config' | 'lora'; methods?: readonly TrlMethod[]; why: string }[] = [
  { name: 'output_dir', owner: 'config', why: 'where checkpoints and the adapter go' },
  { name: 'eval_strategy', owner: 'config', why: '"steps" when eval_steps is set' },
  { name: 'save_strategy', owner: 'config', why: '"steps", every save_steps' },
  { name: 'logging_strategy', owner: 'config', why: '"steps", every logging_steps' },
  { name: 'report_to', owner: 'config', why: '"none": metrics go to the console and trainer_state.json' },
  { name: 'bf16', owner: 'config', why: 'mixed precision on the cluster; Whetstone computes in f32' },
  { name: 'loss_type', owner: 'config', methods: ['simpo', 'kto'], why: 'SimPO is CPO with loss_type "simpo"; KTO uses loss_type "kto"' },
  { name: 'max_prompt_length', owner: 'config', methods: ['dpo', 'orpo', 'simpo', 'kto'], why: 'max_length // 2, the closest TRL setting to how Whetstone truncates prompts' },
  { name: 'assistant_only_loss', owner: 'config', methods: ['sft'], why: 'completion_only_loss for multi-turn conversation rows; TRL needs a chat template with {% generation %} tags for it' },
  { name: 'task_type', owner: 'lora', why: '"CAUSAL_LM", or "SEQ_CLS" for a reward model' },
  { name: 'bias', owner: 'lora', why: '"none", as Whetstone trains only A and B' },
];

/** The TRL / PEFT name of a recipe key for `method`, or null when it does not apply there. */
export function trlName(key: TrlRecipeKey, method: TrlMethod): { owner: 'config' | 'lora'; name: string } | null {
  const t: TrlTarget = TRL_NAMES[key];
  if (t.to === 'lora') return { owner: 'lora', name: t.name };
  if (t.to !== 'config') return null;
  if (t.methods && !t.methods.includes(method)) return null;
  return { owner: 'config', name: t.name };
}
