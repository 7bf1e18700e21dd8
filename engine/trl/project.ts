// The files of a TRL + accelerate project that runs the same training as a Whetstone recipe:
// train.py (the method's TRL trainer with every recipe value, the LoRA as a peft.LoraConfig),
// accelerate_config.yaml (several GPUs), requirements.txt and a README with the name mapping.
// Values come from names.ts only (the one table); the data files are written beside (dataset.ts).
import { TRL_FIXED, TRL_NAMES, TRL_TRAINERS, trlName, type TrlMethod, type TrlRecipeKey } from './names.ts';
import type { Recipe } from '../recipe/schema.ts';
import type { TrlDataset } from './dataset.ts';

export interface TrlProjectInput {
  recipe: Recipe;
  /** Hub id or path of the base model, as given to whetstone. */
  model: string;
  /** Where the recipe came from (for the header), e.g. "recipe.json". */
  recipeFile: string;
  style: TrlDataset['style'];
  hasEval: boolean;
  /** The command that wrote the project, for the README. */
  command: string;
}

export const TRAIN_FILE = 'data/train.jsonl';
export const EVAL_FILE = 'data/eval.jsonl';
export const OUTPUT_DIR = 'output';

/** A value as a Python literal. */
export function py(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `float("${v}")`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(py).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${JSON.stringify(k)}: ${py(x)}`)
    .join(', ')}}`;
}

/** The recipe's TRL config fields and peft.LoraConfig fields for its method, in table order. */
export function trlArguments(recipe: Recipe): { config: [string, unknown][]; lora: [string, unknown][] } {
  const config: [string, unknown][] = [];
  const lora: [string, unknown][] = [];
  for (const key of Object.keys(TRL_NAMES) as TrlRecipeKey[]) {
    const target = trlName(key, recipe.method);
    if (!target) continue;
    let value: unknown = recipe[key as keyof Recipe];
    if (key === 'eval_steps' && value === null) continue; // TRL: no evaluation
    if (key === 'center_rewards_coefficient' && value === null) continue; // TRL's None: no centering term
    if (key === 'lora_target_modules') value = [...(value as string[])];
    (target.owner === 'config' ? config : lora).push([target.name, value]);
  }
  return { config, lora };
}

/** Settings no recipe key carries (names.ts TRL_FIXED), for this method and run. */
function fixedArguments(input: TrlProjectInput): { config: [string, unknown][]; lora: [string, unknown][] } {
  const { recipe, style } = input;
  const m = recipe.method;
  const value: Record<string, unknown> = {
    output_dir: OUTPUT_DIR,
    eval_strategy: input.hasEval && recipe.eval_steps ? 'steps' : 'no',
    save_strategy: 'steps',
    logging_strategy: 'steps',
    report_to: 'none',
    bf16: true,
    loss_type: m === 'simpo' ? 'simpo' : 'kto',
    max_prompt_length: Math.floor(recipe.max_length / 2),
    assistant_only_loss: style === 'messages' && recipe.completion_only_loss,
    task_type: m === 'reward' ? 'SEQ_CLS' : 'CAUSAL_LM',
    bias: 'none',
  };
  const config: [string, unknown][] = [];
  const lora: [string, unknown][] = [];
  for (const f of TRL_FIXED) {
    if (f.methods && !f.methods.includes(m)) continue;
    if (f.name === 'assistant_only_loss' && !value[f.name]) continue;
    (f.owner === 'config' ? config : lora).push([f.name, value[f.name]]);
  }
  return { config, lora };
}

function kwargs(pairs: [string, unknown][], indent: string): string {
  return pairs.map(([k, v]) => `${indent}${k}=${py(v)},`).join('\n');
}

