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

export interface LoraModule {
  A: GPUBuffer; // (r, in) f32
  B: GPUBuffer; // (out, r) f32
  dA: GPUBuffer; // (r, in) f32, gradient (accumulated over micro-batches)
  dB: GPUBuffer; // (out, r) f32
  r: number;
  inFeatures: number;
  outFeatures: number;
  scale: number;
}

export interface LoraAdapter {
  config: LoraConfig;
  /** layers[i][module] for every targeted module of layer i. */
  layers: Partial<Record<ModuleName, LoraModule>>[];
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
