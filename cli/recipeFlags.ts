// The training flags: one per recipe key, with the same names as TRL/transformers arguments.
// Commander gets no defaults here so we can tell flags the user gave from values a --config
// recipe file sets (flags win); defaults live in engine/train/recipe.ts.
import type { Command } from 'commander';
import { bool, list, num } from './parse.ts';

type Kind = 'number' | 'int' | 'bool' | 'list' | 'string';

export const RECIPE_FLAGS: [name: string, kind: Kind, help: string][] = [
  ['method', 'string', 'sft or dpo'],
  ['learning_rate', 'number', 'peak learning rate (default 2e-4 for SFT, 5e-6 for DPO)'],
  ['lr_scheduler_type', 'string', 'constant | constant_with_warmup | linear | cosine (default linear)'],
  ['warmup_steps', 'int', 'linear warmup steps'],
  ['warmup_ratio', 'number', 'warmup as a fraction of all steps (when warmup_steps is 0)'],
  ['weight_decay', 'number', 'AdamW decoupled weight decay'],
  ['max_grad_norm', 'number', 'clip the global gradient norm (0 disables; default 1)'],
  ['optim', 'string', 'adamw_torch (default) or sgd'],
  ['adam_beta1', 'number', 'AdamW beta1 (0.9)'],
  ['adam_beta2', 'number', 'AdamW beta2 (0.999)'],
  ['adam_epsilon', 'number', 'AdamW epsilon (1e-8)'],
  ['per_device_train_batch_size', 'int', 'rows (SFT) or pairs (DPO) per micro-batch (4)'],
  ['gradient_accumulation_steps', 'int', 'micro-batches per optimizer step (1)'],
  ['max_steps', 'int', 'optimizer steps; overrides num_train_epochs when > 0'],
  ['num_train_epochs', 'number', 'passes over the data (3)'],
  ['seed', 'int', 'seed for the adapter init, data order and dropout (42)'],
  ['lora_r', 'int', 'LoRA rank (8)'],
  ['lora_alpha', 'number', 'LoRA alpha (16); scale = alpha / r'],
  ['lora_dropout', 'number', 'dropout on the LoRA input (0.05)'],
  ['lora_target_modules', 'list', 'comma-separated: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj (default all)'],
  ['use_rslora', 'bool', 'rank-stabilised LoRA: scale = alpha / sqrt(r)'],
  ['max_length', 'int', 'longest row in tokens (1024); longer rows are truncated and counted'],
  ['drop_long_rows', 'bool', 'drop rows longer than max_length instead of truncating them'],
  ['logging_steps', 'int', 'log metrics every N steps (1)'],
  ['eval_steps', 'int', 'evaluate every N steps (needs --eval_data or --eval_split)'],
  ['eval_split', 'number', 'fraction of rows held out for evaluation when no --eval_data is given'],
  ['save_steps', 'int', 'write checkpoint-N every N steps (50)'],
  ['completion_only_loss', 'bool', 'SFT: train only on assistant/completion tokens (true)'],
  ['packing', 'bool', 'SFT: pack short rows into max_length sequences (no cross-row attention)'],
  ['beta', 'number', 'DPO beta (0.1)'],
  ['loss_type', 'string', 'DPO loss: sigmoid | ipo | hinge | robust'],
  ['label_smoothing', 'number', 'DPO label smoothing (cDPO / robust)'],
  ['gradient_checkpointing', 'bool', 'recompute activations in the backward pass to save memory'],
  ['skip_invalid_rows', 'bool', 'train on the valid rows of a file with invalid ones'],
];

export function addRecipeFlags(cmd: Command): Command {
  for (const [name, kind, help] of RECIPE_FLAGS) {
    const flag = kind === 'bool' ? `--${name} [bool]` : `--${name} <${kind === 'list' ? 'a,b,...' : 'value'}>`;
    const parse =
      kind === 'number' ? num(name) : kind === 'int' ? num(name, { integer: true }) : kind === 'bool' ? bool(name) : kind === 'list' ? list : (v: string) => v;
    cmd.option(flag, help, parse as (v: string) => unknown);
  }
  return cmd;
}

/** The recipe keys the user set on the command line (a bare boolean flag means true). */
export function recipeFromFlags(opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name] of RECIPE_FLAGS) if (opts[name] !== undefined) out[name] = opts[name];
  return out;
}