export function trainPy(input: TrlProjectInput): string {
  const { recipe, model } = input;
  const m = recipe.method;
  const t = TRL_TRAINERS[m];
  const args = trlArguments(recipe);
  const fixed = fixedArguments(input);
  const imports = t.experimental
    ? `try:\n    from trl import ${t.config}, ${t.trainer}\nexcept ImportError:  # newer TRL keeps it in ${t.experimental}\n    from ${t.experimental} import ${t.config}, ${t.trainer}`
    : `from trl import ${t.config}, ${t.trainer}`;
  // QLoRA: the base in 4-bit as Whetstone loads it (compute dtype left at bitsandbytes' float32, as Whetstone computes).
  const quant = recipe.load_in_4bit
    ? `, quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=${py(recipe.bnb_4bit_quant_type)}, bnb_4bit_use_double_quant=${py(recipe.bnb_4bit_use_double_quant)})`
    : '';
  const loadModel =
    m === 'reward'
      ? `# A Bradley-Terry reward model: a score head (hidden -> 1, no bias) on the last non-pad token.\nmodel = AutoModelForSequenceClassification.from_pretrained(MODEL, num_labels=1, torch_dtype="auto"${quant})\nif tokenizer.pad_token is None:\n    tokenizer.pad_token = tokenizer.eos_token\nmodel.config.pad_token_id = tokenizer.pad_token_id`
      : `model = AutoModelForCausalLM.from_pretrained(MODEL, torch_dtype="auto"${quant})`;
  const evalLine = input.hasEval ? `eval_dataset = load_dataset("json", data_files="${EVAL_FILE}", split="train")` : 'eval_dataset = None';
  return `# Generated by \`whetstone recipe --to trl\` from ${input.recipeFile}: the same ${m.toUpperCase()} run as
# \`whetstone train\` with that recipe, on TRL + PEFT. Every value below comes from the recipe (see README.md).
#   python train.py                                                     (one GPU)
#   accelerate launch --config_file accelerate_config.yaml train.py     (several GPUs)
from datasets import load_dataset
from peft import LoraConfig
from transformers import ${m === 'reward' ? 'AutoModelForSequenceClassification' : 'AutoModelForCausalLM'}, AutoTokenizer${recipe.load_in_4bit ? ', BitsAndBytesConfig' : ''}

${imports}

MODEL = ${py(model)}

train_dataset = load_dataset("json", data_files="${TRAIN_FILE}", split="train")
${evalLine}

tokenizer = AutoTokenizer.from_pretrained(MODEL)
${loadModel}

peft_config = LoraConfig(
${kwargs(args.lora, '    ')}
${kwargs(fixed.lora, '    ')}
)

training_args = ${t.config}(
${kwargs(args.config, '    ')}
${kwargs(fixed.config, '    ')}
)

trainer = ${t.trainer}(
    model=model,
    args=training_args,
    train_dataset=train_dataset,
    eval_dataset=eval_dataset,
    processing_class=tokenizer,
    peft_config=peft_config,
)
trainer.train()
trainer.save_model(training_args.output_dir)
`;
}

export const ACCELERATE_CONFIG = `# accelerate launch --config_file accelerate_config.yaml train.py
# One machine, every visible GPU a data-parallel process (set num_processes to your GPU count).
# The optimizer step then sees num_processes x per_device_train_batch_size x gradient_accumulation_steps
# examples: divide gradient_accumulation_steps by num_processes to keep the Whetstone run's batch.
compute_environment: LOCAL_MACHINE
distributed_type: MULTI_GPU
downcast_bf16: 'no'
machine_rank: 0
main_training_function: main
mixed_precision: bf16
num_machines: 1
num_processes: 8
rdzv_backend: static
same_network: true
use_cpu: false
`;

export const REQUIREMENTS = `# TRL with the trainers this project uses (completion_only_loss / assistant_only_loss need TRL >= 0.19)
trl>=0.19
peft>=0.14
transformers>=4.51
accelerate>=1.4
datasets>=3.0
`;

