// Checkpoints and resume: 5 steps + checkpoint + resume (a new Trainer restored from the decoded
// checkpoint, its adapter loaded from the checkpoint's PEFT files) + 5 steps gives the same adapter
// as 10 straight steps, with AdamW, lora_dropout > 0, gradient accumulation 2 and a warmup schedule,
// for SFT and DPO. Checkpoint folders appear whole (temp name, then rename) and metrics.jsonl rows
// carry TRL's names.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testContext } from '../gpu/testing.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../lora/peft.ts';
import { decodeCheckpoint } from './checkpointState.ts';
import { evaluateSft } from './objectives/sft.ts';
import type { TrainingExamples } from '../data/examples.ts';
import type { RecipeInput } from '../recipe/schema.ts';
import { OPTIMIZER_STATE, RNG_STATE, SCHEDULER_STATE, TRAINER_STATE, type RunStore } from './runStore.ts';
import { FolderRunStore, readCheckpointFolder } from './runStoreNode.ts';
import { adapterFromFiles, dpoPairs, freshAdapter, loadTinyLlama, maxAbsDiff, MemoryRunStore, peftTensors, runTrainer, sftRows, trainerGoldens } from './testing.ts';
import { Trainer } from './trainer.ts';
import { resolveRecipe } from '../recipe/schema.ts';

const g = trainerGoldens();
const CHECKPOINT_FILES = [ADAPTER_CONFIG, ADAPTER_WEIGHTS, OPTIMIZER_STATE, RNG_STATE, SCHEDULER_STATE, TRAINER_STATE].sort();

