// QLoRA through the command line: `whetstone eval --load_in_4bit` reproduces the NF4 golden
// (scripts/reference/nf4_reference.py: tiny-llama quantized as bitsandbytes does, in float64) within
// 1e-4; `whetstone train --load_in_4bit --bnb_4bit_use_double_quant` writes a standard PEFT adapter
// that `generate --load_in_4bit` loads; fp4 is refused with a hint.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNf4Golden } from '../engine/quant/testing.ts';
import { whetstone } from './testing.ts';

const MODEL = 'engine/model/fixtures/tiny-llama';

describe('whetstone train / eval / generate --load_in_4bit', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('eval matches the NF4 golden (double quantization, with the tiny-llama-lora adapter)', { timeout: 120_000 }, async () => {
    const want = loadNf4Golden().eval_loss['tiny-llama'].double_quant;
    const args = ['--model', MODEL, '--data', 'engine/model/fixtures/sft_eval.jsonl', '--adapter', 'engine/model/fixtures/tiny-llama-lora', '--json'];
    const { json } = await whetstone('eval', ...args, '--load_in_4bit', '--bnb_4bit_use_double_quant');
    expect(json.tokens).toBe(want.num_loss_tokens);
    expect(Math.abs((json.loss as number) - want.lora), `loss ${json.loss} vs ${want.lora}`).toBeLessThan(1e-4);
    const failed = await whetstone('eval', ...args, '--load_in_4bit', '--bnb_4bit_quant_type', 'fp4').catch((e: { code: number; stderr: string }) => e);
    expect((failed as { code: number }).code).toBe(1);
    expect((failed as { stderr: string }).stderr).toContain('bnb_4bit_quant_type fp4 is not supported');
    expect((failed as { stderr: string }).stderr).toContain('hint: Use bnb_4bit_quant_type nf4');
  });

  it('trains a PEFT adapter on the 4-bit base and generates with it', { timeout: 300_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'whetstone-qlora-'));
    const data = join(dir, 'train.jsonl');
    const rows = [
      { messages: [{ role: 'user', content: 'What is the capital of France?' }, { role: 'assistant', content: 'Paris.' }] },
      { messages: [{ role: 'user', content: 'Translate hello into French.' }, { role: 'assistant', content: 'Bonjour!' }] },
    ];
    await writeFile(data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = join(dir, 'run');
    const train = await whetstone('train', '--model', MODEL, '--data', data, '--output_dir', out, '--max_steps', '2', '--load_in_4bit', '--bnb_4bit_use_double_quant', '--json');
    expect(train.json.steps).toBe(2);
    expect(Number.isFinite(train.json.loss)).toBe(true);
    const config = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8, base_model_name_or_path: 'tiny-llama' });
    const gen = await whetstone('generate', '--model', MODEL, '--adapter', out, '--prompt', 'Hello', '--max_new_tokens', '4', '--load_in_4bit', '--json');
    expect((gen.json.ids as number[]).length).toBeGreaterThan(0);
  });
});
