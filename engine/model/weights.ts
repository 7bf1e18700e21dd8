// GPU-resident weights of a Llama-family model (HF layout: linear weights are (out, in)).
// Frozen base weights are stored in f16 where the adapter has shader-f16, else f32; norms and
// biases stay f32 (tiny, and read once per row).
import type { Binding } from '../gpu/context.ts';
import type { ModuleName } from './modules.ts';

export type WeightType = 'f32' | 'f16';

/** nn.Linear: y = x W^T + b. weight (outFeatures, inFeatures). */
export interface Linear {
  weight: GPUBuffer;
  bias: GPUBuffer | null;
  outFeatures: number;
  inFeatures: number;
  dtype: WeightType;
}

export { LORA_MODULES, modulePath, type ModuleName } from './modules.ts';

export interface LayerWeights {
  inputNorm: GPUBuffer; // (H) f32
  postNorm: GPUBuffer; // (H) f32
  /** Qwen3 per-head q/k RMSNorm weights, (headDim) f32. */
  qNorm: GPUBuffer | null;
  kNorm: GPUBuffer | null;
  linears: Record<ModuleName, Linear>;
}

/** Rows [rowStart, rowStart + rows) of a (V, H) table, bound as one slice within the binding limit. */
export interface RowChunk {
  weight: Binding;
  rowStart: number;
  rows: number;
}

export interface ModelWeights {
  embed: RowChunk[]; // (V, H) in row chunks
  embedDtype: WeightType;
  layers: LayerWeights[];
  finalNorm: GPUBuffer; // (H) f32
  lmHead: RowChunk[]; // (V, H); the embedding's chunks when tied
  lmHeadDtype: WeightType;
  /** Every buffer owned, for destroy(). */
  buffers: GPUBuffer[];
}

export function destroyWeights(w: ModelWeights): void {
  for (const b of w.buffers) b.destroy();
  w.buffers.length = 0;
}
