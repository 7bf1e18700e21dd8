// QLoRA models against the float64 goldens of scripts/reference/nf4_reference.py (nf4_golden.json
// eval_loss): tiny-llama and tiny-qwen2 quantized on load (with and without double quantization),
// and the pre-quantized tiny-llama-bnb-nf4 checkpoint read as saved; eval loss without and with the
// models' PEFT LoRA fixture, within 1e-4. The reference dequantizes every decoder linear exactly as
// bitsandbytes does and runs the model in float64.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { loadAdapter } from '../lora/load.ts';
import { batchFromRows, uploadBatch } from '../model/batch.ts';
import { loadModel, type LoadModelOptions } from '../model/loadModel.ts';
import { loadNf4Golden, NF4_FIXTURES } from './testing.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const golden = loadNf4Golden();
const rows = (JSON.parse(readFileSync(`${root}engine/model/fixtures/goldens/tiny-llama.json`, 'utf8')).rows as { ids: number[]; train_mask: number[] }[]).map((r) => ({
  ids: r.ids,
  trainMask: r.train_mask,
}));

/** Eval loss of the model in `folder` loaded with `opts`, without and with `adapterFolder`. */
async function losses(ctx: GpuContext, folder: string, adapterFolder: string, opts: LoadModelOptions, tokens: number) {
  const { model, tokenizer } = await loadModel(ctx, await openNodeFolder(root + folder), opts);
  const adapter = await loadAdapter(ctx, model.spec, await openNodeFolder(root + adapterFolder));
  const batch = uploadBatch(ctx, batchFromRows(rows, tokenizer.padTokenId ?? 0));
  const mean = ctx.pool.acquire(8);
  const out: number[] = [];
  for (const lora of [null, adapter]) {
    model.forward(batch, { lora, train: false });
    model.meanLoss(batch, mean);
    const [loss, count] = await ctx.readF32(mean, 2);
    expect(count).toBe(tokens);
    out.push(loss);
  }
  const quantization = model.weights.quantization;
  batch.destroy();
  model.destroy();
  return { base: out[0], lora: out[1], quantization };
}

describe('QLoRA eval loss vs the NF4 goldens', async () => {
  const ctx = await testContext();
  for (const name of ['tiny-llama', 'tiny-qwen2'] as const) {
    it(`${name} quantized on load, with and without double quantization, without and with LoRA`, { timeout: 600_000 }, async () => {
      for (const doubleQuant of [true, false]) {
        const want = golden.eval_loss[name][doubleQuant ? 'double_quant' : 'no_double_quant'];
        const got = await losses(ctx, `engine/model/fixtures/${name}`, `engine/model/fixtures/${name}-lora`, { loadIn4bit: true, doubleQuant }, want.num_loss_tokens);
        expect(got.quantization).toEqual({ preQuantized: false, doubleQuant });
        expect(Math.abs(got.base - want.base), `${name} dq=${doubleQuant} base ${got.base} vs ${want.base}`).toBeLessThan(1e-4);
        expect(Math.abs(got.lora - want.lora), `${name} dq=${doubleQuant} lora ${got.lora} vs ${want.lora}`).toBeLessThan(1e-4);
      }
    });
  }

  it('the pre-quantized tiny-llama-bnb-nf4 checkpoint (double quantization) is read as saved, whatever load_in_4bit says', { timeout: 600_000 }, async () => {
    const want = golden.eval_loss['tiny-llama'].double_quant;
    // load_in_4bit false and double quant off: the file's quantization_config decides.
    const got = await losses(ctx, `${NF4_FIXTURES}/tiny-llama-bnb-nf4`, 'engine/model/fixtures/tiny-llama-lora', { loadIn4bit: false, doubleQuant: false }, want.num_loss_tokens);
    expect(got.quantization).toEqual({ preQuantized: true, doubleQuant: true });
    expect(Math.abs(got.base - want.base), `base ${got.base} vs ${want.base}`).toBeLessThan(1e-4);
    expect(Math.abs(got.lora - want.lora), `lora ${got.lora} vs ${want.lora}`).toBeLessThan(1e-4);
  });
});
