// End to end through the command line: `whetstone train` (SFT, 3 steps, a checkpoint at step 2)
// writes a PEFT adapter, metrics.jsonl and checkpoint-2/; `whetstone eval` and `generate` load it.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeFileSource } from '../engine/io/byteSourceNode.ts';
import { readSafetensorsHeader } from '../engine/io/safetensors.ts';
import { whetstone } from './testing.ts';

const MODEL = 'engine/model/fixtures/tiny-llama';

describe('whetstone train -> eval -> generate', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('trains an SFT adapter, checkpoints it, and the adapter evaluates and generates', { timeout: 300_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'whetstone-cli-'));
    const data = join(dir, 'train.jsonl');
    const rows = [
      { messages: [{ role: 'user', content: 'What is the capital of France?' }, { role: 'assistant', content: 'Paris.' }] },
      { messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: 'How many legs does a spider have?' }, { role: 'assistant', content: 'Eight.' }] },
      { messages: [{ role: 'user', content: 'Translate hello into French.' }, { role: 'assistant', content: 'Bonjour!' }] },
    ];
    await writeFile(data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = join(dir, 'run');

    const train = await whetstone('train', '--model', MODEL, '--data', data, '--method', 'sft', '--output_dir', out, '--max_steps', '3', '--save_steps', '2', '--json');
    expect(train.json.steps).toBe(3);
    expect(train.json.skipped_steps).toBe(0);
    expect(Number.isFinite(train.json.loss)).toBe(true);

    const files = await readdir(out);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'metrics.jsonl', 'checkpoint-2']) expect(files).toContain(f);
    expect(files.filter((f) => f.startsWith('.'))).toEqual([]); // no temp left
    expect(files).not.toContain('checkpoint-3'); // the last step is the final adapter, not a checkpoint
    const config = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(config.peft_type).toBe('LORA');
    expect(config.task_type).toBe('CAUSAL_LM');
    expect(config.r).toBe(8);
    expect(config.base_model_name_or_path).toBe('tiny-llama'); // the folder's name, not the path typed
    const header = await readSafetensorsHeader(await NodeFileSource.open(join(out, 'adapter_model.safetensors')));
    const a = header.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(a?.shape).toEqual([8, 40]);
    expect(header.tensors.get('base_model.model.model.layers.2.mlp.down_proj.lora_B.weight')?.shape).toEqual([40, 8]);
    expect(header.tensors.size).toBe(3 * 7 * 2);

    const metrics = (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3]);
    for (const m of metrics) for (const k of ['loss', 'learning_rate', 'grad_norm', 'epoch']) expect(Number.isFinite(m[k]), k).toBe(true);
    expect(metrics[0].learning_rate).toBe(2e-4); // linear decay from the SFT default
    expect(metrics[2].learning_rate).toBeCloseTo(2e-4 / 3, 12);
    const ckptFiles = (await readdir(join(out, 'checkpoint-2'))).sort();
    expect(ckptFiles).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'optimizer.safetensors', 'rng_state.json', 'scheduler.json', 'trainer_state.json']);
    expect(JSON.parse(await readFile(join(out, 'checkpoint-2', 'trainer_state.json'), 'utf8')).global_step).toBe(2);

    const ev = await whetstone('eval', '--model', MODEL, '--adapter', out, '--data', data, '--json', '--batch_size', '2');
    expect(ev.json.rows).toBe(3);
    // The method from the data, progress on stderr (the train bar: plain lines when not a terminal), one JSON line on stdout.
    expect(ev.stdout.trim().split('\n')).toHaveLength(1);
    expect(ev.stderr).toContain('method: sft (from the data: OpenAI messages)');
    expect(ev.stderr).toMatch(/^eval 3\/3 rows {2}ETA 0s$/m);
    expect(Number.isFinite(ev.json.loss)).toBe(true);
    // Three small steps at lr 2e-4 barely move a fresh adapter: eval after training sits near the logged training losses.
    expect(Math.abs((ev.json.loss as number) - metrics[2].loss)).toBeLessThan(0.2);

    const gen = await whetstone('generate', '--model', MODEL, '--adapter', out, '--prompt', 'What is the capital of France?', '--max_new_tokens', '8', '--json');
    const ids = gen.json.ids as number[];
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThanOrEqual(8);
    for (const id of ids) expect(Number.isInteger(id) && id >= 0 && id < 379).toBe(true);
    expect(typeof gen.json.text).toBe('string');
  });

  it('trains a DPO adapter from conversational preference pairs; the first step is ln 2 and eval --method dpo reads it', { timeout: 300_000 }, async () => {
    dir ||= await mkdtemp(join(tmpdir(), 'whetstone-cli-'));
    const data = join(dir, 'pairs.jsonl');
    const user = (content: string) => [{ role: 'user', content }];
    const bot = (content: string) => [{ role: 'assistant', content }];
    const rows = [
      { prompt: user('What is the capital of France?'), chosen: bot('Paris.'), rejected: bot('Rome.') },
      { prompt: user('How many legs does a spider have?'), chosen: bot('Eight.'), rejected: bot('Six.') },
    ];
    await writeFile(data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = join(dir, 'dpo');
    // No --method: the pairs say DPO (and the line says so).
    const train = await whetstone('train', '--model', MODEL, '--data', data, '--output_dir', out, '--max_steps', '2', '--per_device_train_batch_size', '2', '--learning_rate', '1e-2', '--json');
    expect(train.json.steps).toBe(2);
    expect(train.stderr).toContain('method: dpo (from the data: preference pairs (prompt/chosen/rejected))');
    const metrics = (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.length).toBe(2);
    expect(Math.abs(metrics[0].loss - Math.LN2)).toBeLessThan(1e-4); // fresh adapter: policy == reference
    for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) expect(Number.isFinite(metrics[1][k]), k).toBe(true);
    const ev = await whetstone('eval', '--model', MODEL, '--adapter', out, '--data', data, '--method', 'dpo', '--json');
    expect(ev.json.rows).toBe(2);
    expect(ev.json.loss as number).toBeLessThan(Math.LN2); // two steps at lr 1e-2 already prefer the chosen answers
    // A --method that contradicts the data names the flag to pass, for eval as for train.
    for (const command of [['eval'], ['train', '--output_dir', join(dir, 'never')]]) {
      const failed = await whetstone(...command, '--model', MODEL, '--data', data, '--method', 'sft', '--json').catch((e: { code: number; stderr: string }) => e);
      expect((failed as { code: number }).code).toBe(1);
      const stderr = (failed as { stderr: string }).stderr;
      expect(stderr).toContain(`error: --method sft does not fit ${data}: its rows are preference pairs (prompt/chosen/rejected) (preference pairs), not SFT rows`);
      expect(stderr).toContain('hint: Pass --method dpo, or leave it out: the method is then taken from the data.');
      expect(stderr).not.toMatch(/Train this file/);
    }
  });
});
