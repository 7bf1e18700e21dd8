// Each method beyond SFT/DPO learns on the studio's demo model (public/models/demo) from the demo
// preference file read the way `whetstone train` reads it (engine/data/methodData.ts): within 30
// steps its own metric moves the right way. Kept cheap: a few pairs, max_length 64, a fresh adapter.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadMethodExamples } from '../data/methodData.ts';
import { testContext } from '../gpu/testing.ts';
import { NodeFileSource } from '../io/byteSourceNode.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { loadModel } from '../model/loadModel.ts';
import type { Method } from '../recipe/methods.ts';
import { attachScoreHead } from '../lora/adapter.ts';
import { freshScoreWeight } from '../lora/seqCls.ts';
import { resolveRecipe } from '../recipe/schema.ts';
import { createObjective } from './objectives/index.ts';
import { freshAdapter, runTrainer } from './testing.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('ORPO, SimPO, KTO and reward models learn on the demo model', async () => {
  const ctx = await testContext();
  const loaded = await loadModel(ctx, await openNodeFolder(`${root}public/models/demo`), { dtype: 'f32' });
  const examples = async (method: Method, pairs: number) => {
    const data = await loadMethodExamples(await NodeFileSource.open(`${root}public/datasets/demo-dpo.jsonl`), loaded.tokenizer, {
      method,
      maxLength: 64,
      dropLongRows: false,
      completionOnlyLoss: true,
      skipInvalidRows: false,
    });
    const ex = data.examples;
    // KTO: the first pairs' chosen (true) and rejected (false) rows, mixed in one batch.
    if (ex.method === 'kto') return { ...ex, rows: [...ex.rows.slice(0, pairs), ...ex.rows.slice(ex.rows.length / 2, ex.rows.length / 2 + pairs)] };
    return { ...ex, rows: ex.rows.slice(0, pairs) } as typeof ex;
  };
  const train = async (method: Method, steps: number, recipe: Record<string, unknown>) => {
    const data = await examples(method, 2);
    const adapter = freshAdapter(ctx, loaded, { r: 8 });
    const out = await runTrainer({ ctx, loaded, adapter, train: data, recipe: { per_device_train_batch_size: data.rows.length, max_steps: steps, learning_rate: 2e-2, lr_scheduler_type: 'constant', lora_dropout: 0, max_length: 64, ...recipe } });
    expect(out.skippedSteps).toBe(0);
    const [first, last] = [out.logs[0], out.logs.at(-1)!];
    const show = (k: string) => `${k} ${first[k].toFixed(4)} -> ${last[k].toFixed(4)}`;
    return { first, last, show };
  };

  it('ORPO: the log odds of the chosen answers rise and the loss falls', { timeout: 600_000 }, async () => {
    const { first, last, show } = await train('orpo', 10, { beta: 0.1 });
    console.log(`ORPO: ${show('loss')}, ${show('log_odds_chosen')}, ${show('nll_loss')}`);
    expect(last.loss).toBeLessThan(first.loss);
    expect(last.log_odds_chosen).toBeGreaterThan(first.log_odds_chosen);
    expect(last['rewards/accuracies']).toBe(1);
  });

  it('SimPO: the margins grow and the loss falls', { timeout: 600_000 }, async () => {
    const { first, last, show } = await train('simpo', 8, {});
    console.log(`SimPO: ${show('loss')}, ${show('rewards/margins')}`);
    expect(last.loss).toBeLessThan(first.loss);
    expect(last['rewards/margins']).toBeGreaterThan(first['rewards/margins']);
    expect(last['rewards/accuracies']).toBe(1);
  });

  it('KTO: the desirable rows gain reward over the undesirable ones and the loss falls', { timeout: 600_000 }, async () => {
    const { first, last, show } = await train('kto', 10, { beta: 0.1 });
    console.log(`KTO: ${show('loss')}, ${show('rewards/margins')}, ${show('kl')}`);
    expect(last.loss).toBeLessThan(first.loss);
    expect(last['rewards/margins']).toBeGreaterThan(first['rewards/margins']);
    expect(last['rewards/chosen']).toBeGreaterThan(last['rewards/rejected']);
  });

  it('reward model: a fresh score head is at chance on a balanced set; training makes the chosen answers score higher', { timeout: 600_000 }, async () => {
    const data = await examples('reward', 12);
    if (data.method !== 'reward') throw new Error('reward rows expected');
    const adapter = freshAdapter(ctx, loaded, { r: 8 });
    attachScoreHead(ctx, adapter, freshScoreWeight(loaded.spec.hiddenSize, loaded.spec.initializerRange, 5));
    // Balanced: every pair and its swap. A fresh head (normal(0, initializer_range)) prefers neither
    // side and gives rewards near 0: accuracy 1/2 and a loss near ln 2.
    const balanced = [...data.rows, ...data.rows.map((p) => ({ chosen: p.rejected, rejected: p.chosen }))];
    const objective = createObjective('reward', { ctx, model: loaded.model, adapter, recipe: resolveRecipe({ method: 'reward' }), padId: loaded.tokenizer.padId });
    const fresh = await objective.evaluate(balanced, 8);
    console.log(`reward, fresh head on ${balanced.length} balanced pairs: loss ${fresh.metrics.loss.toFixed(4)}, accuracy ${fresh.metrics.accuracy}, margin ${fresh.metrics.margin.toFixed(4)}`);
    expect(fresh.metrics.accuracy).toBe(0.5);
    expect(Math.abs(fresh.metrics.loss - Math.LN2)).toBeLessThan(0.05);
    const out = await runTrainer({ ctx, loaded, adapter, train: { method: 'reward', rows: data.rows.slice(0, 2) }, recipe: { per_device_train_batch_size: 2, max_steps: 10, learning_rate: 2e-2, lr_scheduler_type: 'constant', lora_dropout: 0 } });
    const [first, last] = [out.logs[0], out.logs.at(-1)!];
    console.log(`reward: loss ${first.loss.toFixed(4)} -> ${last.loss.toFixed(4)}, margin ${first.margin.toFixed(4)} -> ${last.margin.toFixed(4)}`);
    expect(last.loss).toBeLessThan(first.loss);
    expect(last.margin).toBeGreaterThan(first.margin);
    expect(last.accuracy).toBe(1);
  });
});
