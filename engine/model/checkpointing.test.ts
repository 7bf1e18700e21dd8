// Gradient checkpointing recomputes each layer's forward (its LoRA t and dropout masks included)
// just before that layer's backward: the LoRA gradients must be exactly those of the run that kept
// every activation, with lora_dropout on so the recomputed masks are checked too.
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { testContext } from '../gpu/testing.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { readLoraWeights, zeroLoraGrads } from '../lora/adapter.ts';
import { loadAdapter } from '../lora/load.ts';
import { maskedTokenMeanBackward } from '../ops/lossReduce.ts';
import { expectClose } from '../ops/testing.ts';
import { batchFromRows, uploadBatch } from './batch.ts';
import { loadModel } from './loadModel.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('gradient checkpointing', () => {
  it('gives bit-identical LoRA gradients to keeping the activations (lora_dropout 0.1)', { timeout: 600_000 }, async () => {
    const ctx = await testContext();
    const grads: Map<string, { A: Float32Array; B: Float32Array }>[] = [];
    for (const gradientCheckpointing of [false, true]) {
      const { model } = await loadModel(ctx, await openNodeFolder(`${root}engine/model/fixtures/tiny-llama`), { dtype: 'bf16', gradientCheckpointing });
      const adapter = await loadAdapter(ctx, model.spec, await openNodeFolder(`${root}engine/model/fixtures/tiny-llama-lora`));
      const rows = [0, 1].map((r) => ({ ids: Array.from({ length: 9 + 4 * r }, (_, i) => (7 * i + 3 * r + 1) % model.spec.vocabSize), trainMask: Array.from({ length: 9 + 4 * r }, () => 1) }));
      const batch = uploadBatch(ctx, batchFromRows(rows, 0));
      const N = batch.B * batch.T;
      zeroLoraGrads(ctx, adapter);
      model.forward(batch, { lora: adapter, train: true, dropout: 0.1, dropoutSeed: 1234 });
      const dLoss = ctx.pool.acquire(N * 4);
      maskedTokenMeanBackward(ctx, { labels: batch.labels, N, dMean: 1, dLoss });
      model.backward(batch, dLoss);
      grads.push(await readLoraWeights(ctx, adapter, 'grads'));
      ctx.pool.release(dLoss);
      batch.destroy();
      model.destroy();
    }
    for (const [key, kept] of grads[0]) {
      const recomputed = grads[1].get(key)!;
      expectClose(recomputed.A, kept.A, { atol: 0, rtol: 0 }, `dA ${key}`);
      expectClose(recomputed.B, kept.B, { atol: 0, rtol: 0 }, `dB ${key}`);
    }
  });
});
