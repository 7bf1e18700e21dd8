// The methods beyond SFT/DPO through the command line, on the demo model: a reward model trained,
// evaluated with TRL's metrics, scoring every row, and picking the best of N sampled answers; KTO
// taken from unpaired rows (the method from the data) and evaluated.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { whetstone } from './testing.ts';

const MODEL = 'public/models/demo';
const PAIRS = 'public/datasets/demo-dpo.jsonl';
const KTO = 'public/datasets/demo-kto.jsonl';

describe('whetstone train/eval/score/generate with reward models and KTO', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reward model: train (SEQ_CLS adapter), eval --method reward --json, score per row, generate --best_of', { timeout: 600_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'whetstone-methods-'));
    const rm_ = join(dir, 'rm');
    const train = await whetstone('train', '--model', MODEL, '--data', PAIRS, '--method', 'reward', '--output_dir', rm_, '--max_steps', '3', '--per_device_train_batch_size', '4', '--learning_rate', '1e-2', '--max_length', '64', '--json');
    expect(train.json.steps).toBe(3);
    for (const k of ['loss', 'accuracy', 'margin', 'min_reward', 'mean_reward', 'max_reward']) expect(Number.isFinite(train.json[k]), k).toBe(true);
    const config = JSON.parse(await readFile(join(rm_, 'adapter_config.json'), 'utf8'));
    expect([config.task_type, config.modules_to_save]).toEqual(['SEQ_CLS', ['classifier', 'score']]);

    const ev = await whetstone('eval', '--model', MODEL, '--adapter', rm_, '--data', PAIRS, '--method', 'reward', '--max_length', '64', '--json');
    expect(Object.keys(ev.json).sort()).toEqual(['accuracy', 'loss', 'margin', 'max_reward', 'mean_reward', 'min_reward', 'rows']);
    expect(ev.json.rows).toBe(24);

    const score = await whetstone('score', '--model', MODEL, '--adapter', rm_, '--data', PAIRS, '--max_length', '64', '--json');
    const rows = score.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; chosen: number; rejected: number });
    expect(rows.map((r) => r.line)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(rows.every((r) => Number.isFinite(r.chosen) && Number.isFinite(r.rejected))).toBe(true);
    // The scores are the ones eval averages over: the same accuracy.
    expect(rows.filter((r) => r.chosen > r.rejected).length / 24).toBeCloseTo(ev.json.accuracy as number, 10);

    const best = await whetstone('generate', '--model', MODEL, '--prompt', 'A fruit?', '--best_of', '3', '--reward_adapter', rm_, '--max_new_tokens', '8', '--json');
    const candidates = best.json.candidates as { text: string; reward: number }[];
    expect(candidates.length).toBe(3);
    const top = Math.max(...candidates.map((c) => c.reward));
    expect(best.json.reward).toBe(top);
    expect(best.json.text).toBe(candidates[best.json.best as number].text);
  });

  it('KTO from unpaired rows (the method from the data), and evaluated with its KL', { timeout: 600_000 }, async () => {
    dir ||= await mkdtemp(join(tmpdir(), 'whetstone-methods-'));
    const out = join(dir, 'kto');
    const train = await whetstone('train', '--model', MODEL, '--data', KTO, '--output_dir', out, '--max_steps', '2', '--per_device_train_batch_size', '4', '--max_length', '64', '--json');
    expect(train.stdout + train.stderr).toMatch(/method: kto \(from the data/);
    for (const k of ['loss', 'kl', 'rewards/chosen', 'rewards/rejected']) expect(Number.isFinite(train.json[k]), k).toBe(true);
    const ev = await whetstone('eval', '--model', MODEL, '--adapter', out, '--data', KTO, '--per_device_eval_batch_size', '4', '--max_length', '64', '--json');
    expect(ev.json.rows).toBe(24);
    for (const k of ['loss', 'kl', 'rewards/chosen', 'rewards/rejected', 'rewards/margins']) expect(Number.isFinite(ev.json[k]), k).toBe(true);
  });
});
