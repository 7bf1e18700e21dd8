// The one description of the training recipe: every key once, with TRL/transformers' name, its
// zod type (validation and default), one line of help, the group it belongs to, which methods use
// it, and how the studio's Recipe form shows it. Everything else is derived from this table: the
// strict schema (schema.ts), the CLI's training flags (cli/recipeFlags.ts), the studio's form
// (app/components/RecipePanel.tsx), the recipe file and the equivalent command (command.ts).
// Defaults live here only; the studio overlays a few per model size (app/recipe.ts).
//
// A new key is one entry: e.g. QLoRA's
//   load_in_4bit: field(z.boolean().default(false), { group: 'memory', help: '...', form: { label: '4-bit base (QLoRA)' } }),
// or one only some methods read, like KTO's desirable_weight below (`methods: ['kto']`).
// Pure data (zod only): the studio imports this file (see eslint.config.js).
import { z } from 'zod';
import { LORA_MODULES } from '../model/modules.ts';
import { METHOD_INFO, METHODS, methodsByDataKind, type Method } from './methods.ts';

export const LR_SCHEDULER_TYPES = ['constant', 'constant_with_warmup', 'linear', 'cosine'] as const;
export const OPTIMIZERS = ['adamw_torch', 'sgd'] as const;
export const DPO_LOSS_TYPES = ['sigmoid', 'ipo', 'hinge', 'robust'] as const;
/** TRL's SFTConfig.packing_strategy: best-fit decreasing (long rows truncated), the same with long rows split, or one stream cut into max_length pieces. */
export const PACKING_STRATEGIES = ['bfd', 'bfd_split', 'wrapped'] as const;
export type PackingStrategy = (typeof PACKING_STRATEGIES)[number];
export type DpoLossType = (typeof DPO_LOSS_TYPES)[number];
/** bitsandbytes' 4-bit types Whetstone computes with (fp4 is refused with a hint: FieldMeta.refused). */
export const BNB_4BIT_QUANT_TYPES = ['nf4'] as const;

/** Where a key sits: the CLI's --help order and the studio's fieldsets. */
export const RECIPE_GROUPS = {
  method: 'Method',
  lora: 'LoRA',
  training: 'Training',
  optimizer: 'Optimizer',
  data: 'Data',
  logging: 'Logging, evaluation and checkpoints',
  memory: 'Memory',
} as const;
export type RecipeGroup = keyof typeof RECIPE_GROUPS;

/** How the studio's Recipe form shows a key. */
export interface FormMeta {
  /**
   * The control's label: its accessible name (the e2e tests find fields by it, some by substring:
   * no other label may contain "Beta" or "Method").
   */
  label: string;
  /** Under "More options" instead of in the main form. */
  advanced?: boolean;
  /** Bounds for the number input when the schema's are not what a person should type. */
  min?: number;
  max?: number;
}

export interface FieldMeta {
  group: RecipeGroup;
  /** One line for `whetstone train --help` and the studio's tooltip (the default is added). */
  help: string;
  /** The methods that read this key; absent = every method. The recipe file leaves the others out. */
  methods?: readonly Method[];
  /** Absent: not in the Recipe form (e.g. skip_invalid_rows is the Dataset panel's checkbox). */
  form?: FormMeta;
  /** The default as the CLI's --help says it, when it is not the schema's value (the method: from the data). */
  defaultText?: string;
  /** Values people will try that are refused with their own message and hint (resolveRecipe, the CLI's parser), e.g. fp4. */
  refused?: Record<string, { why: string; hint: string }>;
}

export interface RecipeField<S extends z.ZodType = z.ZodType> extends FieldMeta {
  schema: S;
}

function field<S extends z.ZodType>(schema: S, meta: FieldMeta): RecipeField<S> {
  return { schema, ...meta };
}

