// `whetstone recipe --to trl` through commander: the project folder written from a recipe file,
// a dataset and the model's tokenizer; refusals as typed errors.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerRecipeCommand } from './recipe.ts';

const MODEL = 'engine/model/fixtures/tiny-llama';
let tmp = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'whetstone-recipe-'));
  await writeFile(join(tmp, 'pairs.jsonl'), ['What is red?|A colour.|A fish.', 'Name a day.|Monday.|Blue.', 'Two plus two?|Four.|Five.'].map((l) => {
    const [prompt, chosen, rejected] = l.split('|');
    return JSON.stringify({ prompt, chosen, rejected });
  }).join('\n') + '\n');
  await writeFile(join(tmp, 'kto.json'), JSON.stringify({ method: 'kto', per_device_train_batch_size: 2, desirable_weight: 1.2, eval_split: 0.34, eval_steps: 10 }));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ out: string; error: unknown }> {
  const program = new Command('whetstone').exitOverride();
  let out = '';
  registerRecipeCommand(program);
  program.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) }));
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += a.join(' ') + '\n'));
  let error: unknown = null;
  try {
    await program.parseAsync(['node', 'whetstone', 'recipe', ...args]);
  } catch (e) {
    error = e;
  } finally {
    log.mockRestore();
  }
  return { out, error };
}

describe('whetstone recipe --to trl', () => {
  it('writes train.py, the unpaired data split as Whetstone splits it, the accelerate config and a README', async () => {
    const dir = join(tmp, 'kto-project');
    const { out, error } = await run(['--to', 'trl', join(tmp, 'kto.json'), '--output_dir', dir, '--model', MODEL, '--data', join(tmp, 'pairs.jsonl'), '--json']);
    expect(error).toBeNull();
    const summary = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ method: 'kto', trainer: 'KTOTrainer', train_rows: 4, eval_rows: 2 });
    expect(summary.files).toEqual(['README.md', 'accelerate_config.yaml', 'data/eval.jsonl', 'data/train.jsonl', 'requirements.txt', 'train.py']);
    const train = (await readFile(join(dir, 'data/train.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    // tiny-llama has a chat template: text rows are written conversational, as Whetstone renders them.
    expect(train[0].prompt[0].role).toBe('user');
    expect(typeof train[0].label).toBe('boolean');
    const py = await readFile(join(dir, 'train.py'), 'utf8');
    expect(py).toContain('    desirable_weight=1.2,\n');
    expect(py).toContain('    eval_strategy="steps",\n');
    expect(py).toContain('eval_dataset = load_dataset("json", data_files="data/eval.jsonl", split="train")');
  });

  it('refuses a non-empty output folder, an unknown target and an invalid recipe, naming them', async () => {
    const busy = join(tmp, 'busy');
    await mkdir(busy, { recursive: true });
    await writeFile(join(busy, 'x.txt'), 'x');
    const base = ['--model', MODEL, '--data', join(tmp, 'pairs.jsonl')];
    expect(String((await run(['--to', 'trl', join(tmp, 'kto.json'), '--output_dir', busy, ...base])).error)).toMatch(/busy is not empty \(x\.txt\)/);
    expect((await run(['--to', 'axolotl', join(tmp, 'kto.json'), '--output_dir', join(tmp, 'o2'), ...base])).out).toMatch(/--to must be trl, got "axolotl"/);
    await writeFile(join(tmp, 'bad.json'), JSON.stringify({ method: 'kto', per_device_train_batch_size: 1 }));
    expect(String((await run(['--to', 'trl', join(tmp, 'bad.json'), '--output_dir', join(tmp, 'o3'), ...base])).error)).toMatch(/KTO needs at least 2 examples per batch/);
  });
});
