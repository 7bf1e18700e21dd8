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

/**
 * A reward model's score head: transformers' `score` = Linear(hidden, 1, bias=False) on the final
 * normed hidden state, trained in full beside the LoRA (PEFT's modules_to_save for SEQ_CLS).
 */
export interface ScoreHead {
  weight: GPUBuffer; // (H) f32
  grad: GPUBuffer; // (H) f32, accumulated over micro-batches
  size: number; // H
}

export interface LoraAdapter {
  config: LoraConfig;
  /** layers[i][module] for every targeted module of layer i. */
  layers: Partial<Record<ModuleName, LoraModule>>[];
  /** The buffers every module's tensors live in. */
  chunks: LoraChunk[];
  /** Present on a reward model (PEFT task_type SEQ_CLS); the model itself never reads it. */
  score?: ScoreHead;
}