export const RECIPE_FIELDS = {
  // The schema's 'sft' only fills a recipe given without a method; `train` and `eval` take it from the data
  // (cli/dataMethod.ts) and the studio from the dropped file, before resolving the recipe.
  method: field(z.enum(METHODS).default('sft'), {
    group: 'method',
    help: 'the training method',
    form: { label: 'Method' },
    defaultText: `from the data: ${methodsByDataKind()}`,
  }),
  learning_rate: field(z.number().positive().default(2e-4), {
    group: 'training',
    help: 'peak learning rate',
    form: { label: 'Learning rate' },
  }),
  lr_scheduler_type: field(z.enum(LR_SCHEDULER_TYPES).default('linear'), { group: 'training', help: 'learning-rate schedule', form: { label: 'Schedule' } }),
  warmup_steps: field(z.number().int().min(0).default(0), { group: 'training', help: 'linear warmup steps', form: { label: 'Warmup steps', advanced: true } }),
  warmup_ratio: field(z.number().min(0).max(1).default(0), {
    group: 'training',
    help: 'warmup as a fraction of all steps (when warmup_steps is 0)',
    form: { label: 'Warmup ratio', advanced: true },
  }),
  weight_decay: field(z.number().min(0).default(0), { group: 'optimizer', help: 'AdamW decoupled weight decay', form: { label: 'Weight decay', advanced: true } }),
  max_grad_norm: field(z.number().min(0).default(1), { group: 'optimizer', help: 'clip the global gradient norm (0 disables)', form: { label: 'Max grad norm', advanced: true } }),
  optim: field(z.enum(OPTIMIZERS).default('adamw_torch'), { group: 'optimizer', help: 'optimizer', form: { label: 'Optimizer', advanced: true } }),
  adam_beta1: field(z.number().min(0).max(1).default(0.9), { group: 'optimizer', help: 'AdamW beta1', form: { label: 'Adam β1', advanced: true } }),
  adam_beta2: field(z.number().min(0).max(1).default(0.999), { group: 'optimizer', help: 'AdamW beta2', form: { label: 'Adam β2', advanced: true } }),
  adam_epsilon: field(z.number().positive().default(1e-8), { group: 'optimizer', help: 'AdamW epsilon', form: { label: 'Adam ε', advanced: true } }),
  per_device_train_batch_size: field(z.number().int().positive().default(4), {
    group: 'training',
    help: `examples (${METHODS.map((m) => `${m.toUpperCase()} ${METHOD_INFO[m].unit[1]}`).join(', ')}) per micro-batch`,
    form: { label: 'Batch size' },
  }),
  per_device_eval_batch_size: field(z.number().int().positive().default(8), {
    group: 'logging',
    help: 'examples per forward pass when evaluating (KTO: the rows whose KL term is averaged together)',
    form: { label: 'Eval batch size', advanced: true },
  }),
  gradient_accumulation_steps: field(z.number().int().positive().default(1), { group: 'training', help: 'micro-batches per optimizer step', form: { label: 'Gradient accumulation' } }),
  max_steps: field(z.number().int().default(-1), {
    group: 'training',
    help: 'optimizer steps; overrides num_train_epochs when > 0',
    form: { label: 'Max steps', min: -1 },
  }),
  num_train_epochs: field(z.number().positive().default(3), {
    group: 'training',
    help: 'passes over the data (when max_steps is -1)',
    form: { label: 'Epochs' },
  }),
  seed: field(z.number().int().default(42), { group: 'training', help: 'seed for the adapter init, data order and dropout', form: { label: 'Seed', advanced: true } }),
  lora_r: field(z.number().int().positive().default(8), { group: 'lora', help: 'LoRA rank', form: { label: 'LoRA r' } }),
  lora_alpha: field(z.number().positive().default(16), { group: 'lora', help: 'LoRA alpha; scale = alpha / r', form: { label: 'LoRA alpha' } }),
  lora_dropout: field(z.number().min(0).max(0.99).default(0.05), { group: 'lora', help: 'dropout on the LoRA input', form: { label: 'LoRA dropout' } }),
  lora_target_modules: field(z.array(z.enum(LORA_MODULES)).nonempty().default([...LORA_MODULES]), {
    group: 'lora',
    help: 'the linear layers that get a LoRA',
    form: { label: 'Target modules' },
  }),
  use_rslora: field(z.boolean().default(false), { group: 'lora', help: 'rank-stabilised LoRA: scale = alpha / sqrt(r)', form: { label: 'rsLoRA', advanced: true } }),
  max_length: field(z.number().int().positive().default(1024), {
    group: 'data',
    help: 'longest row in tokens; longer rows are truncated and counted',
    form: { label: 'Max length', min: 2 },
  }),
  drop_long_rows: field(z.boolean().default(false), {
    group: 'data',
    help: 'drop rows longer than max_length instead of truncating them',
    form: { label: 'Drop long rows', advanced: true },
  }),
  logging_steps: field(z.number().int().positive().default(1), { group: 'logging', help: 'log metrics every N steps', form: { label: 'Log every', advanced: true } }),
  eval_steps: field(z.number().int().positive().nullable().default(null), {
    group: 'logging',
    help: 'evaluate every N steps (needs --eval_data or eval_split)',
    form: { label: 'Evaluate every', advanced: true },
  }),
  eval_split: field(z.number().min(0).max(0.9).default(0), {
    group: 'logging',
    help: 'fraction of rows held out for evaluation when no --eval_data is given',
    form: { label: 'Eval split', advanced: true },
  }),
  save_steps: field(z.number().int().positive().default(50), { group: 'logging', help: 'write checkpoint-N every N steps', form: { label: 'Checkpoint every' } }),
  completion_only_loss: field(z.boolean().default(true), {
    group: 'method',
    methods: ['sft'],
    help: 'train only on assistant/completion tokens',
    form: { label: 'Completion-only loss', advanced: true },
  }),
  packing: field(z.boolean().default(false), {
    group: 'method',
    methods: ['sft'],
    help: 'pack whole rows into max_length sequences across the dataset (TRL): fewer, fuller steps; positions restart per row, no attention across rows',
    form: { label: 'Packing', advanced: true },
  }),
  packing_strategy: field(z.enum(PACKING_STRATEGIES).default('bfd'), {
    group: 'method',
    methods: ['sft'],
    help: 'with packing: bfd = best-fit decreasing, rows longer than max_length truncated; bfd_split = the same, long rows split into pieces; wrapped = all rows as one stream cut every max_length tokens (rows split, attention across them, as TRL)',
    form: { label: 'Packing strategy', advanced: true },
  }),
  beta: field(z.number().positive().default(0.1), {
    group: 'method',
    methods: ['dpo', 'orpo', 'simpo', 'kto'],
    help: 'DPO/KTO: how far from the reference model the rewards may pull; ORPO: weight of the odds-ratio term (lambda); SimPO: reward scale',
    form: { label: 'Beta' },
  }),
  loss_type: field(z.enum(DPO_LOSS_TYPES).default('sigmoid'), { group: 'method', methods: ['dpo'], help: 'DPO loss', form: { label: 'Loss type' } }),
  label_smoothing: field(z.number().min(0).max(0.49).default(0), {
    group: 'method',
    methods: ['dpo', 'simpo'],
    help: 'label smoothing of the preference loss (cDPO / robust DPO; SimPO)',
    form: { label: 'Label smoothing', advanced: true },
  }),
  simpo_gamma: field(z.number().min(0).default(0.5), {
    group: 'method',
    methods: ['simpo'],
    help: 'SimPO target reward margin gamma (the logits are lc - lr - gamma/beta)',
    form: { label: 'SimPO gamma' },
  }),
  cpo_alpha: field(z.number().min(0).default(0), {
    group: 'method',
    methods: ['simpo'],
    help: "weight of the chosen answers' NLL added to the SimPO loss (0 = pure SimPO; TRL's CPO default is 1)",
    form: { label: 'NLL weight (cpo_alpha)', advanced: true },
  }),
  desirable_weight: field(z.number().positive().default(1), {
    group: 'method',
    methods: ['kto'],
    help: 'KTO weight of the desirable (label true) rows',
    form: { label: 'Desirable weight' },
  }),
  undesirable_weight: field(z.number().positive().default(1), {
    group: 'method',
    methods: ['kto'],
    help: 'KTO weight of the undesirable (label false) rows',
    form: { label: 'Undesirable weight' },
  }),
  center_rewards_coefficient: field(z.number().min(0).nullable().default(null), {
    group: 'method',
    methods: ['reward'],
    help: 'pull the rewards toward mean zero: adds c * mean((r_chosen + r_rejected)^2) to the loss (0.01 is usual; unset = off)',
    form: { label: 'Center rewards coefficient', advanced: true },
  }),
  gradient_checkpointing: field(z.boolean().default(false), {
    group: 'memory',
    help: 'recompute activations in the backward pass to save memory',
    form: { label: 'Gradient checkpointing' },
  }),
  skip_invalid_rows: field(z.boolean().default(false), { group: 'data', help: 'train on the valid rows of a file with invalid ones' }),
  // QLoRA: transformers' BitsAndBytesConfig names, applied when the model loads (engine/quant/loadNf4.ts).
  load_in_4bit: field(z.boolean().default(false), {
    group: 'memory',
    help: 'QLoRA: the decoder linears in 4-bit NF4 as bitsandbytes quantizes them (about 0.53 bytes per weight), LoRA and its optimizer in f32; a *-bnb-4bit checkpoint is 4-bit anyway',
    form: { label: '4-bit base (QLoRA)' },
  }),
  bnb_4bit_quant_type: field(z.enum(BNB_4BIT_QUANT_TYPES).default('nf4'), {
    group: 'memory',
    help: 'the 4-bit data type (fp4 is refused: NF4 is what QLoRA and the hub checkpoints use)',
    form: { label: '4-bit data type', advanced: true },
    refused: {
      fp4: { why: 'fp4 is not supported (Whetstone quantizes to NF4 only)', hint: 'Use bnb_4bit_quant_type nf4, the QLoRA data type (and what the *-bnb-4bit hub checkpoints use).' },
    },
  }),
  bnb_4bit_use_double_quant: field(z.boolean().default(false), {
    group: 'memory',
    help: 'with load_in_4bit: quantize the 4-bit block scales again (8-bit, blocks of 256), about 0.4 bits per weight less',
    form: { label: 'Double quantization (4-bit)', advanced: true },
  }),
};

