// The SFT and DPO trainers against float64 PyTorch goldens (scripts/reference/trainer_reference.py)
// on tiny-llama + its non-zero tiny-llama-lora adapter: SFT loss and one SGD step's LoRA update,
// DPO log-probs / losses (sigmoid, ipo, hinge, robust) / TRL metrics / LoRA gradients, two AdamW
// steps with clipping, and transformers' LR schedules.
import { describe, expect, it } from 'vitest';
import { testContext } from '../gpu/testing.ts';
import { expectClose } from '../ops/testing.ts';
import { evaluateDpo } from './objectives/dpo.ts';
import { evaluateSft } from './objectives/sft.ts';
import { lrMultiplier } from './schedule.ts';
import { dpoPairs, loadTinyLlama, loadTinyLora, peftTensors, runTrainer, sftRows, trainerGoldens, type Tensor } from './testing.ts';

const g = trainerGoldens();
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

/** Compares an adapter (weights or grads) with golden tensors; `scaleTol` is relative to each tensor's max |value|. */
function expectAdapter(got: Map<string, Float32Array>, want: Record<string, Tensor>, tol: { scaleTol: number; rtol: number }, what: string) {
  expect(new Set(got.keys())).toEqual(new Set(Object.keys(want)));
  for (const [key, t] of Object.entries(want)) {
    const scale = Math.max(...t.data.map(Math.abs));
    expectClose(got.get(key)!, t.data, { atol: tol.scaleTol * scale, rtol: tol.rtol }, `${what} ${key}`);
  }
}

