// The training session on the tiny-llama fixture: what used to be one face's only — starting from
// an existing PEFT adapter and evaluation rows from their own file (the CLI's), the memory estimate
// before anything is allocated and sample generations (the studio's) — now for both; and the
// evaluation the CLI's `eval` uses is the trainer's objective.
import { readFileSync } from 'node:fs';
import type { SftExample } from '../data/examples.ts';
import { describe, expect, it } from 'vitest';
import { testContext } from '../gpu/testing.ts';
import { GpuOutOfMemory } from '../gpu/errors.ts';
import { MemorySource } from '../io/byteSource.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { loadAdapter } from '../lora/load.ts';
import { resolveRecipe } from '../recipe/schema.ts';
import { evaluateSft } from '../train/objectives/sft.ts';
import { loadTinyLlama, MemoryRunStore, ROOT } from '../train/testing.ts';
import { evaluateDataset } from './evaluation.ts';
import { prepareTraining } from './training.ts';
import { loadExamples } from './data.ts';

const sftFile = () => new MemorySource('chat.jsonl', new Uint8Array(readFileSync(`${ROOT}engine/model/fixtures/sft_eval.jsonl`)));

describe('training session (tiny-llama)', async () => {
  const ctx = await testContext();
  const loaded = await loadTinyLlama(ctx);

  it('starts from an existing PEFT adapter, evaluates on --eval_data rows every eval_steps, and samples', { timeout: 600_000 }, async () => {
    const recipe = resolveRecipe({ max_steps: 2, per_device_train_batch_size: 2, eval_steps: 1, learning_rate: 1e-3, lora_r: 16, save_steps: 1000 });
    const logs: Record<string, number>[] = [];
    const samples: { step: number; prompt: string; text: string }[] = [];
    const session = await prepareTraining({
      ctx,
      loaded,
      recipe,
      data: sftFile(),
      evalData: sftFile(),
      adapter: await openNodeFolder(`${ROOT}engine/model/fixtures/tiny-llama-lora`),
      store: new MemoryRunStore(),
      baseModel: 'tiny-llama',
      samples: { prompt: null },
      callbacks: { onLog: (e) => logs.push(e), onSample: (step, prompt, text) => samples.push({ step, prompt, text }) },
    });
    // The adapter's own shape, not the recipe's lora_r.
    const fixture = await loadAdapter(ctx, loaded.spec, await openNodeFolder(`${ROOT}engine/model/fixtures/tiny-llama-lora`));
    expect(session.adapter.config.r).toBe(fixture.config.r);
    expect(session.adapter.config.r).not.toBe(16);
    // Before training, the eval loss is the fixture adapter's loss on the eval file.
    const before = await evaluateSft(ctx, loaded.model, fixture, (await loadExamples(sftFile(), loaded.tokenizer, recipe)).examples.rows as SftExample[], loaded.tokenizer.padId, 2);
    expect(before.loss).toBeGreaterThan(0);
    const result = await session.run();
    expect(result.steps).toBe(2);
    const evals = logs.filter((l) => 'eval_loss' in l);
    expect(evals.map((l) => l.step)).toEqual([1, 2]);
    expect(evals.every((l) => Number.isFinite(l.eval_loss))).toBe(true);
    expect(Math.abs(evals[0].eval_loss - before.loss)).toBeLessThan(0.5);
    expect(samples.map((s) => s.step)).toEqual([1, 2]);
    expect(samples[0].prompt).toBe('What is the capital of France?');
  });

  it('checks the memory estimate first: refuses with the breakdown, or warns and tries', { timeout: 600_000 }, async () => {
    const absurd = resolveRecipe({ per_device_train_batch_size: 4096, max_length: 65536, max_steps: 1 });
    const init = { ctx, loaded, recipe: absurd, data: sftFile(), store: new MemoryRunStore(), baseModel: 'tiny-llama' };
    const refused = await prepareTraining(init).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GpuOutOfMemory);
    const oom = refused as GpuOutOfMemory;
    expect(oom.requestedBytes).toBe((oom.weightsBytes ?? 0) + (oom.loraBytes ?? 0) + (oom.activationBytes ?? 0));
    expect(oom.hint).toMatch(/per_device_train_batch_size|max_length/);
    // The CLI's policy: say so and try (WebGPU cannot tell a big card's memory). Nothing is trained here.
    const warnings: string[] = [];
    const session = await prepareTraining({ ...init, memoryPolicy: 'warn', callbacks: { onWarning: (w) => warnings.push(w) } });
    expect(warnings.find((w) => w.includes('Trying anyway'))).toContain(oom.hint);
    expect(warnings.some((w) => w.startsWith('max_length=65536'))).toBe(true); // and the absurd-value warnings first
    session.destroy();
  });

  it("`eval` runs the method's objective: the same loss as the trainer's evaluation", { timeout: 600_000 }, async () => {
    const adapter = await loadAdapter(ctx, loaded.spec, await openNodeFolder(`${ROOT}engine/model/fixtures/tiny-llama-lora`));
    const recipe = resolveRecipe({});
    const progress: { done: number; total: number; etaSeconds: number | null }[] = [];
    const r = await evaluateDataset({ ctx, loaded, adapter, recipe, data: sftFile(), batchSize: 3, onProgress: ({ done, total, etaSeconds }) => progress.push({ done, total, etaSeconds }) });
    // Progress for both faces: before the first batch, then after each (no ETA until batches are timed; 0 at the end).
    expect(progress).toEqual([
      { done: 0, total: 4, etaSeconds: null },
      { done: 3, total: 4, etaSeconds: null },
      { done: 4, total: 4, etaSeconds: 0 },
    ]);
    const rows = (await loadExamples(sftFile(), loaded.tokenizer, recipe)).examples.rows;
    const direct = await evaluateSft(ctx, loaded.model, adapter, rows as SftExample[], loaded.tokenizer.padId, 4);
    expect(r.rows).toBe(4);
    expect(r.tokens).toBe(direct.tokens);
    expect(Math.abs(r.metrics.loss - direct.loss) / direct.loss).toBeLessThan(1e-5);
  });

  it('packs the training file once (TRL bfd): an epoch steps through packed sequences', { timeout: 600_000 }, async () => {
    const demo = () => new MemorySource('demo-sft.jsonl', new Uint8Array(readFileSync(`${ROOT}public/datasets/demo-sft.jsonl`)));
    const common = { max_length: 128, per_device_train_batch_size: 2, num_train_epochs: 1, save_steps: 1000 };
    const plain = await prepareTraining({ ctx, loaded, recipe: resolveRecipe(common), data: demo(), store: new MemoryRunStore(), baseModel: 'tiny-llama' });
    expect(plain.packing).toBeNull();
    expect(plain.total).toBe(12); // 24 rows / 2
    plain.destroy();
    const session = await prepareTraining({ ctx, loaded, recipe: resolveRecipe({ ...common, packing: true }), data: demo(), store: new MemoryRunStore(), baseModel: 'tiny-llama' });
    const p = session.packing!;
    expect(p).toMatchObject({ strategy: 'bfd', examples: 24, maxLength: 128 });
    expect(session.train.rows.length).toBe(p.sequences);
    expect(p.sequences).toBeLessThan(24);
    expect(session.total).toBe(Math.ceil(p.sequences / 2));
    expect(p.tokens).toBe((await loadExamples(demo(), loaded.tokenizer, resolveRecipe(common))).examples.rows.reduce((s, r) => s + (r as SftExample).ids.length, 0));
    session.destroy();
  });
});
