// How the trainer behaves, beyond matching goldens: DPO starts at ln 2 on a fresh adapter, SFT
// memorises a few rows and DPO separates a few pairs, gradient accumulation equals a bigger
// batch, a packed batch (TRL's bfd) changes no loss term, and a non-finite step is skipped with a
// warning and never checkpointed.
import { describe, expect, it } from 'vitest';
import type { SftExample } from '../data/examples.ts';
import { packExamples } from '../data/packing.ts';
import { testContext } from '../gpu/testing.ts';
import { dpoPairs, freshAdapter, loadTinyLlama, loadTinyLora, maxAbsDiff, MemoryRunStore, peftTensors, runTrainer, sftRows, trainerGoldens, adapterFromFiles } from './testing.ts';

const g = trainerGoldens();
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('trainer behaviour (tiny-llama)', async () => {
  const ctx = await testContext();
  const loaded = await loadTinyLlama(ctx);
  const rows = sftRows(g.sft.rows);
  const pairs = dpoPairs(g.dpo.pairs);

  it('the first DPO step of a fresh adapter (B = 0) has loss ln 2 and zero rewards', { timeout: 600_000 }, async () => {
    const adapter = freshAdapter(ctx, loaded);
    const out = await runTrainer({ ctx, loaded, adapter, train: { method: 'dpo', rows: pairs }, recipe: { per_device_train_batch_size: 3, max_steps: 1, learning_rate: 1e-3 } });
    const log = out.logs[0];
    expect(Math.abs(log.loss - Math.LN2)).toBeLessThan(1e-5);
    expect(Math.abs(log['rewards/chosen'])).toBeLessThan(1e-5);
    expect(Math.abs(log['rewards/margins'])).toBeLessThan(1e-5);
    expect(log.grad_norm).toBeGreaterThan(0); // B = 0 still gets a gradient through A's output
  });

  it('SFT memorises a few rows (loss falls below 30% of its start)', { timeout: 600_000 }, async () => {
    const adapter = freshAdapter(ctx, loaded, { r: 8 });
    const out = await runTrainer({ ctx, loaded, adapter, train: { method: 'sft', rows: rows.slice(0, 2) }, recipe: { per_device_train_batch_size: 2, max_steps: 18, learning_rate: 3e-2, lr_scheduler_type: 'constant', lora_dropout: 0 } });
    const first = out.logs[0].loss;
    const last = out.logs.at(-1)!.loss;
    console.log(`SFT memorisation: loss ${first.toFixed(4)} -> ${last.toFixed(4)} in ${out.logs.length} steps`);
    expect(out.skippedSteps).toBe(0);
    expect(last).toBeLessThan(0.3 * first);
  });

  it('DPO separates a few pairs (rewards/accuracies 1, margins > 0)', { timeout: 600_000 }, async () => {
    const adapter = freshAdapter(ctx, loaded, { r: 8 });
    const out = await runTrainer({ ctx, loaded, adapter, train: { method: 'dpo', rows: pairs.slice(0, 2) }, recipe: { per_device_train_batch_size: 2, max_steps: 8, learning_rate: 3e-2, lr_scheduler_type: 'constant' } });
    const last = out.logs.at(-1)!;
    console.log(`DPO: loss ${out.logs[0].loss.toFixed(4)} -> ${last.loss.toFixed(4)}, accuracies ${last['rewards/accuracies']}, margins ${last['rewards/margins'].toFixed(4)}`);
    expect(last['rewards/accuracies']).toBe(1);
    expect(last['rewards/margins']).toBeGreaterThan(0);
    expect(last.loss).toBeLessThan(0.5 * Math.LN2);
  });

  it('gradient accumulation: batch 4 x 1 == batch 2 x 2 (loss and update)', { timeout: 600_000 }, async () => {
    const run = async (bs: number, acc: number) => {
      const adapter = await loadTinyLora(ctx, loaded);
      const out = await runTrainer({ ctx, loaded, adapter, train: { method: 'sft', rows }, recipe: { optim: 'sgd', learning_rate: 0.5, max_grad_norm: 0, per_device_train_batch_size: bs, gradient_accumulation_steps: acc, max_steps: 1 } });
      return { log: out.logs[0], weights: await peftTensors(ctx, adapter) };
    };
    const a = await run(4, 1);
    const b = await run(2, 2);
    const inputTokens = rows.reduce((s, r) => s + r.ids.length, 0); // TRL's num_tokens: input tokens, no padding
    expect(a.log.num_tokens).toBe(inputTokens);
    expect(b.log.num_tokens).toBe(inputTokens);
    expect(rel(a.log.loss, g.sft.batch_loss.lora)).toBeLessThan(1e-5);
    expect(rel(b.log.loss, a.log.loss)).toBeLessThan(1e-5);
    expect(rel(b.log.grad_norm, a.log.grad_norm)).toBeLessThan(1e-4);
    expect(maxAbsDiff(a.weights, b.weights)).toBeLessThan(1e-5);
  });

  it('a packed step: its loss is the token-weighted mean of the same examples unpacked, and the update is the same', { timeout: 600_000 }, async () => {
    // TRL's bfd into 160 tokens: the four golden rows (41, 76, 79, 71 tokens) become 2 sequences.
    const packed = packExamples(rows, 160, 'bfd');
    expect(packed.stats.sequences).toBe(2);
    const run = async (train: SftExample[]) => {
      const adapter = await loadTinyLora(ctx, loaded);
      const out = await runTrainer({ ctx, loaded, adapter, train: { method: 'sft', rows: train }, recipe: { optim: 'sgd', learning_rate: 0.5, max_grad_norm: 0, per_device_train_batch_size: train.length, max_steps: 1, max_length: 160 } });
      return { log: out.logs[0], weights: await peftTensors(ctx, adapter) };
    };
    const plain = await run(rows);
    const inTwo = await run(packed.rows);
    expect(inTwo.log.num_tokens).toBe(plain.log.num_tokens); // the same input tokens, no padding counted
    expect(rel(inTwo.log.loss, plain.log.loss)).toBeLessThan(1e-5);
    expect(rel(inTwo.log.loss, g.sft.batch_loss.lora)).toBeLessThan(1e-5);
    expect(maxAbsDiff(inTwo.weights, plain.weights)).toBeLessThan(1e-5);
  });

  it('bfd truncates an example longer than max_length exactly as truncating it before (loss and update)', { timeout: 600_000 }, async () => {
    const maxLength = 60;
    const run = async (train: SftExample[]) => {
      const adapter = await loadTinyLora(ctx, loaded);
      const out = await runTrainer({ ctx, loaded, adapter, train: { method: 'sft', rows: train }, recipe: { optim: 'sgd', learning_rate: 0.5, max_grad_norm: 0, per_device_train_batch_size: 4, max_steps: 1, max_length: maxLength } });
      return { log: out.logs[0], weights: await peftTensors(ctx, adapter) };
    };
    const truncated = await run(rows.map((r) => ({ ids: r.ids.slice(0, maxLength), trainMask: Array.from(r.trainMask).slice(0, maxLength) })));
    const packed = await run(packExamples(rows, maxLength, 'bfd').rows);
    expect(packed.log.num_tokens).toBe(truncated.log.num_tokens);
    expect(packed.log.num_tokens).toBeLessThan(rows.reduce((s, r) => s + r.ids.length, 0));
    expect(rel(packed.log.loss, truncated.log.loss)).toBeLessThan(1e-5);
    expect(maxAbsDiff(packed.weights, truncated.weights)).toBeLessThan(1e-5);
  });

  it('a non-finite step is skipped with a warning and never checkpointed', { timeout: 600_000 }, async () => {
    const adapter = await loadTinyLora(ctx, loaded);
    const store = new MemoryRunStore();
    // lr 1e30: step 1 is finite and makes the weights huge (still finite); from step 2 the
    // forward overflows, so the loss is NaN/Inf and the update must be skipped.
    const out = await runTrainer({ ctx, loaded, adapter, store, train: { method: 'sft', rows }, recipe: { optim: 'sgd', learning_rate: 1e30, max_grad_norm: 0, per_device_train_batch_size: 4, max_steps: 4, save_steps: 1, lr_scheduler_type: 'constant' } });
    expect(Number.isFinite(out.logs[0].loss)).toBe(true);
    expect(out.skippedSteps).toBe(3);
    expect(out.warnings.length).toBe(3);
    expect(out.warnings[0]).toMatch(/step 2: .*not finite/);
    for (const log of out.logs.slice(1)) expect(Number.isFinite(log.loss) && Number.isFinite(log.grad_norm)).toBe(false);
    expect([...store.checkpoints.keys()]).toEqual([1]);
    const ck = await adapterFromFiles(ctx, loaded, store.checkpoints.get(1)!);
    const saved = await peftTensors(ctx, ck);
    for (const v of saved.values()) expect(v.every(Number.isFinite)).toBe(true);
    // The skipped steps left the weights exactly as step 1 made them.
    expect(maxAbsDiff(await peftTensors(ctx, adapter), saved)).toBe(0);
    const final = await adapterFromFiles(ctx, loaded, store.final!);
    expect(maxAbsDiff(await peftTensors(ctx, final), saved)).toBe(0);
  });
});
