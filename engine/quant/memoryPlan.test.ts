// QLoRA memory figures from the model spec: bytes per quantized parameter and the whole-run plan
// for the target shapes (Qwen2.5-0.5B and Llama-3.2-1B, r=16 on every linear layer, seq
// 512, batch 1, gradient checkpointing).
import { describe, expect, it } from 'vitest';
import { modelSpecFromConfig } from '../model/config.ts';
import { HEADER_WORDS, nf4BytesPerParam, nf4GpuBytes } from './gpuLayout.ts';
import { LINEAR_MODULES, linearShape, planTrainingMemory, type MemoryPlanOptions } from './memoryPlan.ts';

const GiB = 2 ** 30;
// Fields of the hub config.json files (Qwen/Qwen2.5-0.5B, meta-llama/Llama-3.2-1B).
const QWEN25_05B = modelSpecFromConfig({
  model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
  vocab_size: 151936, tie_word_embeddings: true, rope_theta: 1000000.0, rms_norm_eps: 1e-6, max_position_embeddings: 32768, torch_dtype: 'bfloat16',
});
const LLAMA32_1B = modelSpecFromConfig({
  model_type: 'llama', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64,
  vocab_size: 128256, tie_word_embeddings: true, rope_theta: 500000.0, rms_norm_eps: 1e-5, max_position_embeddings: 131072, torch_dtype: 'bfloat16',
  rope_scaling: { rope_type: 'llama3', factor: 32.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192 },
});
const RUN: MemoryPlanOptions = {
  loadIn4bit: true, doubleQuant: true, loraR: 16, loraTargetModules: LINEAR_MODULES, rows: 1, maxLength: 512, gradientCheckpointing: true, optim: 'adamw_torch', tableBytes: 2,
};

describe('QLoRA memory plan', () => {
  it('NF4 bytes per parameter: 0.5 + 1/64 + 4/16384 with double quantization, 0.5 + 4/64 without', () => {
    const n = 4864 * 896;
    // The header (HEADER_WORDS u32), then sections starting at multiples of 4 words (gpuLayout.ts).
    const words4 = (w: number) => Math.ceil(w / 4) * 4;
    expect(nf4GpuBytes(n, true)).toBe(4 * HEADER_WORDS + n / 2 + n / 64 + 4 * words4(Math.ceil(n / 64 / 256)) + 1024);
    expect(nf4GpuBytes(n, false)).toBe(4 * HEADER_WORDS + n / 2 + (4 * n) / 64);
    for (const spec of [QWEN25_05B, LLAMA32_1B]) {
      for (const m of LINEAR_MODULES) {
        const { outFeatures, inFeatures } = linearShape(spec, m);
        expect(nf4BytesPerParam(outFeatures, inFeatures, true), m).toBeLessThanOrEqual(0.53);
      }
    }
  });

  it('Qwen2.5-0.5B, r=16 on all linear layers, seq 512, batch 1, checkpointing: under 1 GiB with a 4-bit base', () => {
    const q = planTrainingMemory(QWEN25_05B, RUN);
    expect(q.linearParams).toBe(24 * (896 * 896 * 2 + 128 * 896 * 2 + 4864 * 896 * 3));
    expect(q.bytesPerLinearParam).toBeGreaterThan(0.5159);
    expect(q.bytesPerLinearParam).toBeLessThanOrEqual(0.53);
    expect(q.tableBytes).toBe(151936 * 896 * 2);
    expect(q.loraBytes).toBe(24 * 16 * (2 * (896 + 896) + 2 * (896 + 128) + 3 * (896 + 4864)) * 4 * 6);
    expect(q.totalBytes).toBeLessThanOrEqual(1.0 * GiB);
    const lora16 = planTrainingMemory(QWEN25_05B, { ...RUN, loadIn4bit: false });
    expect(lora16.linearBytes / q.linearBytes).toBeGreaterThan(3.7);
    expect(planTrainingMemory(QWEN25_05B, { ...RUN, doubleQuant: false }).bytesPerLinearParam).toBeCloseTo(0.5627, 3);
  });

  it('Llama-3.2-1B, same run: under 2 GiB with a 4-bit base', () => {
    const q = planTrainingMemory(LLAMA32_1B, RUN);
    expect(q.bytesPerLinearParam).toBeLessThanOrEqual(0.53);
    expect(q.totalBytes).toBeLessThanOrEqual(2.0 * GiB);
    expect(planTrainingMemory(LLAMA32_1B, { ...RUN, loadIn4bit: false }).totalBytes).toBeGreaterThan(q.totalBytes + 1.3 * GiB);
  });
});
