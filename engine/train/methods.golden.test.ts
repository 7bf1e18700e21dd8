// ORPO, SimPO, KTO and reward models through one real trainer step (runTrainer: the objective,
// the loop, the optimizer) against the float64 PyTorch goldens of
// scripts/reference/methods_reference.py on tiny-llama + tiny-llama-lora (reward: the SEQ_CLS
// tiny-llama-reward-lora with its score head): the logged loss and TRL metrics, and every LoRA
// gradient (the optimizer leaves them in dA/dB; reward: and the score head's), within the DPO
// tolerances of trainer.test.ts. Also: ORPO and SimPO run each sequence through the model once (no
// reference pass), the reward model too (and without the LM head); KTO with an all-desirable batch.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PreferenceExample, RewardExample, UnpairedExample } from '../data/examples.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { loadAdapter } from '../lora/load.ts';
import { klMismatchedRows } from '../data/methodDatasets.ts';
import { testContext } from '../gpu/testing.ts';
import type { GpuBatch } from '../model/batch.ts';
import { expectClose } from '../ops/testing.ts';
import { loadTinyLlama, loadTinyLora, MemoryRunStore, peftTensors, ROOT, runTrainer, type Tensor } from './testing.ts';

interface Seq {
  ids: number[];
  completion_start: number;
}
const golden = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}_goldens.json`, import.meta.url), 'utf8'));
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
const row = (s: Seq) => ({ ids: s.ids, trainMask: s.ids.map((_, i) => (i >= s.completion_start ? 1 : 0)) });
const pairsOf = (pairs: { chosen: Seq; rejected: Seq }[]): PreferenceExample[] => pairs.map((p) => ({ chosen: row(p.chosen), rejected: row(p.rejected) }));
const unpaired = (rows: (Seq & { label: boolean })[]): UnpairedExample[] => rows.map((r) => ({ prompt: r.ids.slice(0, r.completion_start), completion: r.ids.slice(r.completion_start), label: r.label }));

/** The DPO tolerances (trainer.test.ts): metrics 1e-4 relative + 1e-5, gradients 1e-4 of each tensor's max plus 1e-3 relative. */
function expectMetrics(got: Record<string, number>, want: Record<string, number>, what: string): void {
  for (const [k, v] of Object.entries(want)) expect(Math.abs(got[k] - v), `${what} ${k}: ${got[k]} vs ${v}`).toBeLessThanOrEqual(1e-4 * Math.abs(v) + 1e-5);
}
function expectGrads(got: Map<string, Float32Array>, want: Record<string, Tensor>, what: string): void {
  expect(new Set(got.keys())).toEqual(new Set(Object.keys(want)));
  for (const [key, t] of Object.entries(want)) {
    const scale = Math.max(...t.data.map(Math.abs));
    expectClose(got.get(key)!, t.data, { atol: 1e-4 * scale, rtol: 1e-3 }, `${what} ${key}`);
  }
}

const SGD = { optim: 'sgd', learning_rate: 1e-3, max_grad_norm: 0, lr_scheduler_type: 'constant', max_steps: 1, lora_dropout: 0 } as const;

describe('ORPO / SimPO / KTO trainer steps vs the PyTorch goldens (tiny-llama)', async () => {
  const ctx = await testContext();
  const loaded = await loadTinyLlama(ctx);

  /** Counts the model's forward passes and the rows each one ran. */
  function countForwards(): { rows: number[]; restore: () => void } {
    const model = loaded.model;
    const forward = model.forward.bind(model);
    const rows: number[] = [];
    model.forward = (batch: GpuBatch, opts) => {
      rows.push(batch.B);
      return forward(batch, opts);
    };
    return { rows, restore: () => (model.forward = forward) };
  }

  it('ORPO: loss, nll_loss, log odds, rewards, logps and LoRA gradients; one forward of the 2P sequences', { timeout: 600_000 }, async () => {
    const g = golden('orpo');
    const adapter = await loadTinyLora(ctx, loaded);
    const forwards = countForwards();
    const out = await runTrainer({ ctx, loaded, adapter, train: { method: 'orpo', rows: pairsOf(g.pairs) }, recipe: { ...SGD, per_device_train_batch_size: 3, beta: g.beta } });
    forwards.restore();
    expect(forwards.rows).toEqual([6]); // no reference pass
    const log = out.logs[0];
    expect(rel(log.loss, g.metrics.loss)).toBeLessThan(1e-4);
    expectMetrics(log, g.metrics, 'ORPO');
    expectGrads(await peftTensors(ctx, adapter, 'grads'), g.lora_grads, 'ORPO grad');
  });

  it('SimPO: pure and with the chosen NLL and label smoothing; one forward of the 2P sequences', { timeout: 600_000 }, async () => {
    const g = golden('simpo');
    for (const [name, v] of Object.entries(g.variants) as [string, Record<string, never>][]) {
      const adapter = await loadTinyLora(ctx, loaded);
      const forwards = countForwards();
      const recipe = { ...SGD, per_device_train_batch_size: 3, beta: v['beta'], simpo_gamma: v['simpo_gamma'], cpo_alpha: v['cpo_alpha'], label_smoothing: v['label_smoothing'] };
      const out = await runTrainer({ ctx, loaded, adapter, train: { method: 'simpo', rows: pairsOf(g.pairs) }, recipe });
      forwards.restore();
      expect(forwards.rows, name).toEqual([6]);
      const m = v['metrics'] as Record<string, number>;
      expect(rel(out.logs[0].loss, m['loss']), `${name} loss`).toBeLessThan(1e-4);
      expectMetrics(out.logs[0], m, `SimPO ${name}`);
      expectGrads(await peftTensors(ctx, adapter, 'grads'), v['lora_grads'], `SimPO ${name} grad`);
    }
  });

  it('KTO: mixed and all-desirable batches (rows in dataset order, KL rows rotated by one): loss, kl, rewards, logps, LoRA gradients', { timeout: 600_000 }, async () => {
    const g = golden('kto');
    for (const [name, b] of Object.entries(g.batches) as [string, Record<string, never>][]) {
      const rows = unpaired(b['rows']);
      // The KL rows the objective builds are the golden's (prompt i + completion i-1).
      expect(klMismatchedRows(rows, 1024).map((r) => r.ids), name).toEqual((b['kl_rows'] as Seq[]).map((r) => r.ids));
      const adapter = await loadTinyLora(ctx, loaded);
      const recipe = { ...SGD, per_device_train_batch_size: rows.length, beta: g.beta, desirable_weight: b['desirable_weight'], undesirable_weight: b['undesirable_weight'] };
      const out = await runTrainer({ ctx, loaded, adapter, train: { method: 'kto', rows }, recipe });
      const log = out.logs[0];
      const m = b['metrics'] as Record<string, number>;
      expect(rel(log.loss, m['loss']), `${name} loss`).toBeLessThan(1e-4);
      expectMetrics(log, m, `KTO ${name}`);
      // An all-desirable batch logs no rejected metrics and no margins (TRL logs only what the batch has).
      if (name === 'all_desirable') expect(Object.keys(log).filter((k) => /rejected|margins/.test(k))).toEqual([]);
      expectGrads(await peftTensors(ctx, adapter, 'grads'), b['lora_grads'], `KTO ${name} grad`);
    }
  });

  it('reward model: loss with centering, accuracy, margin, min/mean/max reward, LoRA and score-head gradients; one hidden-state pass', { timeout: 600_000 }, async () => {
    const g = golden('reward');
    expect(loaded.tokenizer.padId).toBe(g.pad_token_id);
    const adapter = await loadAdapter(ctx, loaded.spec, await openNodeFolder(`${ROOT}engine/model/fixtures/tiny-llama-reward-lora`));
    expect(adapter.score?.size).toBe(loaded.spec.hiddenSize);
    const rows: RewardExample[] = (g.pairs as { chosen: Seq; rejected: Seq }[]).map((p) => ({ chosen: p.chosen.ids, rejected: p.rejected.ids }));
    const model = loaded.model;
    const calls = { lm: 0, hidden: [] as number[] };
    const [forward, forwardHidden] = [model.forward.bind(model), model.forwardHidden.bind(model)];
    model.forward = (b, o) => (calls.lm++, forward(b, o));
    model.forwardHidden = (b, o) => (calls.hidden.push(b.B), forwardHidden(b, o));
    const store = new MemoryRunStore();
    const out = await runTrainer({ ctx, loaded, adapter, store, train: { method: 'reward', rows }, recipe: { ...SGD, per_device_train_batch_size: 3, center_rewards_coefficient: g.center_rewards_coefficient } });
    [model.forward, model.forwardHidden] = [forward, forwardHidden];
    expect(calls).toEqual({ lm: 0, hidden: [6] });
    const log = out.logs[0];
    expect(rel(log.loss, g.metrics.loss)).toBeLessThan(1e-4);
    expectMetrics(log, g.metrics, 'reward');
    expectGrads(await peftTensors(ctx, adapter, 'grads'), g.lora_grads, 'reward LoRA grad');
    const scoreGrad = g.score_grad as Tensor;
    expectClose(await ctx.readF32(adapter.score!.grad, adapter.score!.size), scoreGrad.data, { atol: 1e-4 * Math.max(...scoreGrad.data.map(Math.abs)), rtol: 1e-3 }, 'score grad');
    // The final adapter is a SEQ_CLS one with the trained head.
    const config = JSON.parse(new TextDecoder().decode(store.final!['adapter_config.json']));
    expect([config.task_type, config.modules_to_save]).toEqual(['SEQ_CLS', ['classifier', 'score']]);
  });
});
