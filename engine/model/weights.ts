// GPU-resident weights of a Llama-family model (HF layout: linear weights are (out, in)).
// Linear weights and tables are stored 16-bit (packed pairs in u32, read by the kernels' operand
// fetches, ops/operands.ts) or f32; norms and biases stay f32 (tiny, and read once per row).
// Linears that share an input are one fused group, their weights concatenated along out at load:
//   qkv = [Wq; Wk; Wv] (n1 -> q|k|v)   o = Wo   gateUp = [Wg; Wu] (n2 -> gate|up)   down = Wd
// so each group is one GEMM (with its LoRA in the same dispatch, model/linear.ts).
// QLoRA (load_in_4bit): the linear groups are NF4 instead ('nf4': each member quantized on its own
// as bitsandbytes quantizes each nn.Linear, quant/gpuLayout.ts); tables, norms and biases as above.
import type { Binding } from '../gpu/context.ts';
import type { StorageKind } from '../ops/operands.ts';
import type { ModuleName } from './modules.ts';

export type WeightType = StorageKind;
/** How a linear group's weight is stored: a 16-bit/f32 matrix, or NF4 4-bit (frozen, no weight gradient). */
export type LinearWeightKind = WeightType | 'nf4';

export { LORA_MODULES, modulePath, type ModuleName } from './modules.ts';

/** The fused groups, in layer order; members in LORA_MODULES order. */
export const LINEAR_GROUPS = {
  qkv: ['q_proj', 'k_proj', 'v_proj'],
  o: ['o_proj'],
  gateUp: ['gate_proj', 'up_proj'],
  down: ['down_proj'],
} as const satisfies Record<string, readonly ModuleName[]>;
export type GroupName = keyof typeof LINEAR_GROUPS;
export const GROUP_NAMES = Object.keys(LINEAR_GROUPS) as GroupName[];

/** The group module m belongs to. */
export function groupOf(m: ModuleName): GroupName {
  return GROUP_NAMES.find((g) => (LINEAR_GROUPS[g] as readonly ModuleName[]).includes(m))!;
}

/** Fused nn.Linears sharing one input: y = x W^T + b with W = [W_1; W_2; ...] (outFeatures, inFeatures). */
export interface LinearGroup {
  name: GroupName;
  modules: readonly ModuleName[];
  weight: GPUBuffer; // (outFeatures, inFeatures) in `dtype` (nf4: the group buffer of quant/gpuLayout.ts)
  bias: GPUBuffer | null; // (outFeatures) f32
  /** Output column where each member starts, then outFeatures (members + 1 entries). */
  starts: number[];
  outFeatures: number;
  inFeatures: number;
  dtype: LinearWeightKind;
}

export interface LayerWeights {
  inputNorm: GPUBuffer; // (H) f32
  postNorm: GPUBuffer; // (H) f32
  /** Qwen3 per-head q/k RMSNorm weights, (headDim) f32. */
  qNorm: GPUBuffer | null;
  kNorm: GPUBuffer | null;
  groups: Record<GroupName, LinearGroup>;
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
  /** The linear groups are NF4 (QLoRA): read from a pre-quantized checkpoint or quantized on load. null: 16-bit. */
  quantization: WeightsQuantization | null;
}

export interface WeightsQuantization {
  /** The checkpoint was saved in 4-bit (bitsandbytes): read as saved, whatever load_in_4bit said. */
  preQuantized: boolean;
  /** bnb_4bit_use_double_quant in effect. */
  doubleQuant: boolean;
}

/** Bytes of the weight buffers (what `weight_bytes_per_param` divides by the parameter count). */
export function weightBufferBytes(w: ModelWeights): number {
  return w.buffers.reduce((s, b) => s + b.size, 0);
}

export function destroyWeights(w: ModelWeights): void {
  for (const b of w.buffers) b.destroy();
  w.buffers.length = 0;
}