describe('checkpoints and resume (tiny-llama)', async () => {
  const ctx = await testContext();
  const loaded = await loadTinyLlama(ctx);
  const dirs: string[] = [];
  const tempDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'whetstone-train-'));
    dirs.push(d);
    return d;
  };
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const common: RecipeInput = {
    optim: 'adamw_torch',
    learning_rate: 1e-2,
    weight_decay: 0.01,
    lr_scheduler_type: 'linear',
    warmup_steps: 2,
    per_device_train_batch_size: 1,
    gradient_accumulation_steps: 2,
    max_steps: 10,
    save_steps: 1000,
    lora_dropout: 0.1,
  };

  /** 10 straight steps vs 5 + stop (checkpoint) + resume + 5; returns the max |difference|. */
  async function resumeMatches(train: TrainingExamples, firstStore: () => Promise<{ store: RunStore; read: () => Promise<Record<string, Uint8Array>> }>) {
    const straightAdapter = freshAdapter(ctx, loaded, { r: 4, dropout: 0.1 });
    const straight = await runTrainer({ ctx, loaded, adapter: straightAdapter, train, recipe: common });
    expect(straight.steps).toBe(10);

    const { store, read } = await firstStore();
    const first = await runTrainer({ ctx, loaded, adapter: freshAdapter(ctx, loaded, { r: 4, dropout: 0.1 }), train, recipe: common, store, stopAfter: 5 });
    expect(first.stopped).toBe(true);
    expect(first.steps).toBe(5);
    const ckpt = await decodeCheckpoint(await read(), 'checkpoint-5');
    expect(ckpt.state.global_step).toBe(5);
    expect(ckpt.state.micro_batch).toBe(10);
    expect(ckpt.optimizer.t).toBe(5);
    expect(ckpt.state.num_input_tokens_seen).toBe(first.logs[4].num_tokens);
    const resumedAdapter = await adapterFromFiles(ctx, loaded, { [ADAPTER_CONFIG]: new TextEncoder().encode(ckpt.adapterConfig), [ADAPTER_WEIGHTS]: ckpt.adapterWeights });
    expect(resumedAdapter.config.loraDropout).toBe(0.1);
    const second = await runTrainer({ ctx, loaded, adapter: resumedAdapter, train, recipe: common, before: (t) => t.restore(ckpt) });
    expect(second.steps).toBe(10);
    expect(second.logs.map((l) => l.step)).toEqual([6, 7, 8, 9, 10]);
    // The resumed steps log exactly what the straight run logged for them.
    for (let i = 0; i < 5; i++) {
      const a = straight.logs[5 + i];
      const b = second.logs[i];
      expect(b.loss, `loss at step ${b.step}`).toBeCloseTo(a.loss, 6);
      expect(b.learning_rate).toBe(a.learning_rate);
      expect(b.epoch).toBe(a.epoch);
      expect(b.num_tokens, `num_tokens at step ${b.step}: the running total continues`).toBe(a.num_tokens);
    }
    expect(straight.logs[9].num_tokens).toBeGreaterThan(straight.logs[4].num_tokens);
    const diff = maxAbsDiff(await peftTensors(ctx, straightAdapter), await peftTensors(ctx, resumedAdapter));
    const moved = maxAbsDiff(await peftTensors(ctx, straightAdapter), await peftTensors(ctx, freshAdapter(ctx, loaded, { r: 4, dropout: 0.1 })));
    return { diff, moved };
  }

  it('SFT: 5 steps + checkpoint folder + resume + 5 steps == 10 straight steps', { timeout: 600_000 }, async () => {
    const dir = await tempDir();
    const { diff, moved } = await resumeMatches({ method: 'sft', rows: sftRows(g.sft.rows) }, async () => {
      const store = new FolderRunStore(dir);
      await store.init(false);
      return { store, read: () => readCheckpointFolder(join(dir, 'checkpoint-5')) };
    });
    console.log(`SFT resume: max |straight - resumed| = ${diff} (training moved the adapter by up to ${moved.toFixed(4)})`);
    expect(moved).toBeGreaterThan(1e-3);
    expect(diff).toBeLessThanOrEqual(1e-6);
  });

  it('DPO: 5 steps + checkpoint + resume + 5 steps == 10 straight steps', { timeout: 600_000 }, async () => {
    const pairs = dpoPairs(g.dpo.pairs);
    const store = new MemoryRunStore();
    const { diff, moved } = await resumeMatches({ method: 'dpo', rows: [pairs[0], pairs[2]] }, async () => ({ store, read: async () => store.checkpoints.get(5)! }));
    console.log(`DPO resume: max |straight - resumed| = ${diff} (training moved the adapter by up to ${moved.toFixed(4)})`);
    expect(moved).toBeGreaterThan(1e-3);
    expect(diff).toBeLessThanOrEqual(1e-6);
  });

  it('checkpoint-N folders are complete with no temp left; metrics.jsonl has TRL names (SFT and DPO)', { timeout: 600_000 }, async () => {
    const dir = await tempDir();
    const store = new FolderRunStore(dir);
    await store.init(false);
    const out = await runTrainer({ ctx, loaded, adapter: freshAdapter(ctx, loaded, { r: 4 }), train: { method: 'sft', rows: sftRows(g.sft.rows).slice(0, 2) }, recipe: { per_device_train_batch_size: 1, max_steps: 5, save_steps: 2 }, store });
    expect(out.steps).toBe(5);
    const entries = (await readdir(dir)).sort();
    expect(entries).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS, 'checkpoint-2', 'checkpoint-4', 'metrics.jsonl']);
    for (const ck of ['checkpoint-2', 'checkpoint-4']) {
      expect((await readdir(join(dir, ck))).sort()).toEqual(CHECKPOINT_FILES);
      const decoded = await decodeCheckpoint(await readCheckpointFolder(join(dir, ck)), ck);
      expect(decoded.state.global_step).toBe(Number(ck.split('-')[1]));
      expect(decoded.optimizer.moments.size).toBe(2 * 3 * 7); // A and B of 7 modules in 3 layers
    }
    const config = JSON.parse(await readFile(join(dir, ADAPTER_CONFIG), 'utf8'));
    expect(config.peft_type).toBe('LORA');
    const rows = (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
    for (const r of rows) {
      for (const k of ['loss', 'learning_rate', 'grad_norm', 'epoch']) expect(Number.isFinite(r[k]), `${k} in ${JSON.stringify(r)}`).toBe(true);
    }
    expect(rows[4].epoch).toBe(2.5);

    const dpoDir = await tempDir();
    const dpoStore = new FolderRunStore(dpoDir);
    await dpoStore.init(false);
    await runTrainer({ ctx, loaded, adapter: freshAdapter(ctx, loaded, { r: 4 }), train: { method: 'dpo', rows: [dpoPairs(g.dpo.pairs)[0]] }, recipe: { per_device_train_batch_size: 1, max_steps: 2, save_steps: 1 }, store: dpoStore });
    expect((await readdir(dpoDir)).sort()).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS, 'checkpoint-1', 'metrics.jsonl']);
    const dpoRows = (await readFile(join(dpoDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(dpoRows.length).toBe(2);
    for (const r of dpoRows) {
      for (const k of ['step', 'loss', 'learning_rate', 'grad_norm', 'epoch', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) {
        expect(Number.isFinite(r[k]), `${k} in ${JSON.stringify(r)}`).toBe(true);
      }
    }
  });

  it('eval_steps: eval_loss rows are the loss of the adapter at that step on the eval set', { timeout: 600_000 }, async () => {
    const rows = sftRows(g.sft.rows);
    const adapter = freshAdapter(ctx, loaded, { r: 4 });
    const store = new MemoryRunStore();
    const trainer = new Trainer({
      ctx,
      model: loaded.model,
      adapter,
      recipe: resolveRecipe({ method: 'sft', per_device_train_batch_size: 2, max_steps: 2, eval_steps: 2, learning_rate: 1e-2 }),
      train: { method: 'sft', rows: rows.slice(0, 2) },
      eval: { method: 'sft', rows: rows.slice(2) },
      padId: 0,
      store,
      baseModel: 'whetstone/tiny-llama',
    });
    await trainer.run();
    trainer.destroy();
    const evals = store.metrics.filter((m) => 'eval_loss' in m);
    expect(evals.length).toBe(1);
    expect(evals[0].step).toBe(2);
    const direct = await evaluateSft(ctx, loaded.model, adapter, rows.slice(2), 0, 2);
    expect(evals[0].eval_loss as number).toBeCloseTo(direct.loss, 5);
    const base = await evaluateSft(ctx, loaded.model, null, rows.slice(2), 0, 2);
    expect(Math.abs(direct.loss - base.loss)).toBeGreaterThan(1e-4); // the adapter was trained
  });
});
