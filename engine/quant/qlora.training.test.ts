// QLoRA trains: the studio's demo model (public/models/demo), and tiny-qwen2, loaded with load_in_4bit and double
// quantization runs the trainer on NF4 decoder linears (LoRA A/B, their gradients and AdamW state in
// f32): SFT loss falls on a few demo rows, and DPO starts at ln 2 on a fresh adapter (policy ==
// reference) exactly as with the 16-bit base, and a resumed run equals a straight one. Kept cheap:
// 2 rows / 2 pairs, max_length 64.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadMethodExamples } from '../data/methodData.ts';
import { testContext } from '../gpu/testing.ts';
import { NodeFileSource } from '../io/byteSourceNode.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { loadModel } from '../model/loadModel.ts';
import { GROUP_NAMES } from '../model/weights.ts';
import type { Method } from '../recipe/methods.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../lora/peft.ts';
import { decodeCheckpoint } from '../train/checkpointState.ts';
import { adapterFromFiles, freshAdapter, maxAbsDiff, MemoryRunStore, peftTensors, runTrainer } from '../train/testing.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('QLoRA training on the demo model (4-bit NF4 base, double quantization)', async () => {
  const ctx = await testContext();
  const loaded = await loadModel(ctx, await openNodeFolder(`${root}public/models/demo`), { loadIn4bit: true, doubleQuant: true, gradientCheckpointing: true });
  const examples = async (method: Method, file: string, n: number) => {
    const data = await loadMethodExamples(await NodeFileSource.open(`${root}public/datasets/${file}`), loaded.tokenizer, {
      method,
      maxLength: 64,
      dropLongRows: false,
      completionOnlyLoss: true,
      skipInvalidRows: false,
    });
    return { ...data.examples, rows: data.examples.rows.slice(0, n) } as typeof data.examples;
  };

  it('loads every decoder linear group in NF4', () => {
    expect(loaded.model.weights.quantization).toEqual({ preQuantized: false, doubleQuant: true });
    for (const layer of loaded.model.weights.layers) for (const g of GROUP_NAMES) expect(layer.groups[g].dtype).toBe('nf4');
  });

  it('SFT: the loss falls and the adapter moves', { timeout: 600_000 }, async () => {
    const train = await examples('sft', 'demo-sft.jsonl', 2);
    const adapter = freshAdapter(ctx, loaded, { r: 8 });
    const before = await peftTensors(ctx, adapter);
    const out = await runTrainer({ ctx, loaded, adapter, train, recipe: { per_device_train_batch_size: 2, max_steps: 10, learning_rate: 2e-2, lr_scheduler_type: 'constant', lora_dropout: 0, max_length: 64 } });
    const [first, last] = [out.logs[0].loss, out.logs.at(-1)!.loss];
    console.log(`QLoRA SFT on the demo model: loss ${first.toFixed(4)} -> ${last.toFixed(4)} in ${out.logs.length} steps`);
    expect(out.skippedSteps).toBe(0);
    expect(last).toBeLessThan(0.8 * first);
    expect(maxAbsDiff(before, await peftTensors(ctx, adapter))).toBeGreaterThan(0);
  });

  it('resume on the 4-bit base: 3 steps + checkpoint + resume + 3 steps == 6 straight steps', { timeout: 600_000 }, async () => {
    const train = await examples('sft', 'demo-sft.jsonl', 2);
    const recipe = { per_device_train_batch_size: 1, max_steps: 6, learning_rate: 1e-2, lora_dropout: 0.1, save_steps: 1000 };
    const straight = freshAdapter(ctx, loaded, { r: 4, dropout: 0.1 });
    await runTrainer({ ctx, loaded, adapter: straight, train, recipe });
    const store = new MemoryRunStore();
    const first = await runTrainer({ ctx, loaded, adapter: freshAdapter(ctx, loaded, { r: 4, dropout: 0.1 }), train, recipe, store, stopAfter: 3 });
    expect(first.steps).toBe(3);
    const ckpt = await decodeCheckpoint(store.checkpoints.get(3)!, 'checkpoint-3');
    const resumed = await adapterFromFiles(ctx, loaded, { [ADAPTER_CONFIG]: new TextEncoder().encode(ckpt.adapterConfig), [ADAPTER_WEIGHTS]: ckpt.adapterWeights });
    const second = await runTrainer({ ctx, loaded, adapter: resumed, train, recipe, before: (t) => t.restore(ckpt) });
    expect(second.steps).toBe(6);
    expect(maxAbsDiff(await peftTensors(ctx, straight), await peftTensors(ctx, resumed))).toBeLessThanOrEqual(1e-6);
  });

  it('DPO starts at ln 2 with zero rewards on a fresh adapter, then the margin grows', { timeout: 600_000 }, async () => {
    const train = await examples('dpo', 'demo-dpo.jsonl', 2);
    const adapter = freshAdapter(ctx, loaded, { r: 8 });
    const out = await runTrainer({ ctx, loaded, adapter, train, recipe: { per_device_train_batch_size: 2, max_steps: 6, learning_rate: 1e-2, lr_scheduler_type: 'constant', lora_dropout: 0, max_length: 64 } });
    const [first, last] = [out.logs[0], out.logs.at(-1)!];
    console.log(`QLoRA DPO on the demo model: loss ${first.loss.toFixed(6)} -> ${last.loss.toFixed(4)}, margin ${last['rewards/margins'].toFixed(4)}`);
    expect(Math.abs(first.loss - Math.LN2)).toBeLessThan(1e-6);
    expect(first['rewards/chosen']).toBe(0);
    expect(first['rewards/rejected']).toBe(0);
    expect(last.loss).toBeLessThan(first.loss);
    expect(last['rewards/margins']).toBeGreaterThan(0);
  });
});

describe('QLoRA training on tiny-qwen2 (q/k/v biases, 4-bit base)', async () => {
  const ctx = await testContext();
  const loaded = await loadModel(ctx, await openNodeFolder(`${root}engine/model/fixtures/tiny-qwen2`), { loadIn4bit: true, doubleQuant: true });
  const read = async (method: Method, file: string) => {
    const data = await loadMethodExamples(await NodeFileSource.open(`${root}public/datasets/${file}`), loaded.tokenizer, { method, maxLength: 64, dropLongRows: false, completionOnlyLoss: true, skipInvalidRows: false });
    return { ...data.examples, rows: data.examples.rows.slice(0, 2) } as typeof data.examples;
  };

  it('SFT loss falls and DPO starts at ln 2', { timeout: 600_000 }, async () => {
    expect(loaded.model.weights.layers[0].groups.qkv.dtype).toBe('nf4');
    const recipe = { per_device_train_batch_size: 2, learning_rate: 2e-2, lr_scheduler_type: 'constant' as const, lora_dropout: 0, max_length: 64 };
    const sft = await runTrainer({ ctx, loaded, adapter: freshAdapter(ctx, loaded, { r: 8 }), train: await read('sft', 'demo-sft.jsonl'), recipe: { ...recipe, max_steps: 6 } });
    expect(sft.logs.at(-1)!.loss).toBeLessThan(0.9 * sft.logs[0].loss);
    const dpo = await runTrainer({ ctx, loaded, adapter: freshAdapter(ctx, loaded, { r: 8 }), train: await read('dpo', 'demo-dpo.jsonl'), recipe: { ...recipe, max_steps: 1 } });
    expect(Math.abs(dpo.logs[0].loss - Math.LN2)).toBeLessThan(1e-6);
  });
});