const WHEN: Record<TrlMethod, string> = {
  sft: 'supervised fine-tuning on conversations or prompt/completion rows',
  dpo: 'preference pairs against a frozen reference (the model with the adapter off)',
  orpo: 'preference pairs without a reference model: SFT on the chosen answers plus an odds-ratio penalty',
  simpo: 'preference pairs without a reference model (TRL CPOTrainer, loss_type "simpo")',
  kto: 'thumbs-up / thumbs-down rows without pairs (prompt, completion, label)',
  reward: 'a Bradley-Terry reward model from preference pairs (a SEQ_CLS LoRA with a trained score head)',
};

export function readme(input: TrlProjectInput): string {
  const { recipe } = input;
  const m = recipe.method;
  const t = TRL_TRAINERS[m];
  const rows = (Object.keys(TRL_NAMES) as TrlRecipeKey[]).map((key) => {
    const target = TRL_NAMES[key] as (typeof TRL_NAMES)[TrlRecipeKey];
    const mapped = trlName(key, m);
    const value = key in recipe ? JSON.stringify(recipe[key as keyof Recipe]) : '';
    const where = mapped
      ? `\`${mapped.owner === 'lora' ? 'LoraConfig' : t.config}.${mapped.name}\``
      : target.to === 'project'
        ? target.how
        : target.to === 'none'
          ? `no TRL setting: ${target.why}`
          : `not used by ${t.trainer}`;
    return `| \`${key}\` | ${value} | ${where} |`;
  });
  return `# ${m.toUpperCase()} with TRL — generated by Whetstone

${m.toUpperCase()}: ${WHEN[m]}. This folder runs the same training as \`whetstone train\` with
\`${input.recipeFile}\` on \`${input.model}\`, with Hugging Face TRL (\`${t.trainer}\` / \`${t.config}\`)
and PEFT, on one or many GPUs. It was written by:

    ${input.command}

## Run it

    pip install -r requirements.txt
    python train.py                                                    # one GPU
    accelerate launch --config_file accelerate_config.yaml train.py    # several GPUs

The adapter is saved to \`${OUTPUT_DIR}/\` in PEFT's format${m === 'reward' ? ' (task_type SEQ_CLS, the score head in modules_to_save)' : ''}: \`whetstone\` loads it
back (\`--adapter ${OUTPUT_DIR}\`), as does \`PeftModel.from_pretrained\`.

## Files

- \`train.py\`: the run; every argument is the recipe's value under TRL's name (below).
- \`${TRAIN_FILE}\`${input.hasEval ? `, \`${EVAL_FILE}\`` : ''}: the dataset in TRL's ${input.style} format, as Whetstone read it.
- \`accelerate_config.yaml\`: data-parallel training on one machine; set \`num_processes\` to your GPU count.
- \`requirements.txt\`: the Python packages.

## Recipe -> TRL

| recipe key | value | in this project |
|---|---|---|
${rows.join('\n')}

Fixed in train.py: ${TRL_FIXED.filter((f) => !f.methods || f.methods.includes(m))
    .map((f) => `\`${f.name}\` (${f.why})`)
    .join('; ')}.

## Where a run here can differ from the Whetstone run

- Batch: with N GPUs each optimizer step sees N times the examples; divide \`gradient_accumulation_steps\` by N to keep them equal.
- Precision: TRL trains in bf16 mixed precision here; Whetstone computes in f32 on WebGPU.
- Data order: TRL shuffles with its own sampler, Whetstone with its seeded shuffle (KTO: both in dataset order).
- Truncation: TRL truncates prompts to \`max_prompt_length\` (set to max_length // 2); Whetstone keeps
  max(max_length - longest completion, max_length / 2) prompt tokens.
`;
}

/** Every file of the project except the data (relative path -> text). */
export function trlProjectFiles(input: TrlProjectInput): Record<string, string> {
  return { 'train.py': trainPy(input), 'accelerate_config.yaml': ACCELERATE_CONFIG, 'requirements.txt': REQUIREMENTS, 'README.md': readme(input) };
}