describe('trainer vs PyTorch goldens (tiny-llama)', async () => {
  const ctx = await testContext();
  const loaded = await loadTinyLlama(ctx);
  const pad = loaded.tokenizer.padTokenId ?? 0;

  it('SFT: batch loss with and without the adapter (token mean, HF label shift)', { timeout: 600_000 }, async () => {
    const adapter = await loadTinyLora(ctx, loaded);
    const rows = sftRows(g.sft.rows);
    for (const bs of [1, 3, 4]) {
      const lora = await evaluateSft(ctx, loaded.model, adapter, rows, pad, bs);
      expect(lora.tokens).toBe(g.sft.batch_loss.tokens);
      expect(rel(lora.loss, g.sft.batch_loss.lora)).toBeLessThan(1e-5);
    }
    const base = await evaluateSft(ctx, loaded.model, null, rows, pad, 4);
    expect(rel(base.loss, g.sft.batch_loss.base)).toBeLessThan(1e-5);
  });

  it('SFT: one SGD step (lr 0.5, no clipping) gives PyTorch\'s LoRA update', { timeout: 600_000 }, async () => {
    const adapter = await loadTinyLora(ctx, loaded);
    const before = await peftTensors(ctx, adapter);
    const row = sftRows(g.sft.rows)[g.sft.sgd.row];
    const out = await runTrainer({
      ctx,
      loaded,
      adapter,
      train: { method: 'sft', rows: [row] },
      recipe: { optim: 'sgd', learning_rate: g.sft.sgd.lr, max_grad_norm: 0, lr_scheduler_type: 'constant', per_device_train_batch_size: 1, max_steps: 1 },
    });
    expect(out.skippedSteps).toBe(0);
    expect(out.logs[0].num_tokens).toBe(row.ids.length); // TRL's num_tokens: the input tokens
    expect(rel(out.logs[0].loss, g.sft.sgd.loss)).toBeLessThan(1e-5);
    expect(out.logs[0].learning_rate).toBe(g.sft.sgd.lr);
    const after = await peftTensors(ctx, adapter);
    // The weights after the step, and the update itself (lr * grad) with the gradient tolerance.
    expectAdapter(after, g.sft.sgd.adapter_after, { scaleTol: 1e-5, rtol: 1e-4 }, 'after SGD');
    const delta = new Map([...after].map(([k, v]) => [k, v.map((x, i) => x - before.get(k)![i])]));
    const wantDelta = Object.fromEntries(Object.entries(g.sft.sgd.adapter_after).map(([k, t]) => [k, { shape: t.shape, data: t.data.map((x, i) => x - before.get(k)![i]) }]));
    expectAdapter(delta, wantDelta, { scaleTol: 1e-4, rtol: 1e-3 }, 'SGD update');
  });

  it('DPO (eval): losses of all four types and TRL metrics (rewards, accuracies, margins, mean summed log-probs)', { timeout: 600_000 }, async () => {
    const adapter = await loadTinyLora(ctx, loaded);
    const pairs = dpoPairs(g.dpo.pairs);
    for (const lossType of ['sigmoid', 'ipo', 'hinge', 'robust'] as const) {
      const labelSmoothing = lossType === 'robust' ? g.dpo.robust_label_smoothing : 0;
      for (const bs of lossType === 'sigmoid' ? [3, 2] : [3]) {
        const m = await evaluateDpo(ctx, loaded.model, adapter, pairs, pad, { beta: g.dpo.beta, lossType, labelSmoothing }, bs);
        // TRL's IPO averages the log-probs over completion tokens (dpo_trainer.py concatenated_forward).
        const want = lossType === 'ipo' ? g.dpo.loss_ipo_length_averaged : g.dpo.loss[lossType];
        expect(rel(m.loss, want), `${lossType} loss ${m.loss} vs ${want} (batch ${bs})`).toBeLessThan(1e-4);
        if (lossType !== 'ipo') {
          for (const [k, v] of Object.entries(g.dpo.metrics)) {
            const got = (m as unknown as Record<string, number>)[k];
            expect(Math.abs(got - v), `${k}: ${got} vs ${v}`).toBeLessThanOrEqual(1e-4 * Math.abs(v) + 1e-5);
          }
        }
      }
    }
  });

  it('DPO: one trainer step logs TRL metrics and gives the LoRA gradients of the mean sigmoid loss', { timeout: 600_000 }, async () => {
    const adapter = await loadTinyLora(ctx, loaded);
    const out = await runTrainer({
      ctx,
      loaded,
      adapter,
      train: { method: 'dpo', rows: dpoPairs(g.dpo.pairs) },
      recipe: { optim: 'sgd', learning_rate: 1e-3, max_grad_norm: 0, lr_scheduler_type: 'constant', per_device_train_batch_size: 3, max_steps: 1, beta: g.dpo.beta },
    });
    const log = out.logs[0];
    expect(rel(log.loss, g.dpo.loss.sigmoid)).toBeLessThan(1e-4);
    for (const [k, v] of Object.entries(g.dpo.metrics)) expect(Math.abs(log[k] - v), `${k}: ${log[k]} vs ${v}`).toBeLessThanOrEqual(1e-4 * Math.abs(v) + 1e-5);
    // The optimizer reads the gradients but leaves them in dA/dB.
    expectAdapter(await peftTensors(ctx, adapter, 'grads'), g.dpo.sigmoid_lora_grads, { scaleTol: 1e-4, rtol: 1e-3 }, 'DPO grad');
  });

  it('DPO with loss_type ipo: TRL\'s length-averaged log-probs in the loss, metrics and LoRA gradients', { timeout: 600_000 }, async () => {
    const adapter = await loadTinyLora(ctx, loaded);
    const out = await runTrainer({
      ctx,
      loaded,
      adapter,
      train: { method: 'dpo', rows: dpoPairs(g.dpo.pairs) },
      recipe: { optim: 'sgd', learning_rate: 1e-3, max_grad_norm: 0, lr_scheduler_type: 'constant', per_device_train_batch_size: 3, max_steps: 1, beta: g.dpo.beta, loss_type: 'ipo' },
    });
    const log = out.logs[0];
    expect(rel(log.loss, g.dpo.loss_ipo_length_averaged)).toBeLessThan(1e-4);
    for (const [k, v] of Object.entries(g.dpo.ipo_length_averaged.metrics)) expect(Math.abs(log[k] - v), `${k}: ${log[k]} vs ${v}`).toBeLessThanOrEqual(1e-4 * Math.abs(v) + 1e-5);
    expectAdapter(await peftTensors(ctx, adapter, 'grads'), g.dpo.ipo_length_averaged.lora_grads, { scaleTol: 1e-4, rtol: 1e-3 }, 'IPO grad');
  });

  it('AdamW: two steps (lr 1e-2, weight_decay 0.01, max_grad_norm 1) on a 2-row SFT batch', { timeout: 600_000 }, async () => {
    const adapter = await loadTinyLora(ctx, loaded);
    const rows = sftRows(g.sft.rows).slice(0, 2);
    const a = g.adamw;
    const out = await runTrainer({
      ctx,
      loaded,
      adapter,
      train: { method: 'sft', rows },
      recipe: { optim: 'adamw_torch', learning_rate: a.lr, weight_decay: a.weight_decay, adam_beta1: a.betas[0], adam_beta2: a.betas[1], adam_epsilon: a.eps, max_grad_norm: a.max_grad_norm, lr_scheduler_type: 'constant', per_device_train_batch_size: 2, max_steps: 2 },
    });
    expect(out.logs.length).toBe(2);
    out.logs.forEach((log, i) => {
      expect(rel(log.loss, a.steps[i].loss), `step ${i + 1} loss`).toBeLessThan(1e-4);
      expect(rel(log.grad_norm, a.steps[i].grad_norm), `step ${i + 1} grad_norm`).toBeLessThan(1e-3);
    });
    expectAdapter(await peftTensors(ctx, adapter), a.adapter_after, { scaleTol: 1e-5, rtol: 1e-4 }, 'after AdamW');
  });
});

describe('learning-rate schedules (transformers get_scheduler)', () => {
  for (const kind of ['linear', 'cosine', 'constant_with_warmup'] as const) {
    it(kind, () => {
      const s = g.schedules[kind];
      const got = s.multipliers.map((_, step) => lrMultiplier(kind, step, s.total, s.warmup));
      expectClose(got, s.multipliers, { atol: 1e-12, rtol: 1e-10 }, kind);
    });
  }
  it('constant is 1 everywhere, linear without warmup starts at 1 and ends at 0', () => {
    expect([0, 5, 10].map((s) => lrMultiplier('constant', s, 10, 3))).toEqual([1, 1, 1]);
    expect(lrMultiplier('linear', 0, 10, 0)).toBe(1);
    expect(lrMultiplier('linear', 10, 10, 0)).toBe(0);
  });
});
