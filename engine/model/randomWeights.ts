// Random weights for a ModelSpec, straight on the GPU: for benchmarks and tests of model shapes
// we have no checkpoint for (e.g. a SmolLM2-135M-shaped model). Linear weights ~ U(-1/sqrt(in),
// 1/sqrt(in)), norms 1, embeddings ~ U(-0.05, 0.05); one row chunk per binding-sized slab.
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { f32ToF16 } from '../io/dtype.ts';
import { moduleShape } from './modules.ts';
import { seededUniform } from '../util/random.ts';
import type { ModelSpec } from './config.ts';
import { LORA_MODULES, type LayerWeights, type Linear, type ModelWeights, type ModuleName, type RowChunk, type WeightType } from './weights.ts';

export function randomWeights(ctx: GpuContext, spec: ModelSpec, dtype: WeightType, seed = 1): ModelWeights {
  const rand = seededUniform(seed);
  const buffers: GPUBuffer[] = [];
  const values = (n: number, bound: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * bound;
    return a;
  };
  const put = (a: Float32Array, typed: WeightType) => {
    const b = upload(ctx.device, typed === 'f16' ? f32ToF16(a) : a);
    buffers.push(b);
    return b;
  };
  const ones = (n: number) => put(new Float32Array(n).fill(1), 'f32');
  const table = (rows: number, cols: number): RowChunk[] => {
    const maxRows = Math.max(1, Math.floor(Math.min(64 << 20, ctx.caps.maxStorageBufferBindingSize) / (cols * (dtype === 'f16' ? 2 : 4))));
    const chunks: RowChunk[] = [];
    for (let r = 0; r < rows; r += maxRows) {
      const n = Math.min(maxRows, rows - r);
      chunks.push({ weight: put(values(n * cols, 0.05), dtype), rowStart: r, rows: n });
    }
    return chunks;
  };
  const layers: LayerWeights[] = Array.from({ length: spec.numLayers }, () => {
    const linears = {} as Record<ModuleName, Linear>;
    for (const m of LORA_MODULES) {
      const { inFeatures, outFeatures } = moduleShape(spec, m);
      const bias = (m === 'q_proj' || m === 'k_proj' || m === 'v_proj') && spec.attentionBias ? put(values(outFeatures, 0.02), 'f32') : null;
      linears[m] = { weight: put(values(outFeatures * inFeatures, 1 / Math.sqrt(inFeatures)), dtype), bias, outFeatures, inFeatures, dtype };
    }
    return {
      inputNorm: ones(spec.hiddenSize),
      postNorm: ones(spec.hiddenSize),
      qNorm: spec.qkNorm ? ones(spec.headDim) : null,
      kNorm: spec.qkNorm ? ones(spec.headDim) : null,
      linears,
    };
  });
  const embed = table(spec.vocabSize, spec.hiddenSize);
  const lmHead = spec.tieWordEmbeddings ? embed : table(spec.vocabSize, spec.hiddenSize);
  return { embed, embedDtype: dtype, layers, finalNorm: ones(spec.hiddenSize), lmHead, lmHeadDtype: dtype, buffers };
}
