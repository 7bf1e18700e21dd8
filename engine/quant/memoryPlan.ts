// GPU bytes a QLoRA training run needs, from the model spec alone (before anything is loaded), so
// the memory estimate, the studio's "4-bit base" switch and the bench can compare 4-bit and
// 16-bit bases:
//   linear weights   every q/k/v/o/gate/up/down_proj: NF4 (engine/quant/gpuLayout.ts) or 16-bit
//   tables           embed_tokens (V, H) and an untied lm_head: 16-bit (f16 storage) or f32
//   norms, biases    f32 (tiny)
//   LoRA             r·(in + out) f32 per targeted module and layer, × (A, B, dA, dB, + AdamW m, v)
//   activations      what LlamaModel.activationBytes counts (engine/model/model.ts): one layer's
//                    saved tensors (all layers without checkpointing; with it, one layer plus each
//                    layer's input), 4 residual-stream buffers and per-token loss/lse
//   logits scratch   the LM-head cross-entropy's N x Vc f32 block (64 MiB at most)
import { activationBytes } from '../model/activations.ts';
import type { ModelSpec } from '../model/config.ts';
import { DEFAULT_LOGITS_BUDGET_BYTES } from '../ops/crossEntropy.ts';
import { nf4GpuBytes } from './gpuLayout.ts';

export const LINEAR_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LinearModule = (typeof LINEAR_MODULES)[number];

/** (out, in) of a decoder linear. */
export function linearShape(spec: ModelSpec, m: LinearModule): { outFeatures: number; inFeatures: number } {
  const q = spec.numHeads * spec.headDim;
  const kv = spec.numKvHeads * spec.headDim;
  switch (m) {
    case 'q_proj':
      return { outFeatures: q, inFeatures: spec.hiddenSize };
    case 'k_proj':
    case 'v_proj':
      return { outFeatures: kv, inFeatures: spec.hiddenSize };
    case 'o_proj':
      return { outFeatures: spec.hiddenSize, inFeatures: q };
    case 'gate_proj':
    case 'up_proj':
      return { outFeatures: spec.intermediateSize, inFeatures: spec.hiddenSize };
    case 'down_proj':
      return { outFeatures: spec.hiddenSize, inFeatures: spec.intermediateSize };
  }
}

export interface MemoryPlanOptions {
  /** true: NF4 linear weights (QLoRA); false: 16-bit (plain LoRA). */
  loadIn4bit: boolean;
  /** bnb_4bit_use_double_quant. */
  doubleQuant: boolean;
  loraR: number;
  loraTargetModules: readonly LinearModule[];
  /** Rows of one micro-batch (per_device_train_batch_size; x2 for DPO's chosen + rejected). */
  rows: number;
  maxLength: number;
  gradientCheckpointing: boolean;
  /** AdamW keeps m and v: 6 copies of each LoRA matrix; SGD 4. */
  optim: 'adamw_torch' | 'sgd';
  /** Bytes per element of the embedding / LM head and of 16-bit linear weights: 2 with shader-f16, 4 without. */
  tableBytes: 2 | 4;
}

export interface MemoryPlan {
  linearParams: number;
  linearBytes: number;
  /** linearBytes / linearParams. */
  bytesPerLinearParam: number;
  tableBytes: number;
  normAndBiasBytes: number;
  loraBytes: number;
  activationBytes: number;
  logitsScratchBytes: number;
  totalBytes: number;
}

export function planTrainingMemory(spec: ModelSpec, o: MemoryPlanOptions): MemoryPlan {
  let linearParams = 0;
  let linearBytes = 0;
  let biases = 0;
  for (const m of LINEAR_MODULES) {
    const { outFeatures, inFeatures } = linearShape(spec, m);
    const n = outFeatures * inFeatures;
    linearParams += n * spec.numLayers;
    linearBytes += (o.loadIn4bit ? nf4GpuBytes(n, o.doubleQuant) : n * o.tableBytes) * spec.numLayers;
    const hasBias = m === 'o_proj' ? spec.oProjBias : m === 'q_proj' || m === 'k_proj' || m === 'v_proj' ? spec.attentionBias : spec.mlpBias;
    if (hasBias) biases += outFeatures * spec.numLayers;
  }
  const norms = spec.numLayers * (2 * spec.hiddenSize + (spec.qkNorm ? 2 * spec.headDim : 0)) + spec.hiddenSize;
  const tableBytes = spec.vocabSize * spec.hiddenSize * o.tableBytes * (spec.tieWordEmbeddings ? 1 : 2);
  let loraFloats = 0;
  for (const m of o.loraTargetModules) {
    const { outFeatures, inFeatures } = linearShape(spec, m);
    loraFloats += o.loraR * (inFeatures + outFeatures) * spec.numLayers;
  }
  const loraBytes = loraFloats * 4 * (o.optim === 'adamw_torch' ? 6 : 4);
  const N = o.rows * o.maxLength;
  const perLayer = activationBytes({
    B: o.rows,
    T: o.maxLength,
    H: spec.hiddenSize,
    I: spec.intermediateSize,
    nHeads: spec.numHeads,
    nKvHeads: spec.numKvHeads,
    headDim: spec.headDim,
    eps: spec.rmsNormEps,
    qkNorm: spec.qkNorm,
  });
  const stream = 4 * N * spec.hiddenSize;
  const layers = o.gradientCheckpointing ? perLayer + stream * spec.numLayers : perLayer * spec.numLayers;
  const activations = layers + stream * 4 + 4 * N * 4;
  const logitsScratchBytes = Math.min(DEFAULT_LOGITS_BUDGET_BYTES, N * spec.vocabSize * 4);
  const normAndBiasBytes = 4 * (norms + biases);
  const totalBytes = linearBytes + tableBytes + normAndBiasBytes + loraBytes + activations + logitsScratchBytes;
  return {
    linearParams,
    linearBytes,
    bytesPerLinearParam: linearBytes / linearParams,
    tableBytes,
    normAndBiasBytes,
    loraBytes,
    activationBytes: activations,
    logitsScratchBytes,
    totalBytes,
  };
}
