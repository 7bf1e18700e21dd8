// The linear modules of a Llama-family decoder layer that LoRA can target, their Hugging Face
// parameter paths and their (in, out) features. Pure: no GPU code, so the recipe description
// (engine/recipe/) and the studio can list the modules too.
import type { ModelSpec } from './config.ts';

export const LORA_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type ModuleName = (typeof LORA_MODULES)[number];

/** HF parameter names of layer `i`'s linear `m` (e.g. model.layers.3.self_attn.q_proj). */
export function modulePath(layer: number, m: ModuleName): string {
  const group = m === 'gate_proj' || m === 'up_proj' || m === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${group}.${m}`;
}

/** (in, out) features of module m in this architecture (nn.Linear weight is (out, in)). */
export function moduleShape(spec: ModelSpec, m: ModuleName): { inFeatures: number; outFeatures: number } {
  const q = spec.numHeads * spec.headDim;
  const kv = spec.numKvHeads * spec.headDim;
  switch (m) {
    case 'q_proj':
      return { inFeatures: spec.hiddenSize, outFeatures: q };
    case 'k_proj':
    case 'v_proj':
      return { inFeatures: spec.hiddenSize, outFeatures: kv };
    case 'o_proj':
      return { inFeatures: q, outFeatures: spec.hiddenSize };
    case 'gate_proj':
    case 'up_proj':
      return { inFeatures: spec.hiddenSize, outFeatures: spec.intermediateSize };
    case 'down_proj':
      return { inFeatures: spec.intermediateSize, outFeatures: spec.hiddenSize };
  }
}
