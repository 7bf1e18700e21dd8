// LoRA adapters the PEFT way (peft/tuners/lora/layer.py):
//   y = base(x) + B(A(dropout(x))) * scale,  scale = lora_alpha / r  (rsLoRA: lora_alpha / sqrt(r))
// A (r, in) Kaiming-uniform, B (out, r) zero; only A and B are trained.
import type { ModuleName } from '../model/weights.ts';

export interface LoraConfig {
  r: number;
  loraAlpha: number;
  loraDropout: number;
  targetModules: ModuleName[];
  useRslora: boolean;
}

/**
 * One module's LoRA tensors: slices of its adapter chunk (lora/adapter.ts has the layout).
 * A (r, in) at params[aOffset..], B (out, r) at params[bOffset..], f32; their gradients (accumulated
 * over micro-batches) at the same offsets of `grads`.
 */
export interface LoraModule {
  params: GPUBuffer;
  grads: GPUBuffer;
  aOffset: number;
  bOffset: number;
  r: number;
  inFeatures: number;
  outFeatures: number;
  scale: number;
}

/** A flat f32 buffer of LoRA parameters (several layers) and its gradient twin, `size` floats each. */
export interface LoraChunk {
  params: GPUBuffer;
  grads: GPUBuffer;
  size: number;
}

export interface LoraAdapter {
  config: LoraConfig;
  /** layers[i][module] for every targeted module of layer i. */
  layers: Partial<Record<ModuleName, LoraModule>>[];
  /** The buffers every module's tensors live in. */
  chunks: LoraChunk[];
}

export function loraScale(config: Pick<LoraConfig, 'r' | 'loraAlpha' | 'useRslora'>): number {
  return config.useRslora ? config.loraAlpha / Math.sqrt(config.r) : config.loraAlpha / config.r;
}

/** Every trainable tensor with its PEFT-relative name, in a stable order (layer, module, A then B). */
export function loraParameters(adapter: LoraAdapter): { name: string; module: LoraModule; which: 'A' | 'B' }[] {
  const out: { name: string; module: LoraModule; which: 'A' | 'B' }[] = [];
  adapter.layers.forEach((mods, i) => {
    for (const m of adapter.config.targetModules) {
      const mod = mods[m];
      if (!mod) continue;
      out.push({ name: `${i}.${m}.A`, module: mod, which: 'A' });
      out.push({ name: `${i}.${m}.B`, module: mod, which: 'B' });
    }
  });
  return out;
}
