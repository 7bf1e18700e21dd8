// Whole-model checks against PyTorch float64 goldens (scripts/reference/llama_reference.py) on
// tiny random HF checkpoints with BF16 weights: eval loss with and without a non-zero PEFT adapter,
// LoRA gradients, logits through the KV-cache path, and greedy tokens.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testContext } from '../gpu/testing.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { readLoraWeights } from '../lora/adapter.ts';
import { peftKey } from '../lora/peft.ts';
import { maskedTokenMeanBackward } from '../ops/lossReduce.ts';
import { expectClose } from '../ops/testing.ts';
import { batchFromRows, uploadBatch } from './batch.ts';
import { KvCache, decodeStep, generate } from './generate.ts';
import { loadAdapter } from '../lora/load.ts';
import { loadModel } from './loadModel.ts';
import type { WeightType } from './weights.ts';

interface ModelGolden {
  model: string;
  adapter: string;
  rows: { ids: number[]; train_mask: number[] }[];
  num_loss_tokens: number;
  loss: { base: number; lora: number };
  logits: { row: number; positions: number[]; base: number[][]; lora: number[][] };
  lora_grads: Record<string, { shape: number[]; data: number[] }>;
  generation: { prompt_ids: number[]; max_new_tokens: number; eos_token_id: number; base: number[]; lora: number[] };
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const golden = (name: string): ModelGolden => JSON.parse(readFileSync(`${root}engine/model/fixtures/goldens/${name}.json`, 'utf8'));

for (const name of ['tiny-llama', 'tiny-llama-untied', 'tiny-qwen2']) {
  describe(`${name} vs PyTorch`, async () => {
    const ctx = await testContext();
    // 16-bit weights are packed pairs every adapter reads; bf16 keeps these BF16 checkpoints exact.
    const dtypes: WeightType[] = name === 'tiny-qwen2' ? ['f32', 'f16', 'bf16'] : ['f32', 'f16'];
    for (const dtype of dtypes) {
      it(`eval loss, LoRA gradients, logits and greedy tokens (${dtype} weights)`, { timeout: 600_000 }, async () => {
        const g = golden(name);
        const { model, tokenizer } = await loadModel(ctx, await openNodeFolder(root + g.model), { dtype });
        const adapter = await loadAdapter(ctx, model.spec, await openNodeFolder(root + g.adapter));
        const rows = g.rows.map((r) => ({ ids: r.ids, trainMask: r.train_mask }));
        const batch = uploadBatch(ctx, batchFromRows(rows, tokenizer.padTokenId ?? 0));
        expect(batch.countedTokens).toBe(g.num_loss_tokens);
        const mean = ctx.pool.acquire(8);

        // Loss without the adapter, then with it (training forward, so the backward can follow).
        model.forward(batch, { lora: null, train: false });
        model.meanLoss(batch, mean);
        const [base] = await ctx.readF32(mean, 2);
        expect(Math.abs(base - g.loss.base) / g.loss.base).toBeLessThan(1e-4);
        model.forward(batch, { lora: adapter, train: true });
        model.meanLoss(batch, mean);
        const [withLora, count] = await ctx.readF32(mean, 2);
        expect(count).toBe(g.num_loss_tokens);
        expect(Math.abs(withLora - g.loss.lora) / g.loss.lora).toBeLessThan(1e-4);
        expect(Math.abs(withLora - base)).toBeGreaterThan(1e-3); // the adapter really changes the model

        // LoRA gradients of the mean loss.
        const N = batch.B * batch.T;
        const dLoss = ctx.pool.acquire(N * 4);
        maskedTokenMeanBackward(ctx, { labels: batch.labels, N, dMean: 1, dLoss });
        model.backward(batch, dLoss);
        const grads = await readLoraWeights(ctx, adapter, 'grads');
        for (let l = 0; l < model.spec.numLayers; l++) {
          for (const m of adapter.config.targetModules) {
            const got = grads.get(`${l}.${m}`)!;
            for (const which of ['A', 'B'] as const) {
              const want = g.lora_grads[peftKey(l, m, which)].data;
              const scale = Math.max(...want.map(Math.abs));
              expectClose(got[which], want, { atol: 1e-3 * scale, rtol: 1e-2 }, `d lora_${which} ${l}.${m}`);
            }
          }
        }

        // Logits at a few positions of row 0, through the KV-cache prefill path.
        for (const [label, lora] of [['base', null], ['lora', adapter]] as const) {
          for (let k = 0; k < g.logits.positions.length; k++) {
            const p = g.logits.positions[k];
            const cache = new KvCache(ctx, model, p + 1);
            const logits = await decodeStep(model, cache, g.rows[g.logits.row].ids.slice(0, p + 1), lora);
            cache.destroy();
            expectClose(logits, g.logits[label][k], { atol: 2e-4, rtol: 1e-3 }, `${label} logits at ${p}`);
          }
        }

        // Greedy generation, token for token (prefill + one-token decode steps).
        for (const [label, lora] of [['base', null], ['lora', adapter]] as const) {
          const ids = await generate(model, g.generation.prompt_ids, { temperature: 0, maxNewTokens: g.generation.max_new_tokens, eosTokenIds: [g.generation.eos_token_id], lora });
          expect(ids, `${label} greedy tokens`).toEqual(g.generation[label]);
        }
        batch.destroy();
        model.destroy();
      });
    }
  });
}