export type RecipeKey = keyof typeof RECIPE_FIELDS;
export const RECIPE_KEYS = Object.keys(RECIPE_FIELDS) as RecipeKey[];

/** Whether `method` reads `key` (the recipe file and the form leave the others out). */
export function usedBy(key: RecipeKey, method: Method): boolean {
  const methods = (RECIPE_FIELDS[key] as FieldMeta).methods;
  return !methods || methods.includes(method);
}

/** What kind of value a key holds, read off its zod type (CLI parsing, form controls). */
export type FieldKind =
  | { kind: 'number'; integer: boolean; min: number | null; minExclusive: boolean; max: number | null; nullable: boolean }
  | { kind: 'boolean' }
  | { kind: 'choice'; options: readonly string[] }
  | { kind: 'list'; options: readonly string[] };

export function fieldKind(key: RecipeKey): FieldKind {
  let s = RECIPE_FIELDS[key].schema as z.ZodType;
  let nullable = false;
  for (;;) {
    const def = s.def as { type: string; innerType?: z.ZodType };
    if (def.type === 'default' || def.type === 'optional' || def.type === 'nullable') {
      nullable ||= def.type === 'nullable';
      s = def.innerType!;
    } else break;
  }
  if (s instanceof z.ZodNumber) {
    const json = z.toJSONSchema(s) as { type: string; minimum?: number; exclusiveMinimum?: number; maximum?: number };
    const bound = (v: number | undefined) => (v !== undefined && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : null);
    const min = bound(json.minimum ?? json.exclusiveMinimum);
    return { kind: 'number', integer: json.type === 'integer', min, minExclusive: min !== null && json.minimum === undefined, max: bound(json.maximum), nullable };
  }
  if (s instanceof z.ZodBoolean) return { kind: 'boolean' };
  if (s instanceof z.ZodEnum) return { kind: 'choice', options: s.options as string[] };
  if (s instanceof z.ZodArray && s.element instanceof z.ZodEnum) return { kind: 'list', options: s.element.options as string[] };
  throw new TypeError(`recipe key ${key}: no field kind for its zod type`);
}
