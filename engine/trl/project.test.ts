// The TRL project: train.py per method with the recipe's values under TRL's names, the dataset in
// TRL's formats, the eval split as Whetstone makes it.
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../io/byteSource.ts';
import { splitEval } from '../train/evalSplit.ts';
import { RecipeError, resolveRecipe } from '../recipe/schema.ts';
import { splitRows, trlDataset } from './dataset.ts';
import { TRL_METHODS, TRL_TRAINERS } from './names.ts';
import { py, trainPy, trlArguments, trlProjectFiles, type TrlProjectInput } from './project.ts';

const enc = new TextEncoder();
const jsonl = (rows: unknown[]) => new MemorySource('d.jsonl', enc.encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
const u = (content: string) => ({ role: 'user', content });
const a = (content: string) => ({ role: 'assistant', content });
const project = (recipe: unknown, style: TrlProjectInput['style'] = 'preference'): TrlProjectInput => ({
  recipe: resolveRecipe(recipe),
  model: 'HuggingFaceTB/SmolLM2-135M-Instruct',
  recipeFile: 'recipe.json',
  style,
  hasEval: false,
  command: 'whetstone recipe --to trl recipe.json',
});

describe('train.py', () => {
  it('uses each method\'s trainer and config, every mapped recipe value, and a peft LoraConfig', () => {
    for (const method of TRL_METHODS) {
      const input = project({ method, learning_rate: 3e-5, lora_r: 16, per_device_train_batch_size: 2, center_rewards_coefficient: 0.01 }, method === 'sft' ? 'prompt_completion' : 'preference');
      const src = trainPy(input);
      const t = TRL_TRAINERS[method];
      expect(src).toContain(`training_args = ${t.config}(`);
      expect(src).toContain(`trainer = ${t.trainer}(`);
      const { config, lora } = trlArguments(input.recipe);
      for (const [k, v] of [...config, ...lora]) expect(src, `${method}: ${k}`).toContain(`    ${k}=${py(v)},\n`);
      expect(src).toContain('    learning_rate=0.00003,\n');
      expect(src).toContain('    r=16,\n');
      expect(src).toContain(method === 'reward' ? 'task_type="SEQ_CLS"' : 'task_type="CAUSAL_LM"');
      if (t.experimental) expect(src).toContain(`from ${t.experimental} import ${t.config}, ${t.trainer}`);
    }
  });

  it('method-specific settings: SimPO is CPO loss_type "simpo" (beta 2 by default), KTO its weights, reward its head and centering', () => {
    const simpo = trainPy(project({ method: 'simpo', cpo_alpha: 0.5 }));
    expect(simpo).toMatch(/ {4}beta=2,\n[\s\S]* {4}simpo_gamma=0.5,\n {4}cpo_alpha=0.5,\n[\s\S]* {4}loss_type="simpo",/);
    const kto = trainPy(project({ method: 'kto', desirable_weight: 1.33 }, 'unpaired'));
    expect(kto).toContain('    desirable_weight=1.33,\n    undesirable_weight=1,\n');
    expect(kto).toContain('    loss_type="kto",');
    const reward = trainPy(project({ method: 'reward' }));
    expect(reward).toContain('AutoModelForSequenceClassification.from_pretrained(MODEL, num_labels=1');
    expect(reward).not.toContain('center_rewards_coefficient');
    expect(trainPy(project({ method: 'reward', center_rewards_coefficient: 0.01 }))).toContain('    center_rewards_coefficient=0.01,');
    const sft = trainPy(project({ method: 'sft' }, 'messages'));
    expect(sft).toContain('    completion_only_loss=True,');
    expect(sft).toContain('    assistant_only_loss=True,');
    expect(trainPy(project({ method: 'sft' }, 'prompt_completion'))).not.toContain('assistant_only_loss');
    expect(trainPy(project({ method: 'dpo', loss_type: 'ipo' }))).toContain('    loss_type="ipo",');
  });

  it('QLoRA: load_in_4bit loads the model with a BitsAndBytesConfig; fp4 is refused with a hint', () => {
    const q = trainPy(project({ method: 'sft', load_in_4bit: true, bnb_4bit_use_double_quant: true }, 'messages'));
    expect(q).toContain(', AutoTokenizer, BitsAndBytesConfig\n');
    expect(q).toContain('from_pretrained(MODEL, torch_dtype="auto", quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True))');
    expect(trainPy(project({ method: 'sft' }, 'messages'))).not.toContain('BitsAndBytesConfig');
    const fp4 = (() => {
      try {
        resolveRecipe({ load_in_4bit: true, bnb_4bit_quant_type: 'fp4' });
      } catch (e) {
        return e as RecipeError;
      }
    })();
    expect(fp4).toBeInstanceOf(RecipeError);
    expect(fp4!.message).toContain('bnb_4bit_quant_type fp4 is not supported');
    expect(fp4!.hint).toContain('Use bnb_4bit_quant_type nf4');
  });

  it('refuses what TRL would refuse, with the recipe key named', () => {
    expect(() => resolveRecipe({ method: 'kto', per_device_train_batch_size: 1 })).toThrow(/per_device_train_batch_size: KTO needs at least 2 examples per batch/);
    expect(() => resolveRecipe({ method: 'ppo' })).toThrow(RecipeError);
    expect(() => resolveRecipe({ method: 'dpo', betta: 0.1 })).toThrow(/unknown option betta/);
    expect(() => resolveRecipe({ method: 'simpo', cpo_alpha: -1 })).toThrow(/cpo_alpha/);
  });

  it('writes the four project files, a README listing every recipe key', () => {
    const files = trlProjectFiles(project({ method: 'orpo' }));
    expect(Object.keys(files).sort()).toEqual(['README.md', 'accelerate_config.yaml', 'requirements.txt', 'train.py']);
    expect(files['accelerate_config.yaml']).toContain('distributed_type: MULTI_GPU');
    expect(files['README.md']).toContain('| `beta` | 0.1 | `ORPOConfig.beta` |');
    expect(files['README.md']).toContain('| `lora_r` | 8 | `LoraConfig.r` |');
    expect(files['README.md']).toContain('| `loss_type` | "sigmoid" | not used by ORPOTrainer |');
  });

  it('Python literals', () => {
    expect([py(true), py(null), py(1e-8), py('a"b'), py(['q_proj']), py({ k: false })]).toEqual(['True', 'None', '1e-8', '"a\\"b"', '["q_proj"]', '{"k": False}']);
  });
});

describe('the dataset in TRL\'s formats', () => {
  it('SFT: single-turn conversations as conversational prompt/completion; multi-turn as messages; text as text', async () => {
    const one = await trlDataset(jsonl([{ messages: [u('Hi'), a('Hello')] }]), 'sft', { chatTemplate: true, skipInvalidRows: false });
    expect(one.style).toBe('prompt_completion');
    expect(one.rows).toEqual([{ prompt: [u('Hi')], completion: [a('Hello')] }]);
    const pc = await trlDataset(jsonl([{ prompt: 'Q', completion: 'A' }]), 'sft', { chatTemplate: true, skipInvalidRows: false });
    expect(pc.rows).toEqual([{ prompt: [u('Q')], completion: [a('A')] }]);
    const plain = await trlDataset(jsonl([{ prompt: 'Q', completion: 'A' }]), 'sft', { chatTemplate: false, skipInvalidRows: false });
    expect(plain.rows).toEqual([{ prompt: 'Q', completion: 'A' }]);
    const multi = await trlDataset(jsonl([{ messages: [u('a'), a('b'), u('c'), a('d')] }, { messages: [u('e'), a('f')] }]), 'sft', { chatTemplate: true, skipInvalidRows: false });
    expect(multi.style).toBe('messages');
    expect(multi.rows[1]).toEqual({ messages: [u('e'), a('f')] });
    const text = await trlDataset(jsonl([{ text: 'hello' }]), 'sft', { chatTemplate: true, skipInvalidRows: false });
    expect([text.style, text.rows]).toEqual(['text', [{ text: 'hello' }]]);
  });

  it('preference pairs (HH transcripts become turns with a chat template) and KTO rows unpaired in TRL\'s order', async () => {
    const hh = await trlDataset(jsonl([{ chosen: '\n\nHuman: Hi\n\nAssistant: Hello', rejected: '\n\nHuman: Hi\n\nAssistant: Go' }]), 'dpo', { chatTemplate: true, skipInvalidRows: false });
    expect(hh.rows).toEqual([{ prompt: [u('Hi')], chosen: [a('Hello')], rejected: [a('Go')] }]);
    const kto = await trlDataset(jsonl([{ prompt: 'p1', chosen: 'c1', rejected: 'r1' }, { prompt: 'p2', chosen: 'c2', rejected: 'r2' }]), 'kto', { chatTemplate: false, skipInvalidRows: false });
    expect(kto.rows).toEqual([
      { prompt: 'p1', completion: 'c1', label: true },
      { prompt: 'p2', completion: 'c2', label: true },
      { prompt: 'p1', completion: 'r1', label: false },
      { prompt: 'p2', completion: 'r2', label: false },
    ]);
  });

  it('invalid rows are refused by line, or left out and listed with skip_invalid_rows', async () => {
    const rows = [{ prompt: 'p', chosen: 'c', rejected: 'r' }, { prompt: 'p', chosen: 'same', rejected: 'same' }];
    await expect(trlDataset(jsonl(rows), 'orpo', { chatTemplate: true, skipInvalidRows: false })).rejects.toThrow(/d\.jsonl line 2: rejected: is identical to chosen/);
    const kept = await trlDataset(jsonl(rows), 'orpo', { chatTemplate: true, skipInvalidRows: true });
    expect(kept.rows.length).toBe(1);
    expect(kept.warnings[0]).toMatch(/^left out 1 invalid row of 2 \(skip_invalid_rows\): d\.jsonl line 2/);
  });

  it('eval_split holds out the same rows as Whetstone\'s splitEval', () => {
    const rows = Array.from({ length: 23 }, (_, i) => ({ ids: [i], trainMask: [1] }));
    const [train, ev] = splitEval({ method: 'sft', rows }, 0.2, 7);
    const [t2, e2] = splitRows(rows, 0.2, 7);
    expect(e2).toEqual(ev.rows);
    expect(t2).toEqual(train.rows);
  });
});
