// What the model needs to know of a LoRA adapter to run it (peft/tuners/lora/layer.py):
//   y = base(x) + B(A(dropout(x))) * scale,  scale = lora_alpha / r  (rsLoRA: lora_alpha / sqrt(r))
// engine/lora/ creates, loads, saves and merges adapters of this shape; the model only runs them.
import type { ModuleName } from './modules.ts';

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
