// The SmolLM2-135M shape (from its config.json) and the scaled-down variant used on CPU adapters,
// plus a random model of that shape with a LoRA adapter (r = 8 on all linear layers).
import type { GpuContext } from '../../engine/gpu/context.ts';
import { createLoraAdapter } from '../../engine/lora/adapter.ts';
import type { LoraAdapter } from '../../engine/lora/types.ts';
import { modelSpecFromConfig, type ModelSpec } from '../../engine/model/config.ts';
import { LlamaModel } from '../../engine/model/model.ts';
import { randomWeights } from '../../engine/model/randomWeights.ts';
import { LORA_MODULES, type WeightType } from '../../engine/model/weights.ts';
import type { BenchEnv } from './env.ts';

export const SMOLLM2_135M_CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  vocab_size: 49152,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  max_position_embeddings: 8192,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  bos_token_id: 1,
  eos_token_id: 2,
  torch_dtype: 'bfloat16',
};

export interface BenchModel {
  spec: ModelSpec;
  model: LlamaModel;
  adapter: LoraAdapter;
  dtype: WeightType;
  seq: number;
  /** Bytes of weights, and of LoRA A/B/dA/dB. */
  weightBytes: number;
  loraBytes: number;
  layersNote: string;
}

/**
 * Full shape on a real GPU; 2 layers and seq 64 on a CPU adapter or with --quick (reported).
 * `layers` overrides the layer count (the scaling section's CPU runs, dispatches per layer). Weights are bf16
 * (what SmolLM2's BF16 checkpoint loads as on every adapter), f32 with --no-f16.
 */
export function benchModel(env: BenchEnv, checkpointing = false, layers?: number): BenchModel {
  const { ctx, options } = env;
  const small = options.quick || ctx.caps.isCpu;
  const full = modelSpecFromConfig(SMOLLM2_135M_CONFIG);
  const spec: ModelSpec = { ...full, numLayers: layers ?? (small ? 2 : full.numLayers) };
  const seq = small ? 64 : 256;
  const dtype: WeightType = options.f16 === false ? 'f32' : 'bf16';
  const weights = randomWeights(ctx, spec, dtype);
  const adapter = createLoraAdapter(ctx, spec, { r: 8, loraAlpha: 16, loraDropout: 0, targetModules: [...LORA_MODULES], useRslora: false }, 1);
  const weightBytes = weights.buffers.reduce((s, b) => s + b.size, 0);
  const loraBytes = adapter.chunks.reduce((s, c) => s + c.params.size + c.grads.size, 0);
  return {
    spec,
    model: new LlamaModel(ctx, spec, weights, { gradientCheckpointing: checkpointing }),
    adapter,
    dtype,
    seq,
    weightBytes,
    loraBytes,
    layersNote:
      spec.numLayers < full.numLayers
        ? `SmolLM2-135M widths with ${spec.numLayers} of 30 layers, seq ${seq}${small ? ' (CPU adapter or --quick)' : ''}`
        : `SmolLM2-135M, all 30 layers, seq ${seq}`,
  };
}

export function randomTokens(n: number, vocab: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  });
}

export function destroyBenchModel(ctx: GpuContext, m: BenchModel): void {
  void ctx;
  m.model.destroy();
  for (const b of m.model.weights.buffers) b.destroy();
}
