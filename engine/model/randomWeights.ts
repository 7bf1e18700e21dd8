// Random weights for a ModelSpec, straight on the GPU: for benchmarks and tests of model shapes
// we have no checkpoint for (e.g. a SmolLM2-135M-shaped model). Linear weights ~ U(-1/sqrt(in),
// 1/sqrt(in)), norms 1, embeddings ~ U(-0.05, 0.05); one row chunk per binding-sized slab.
// With fourBit, the linear groups are NF4 (each member's bf16-rounded values quantized as
// bitsandbytes does), as a QLoRA load of such a checkpoint would give.
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { moduleShape } from './modules.ts';
import { elementBytes } from '../ops/operands.ts';
import { seededUniform } from '../util/random.ts';
import type { ModelSpec } from './config.ts';
import { toStorage, uploadGroup, uploadNf4Group } from './groupWeights.ts';
import { bf16ToF32, f32ToBf16 } from '../io/dtype.ts';
import { quantizeWeight } from '../quant/nf4Weight.ts';
import { GROUP_NAMES, LINEAR_GROUPS, type GroupName, type LayerWeights, type LinearGroup, type ModelWeights, type RowChunk, type WeightType } from './weights.ts';

export function randomWeights(ctx: GpuContext, spec: ModelSpec, dtype: WeightType, seed = 1, fourBit: { doubleQuant: boolean } | null = null): ModelWeights {
  const rand = seededUniform(seed);
  const buffers: GPUBuffer[] = [];
  const values = (n: number, bound: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * bound;
    return a;
  };
  const put = (a: Float32Array | Uint16Array) => {
    const b = upload(ctx.device, a);
    buffers.push(b);
    return b;
  };
  const ones = (n: number) => put(new Float32Array(n).fill(1));
  const table = (rows: number, cols: number): RowChunk[] => {
    const maxRows = Math.max(1, Math.floor(Math.min(64 << 20, ctx.caps.maxStorageBufferBindingSize) / (cols * elementBytes(dtype))));
    const chunks: RowChunk[] = [];
    for (let r = 0; r < rows; r += maxRows) {
      const n = Math.min(maxRows, rows - r);
      chunks.push({ weight: put(toStorage(values(n * cols, 0.05), dtype)), rowStart: r, rows: n });
    }
    return chunks;
  };
  const layers: LayerWeights[] = Array.from({ length: spec.numLayers }, () => {
    const groups = {} as Record<GroupName, LinearGroup>;
    for (const g of GROUP_NAMES) {
      let inFeatures = 0;
      const parts = LINEAR_GROUPS[g].map((m) => {
        const shape = moduleShape(spec, m);
        inFeatures = shape.inFeatures;
        const bias = g === 'qkv' && spec.attentionBias ? values(shape.outFeatures, 0.02) : null;
        return { weight: values(shape.outFeatures * shape.inFeatures, 1 / Math.sqrt(shape.inFeatures)), outFeatures: shape.outFeatures, bias };
      });
      if (fourBit) {
        const nf4 = parts.map((p) => ({ weight: quantizeWeight(bf16ToF32(f32ToBf16(p.weight)), [p.outFeatures, inFeatures], 'BF16', fourBit), bias: p.bias }));
        groups[g] = uploadNf4Group(ctx, g, nf4, buffers);
      } else {
        groups[g] = uploadGroup(ctx, g, parts.map((p) => ({ ...p, weight: toStorage(p.weight, dtype) })), inFeatures, dtype, buffers);
      }
    }
    return {
      inputNorm: ones(spec.hiddenSize),
      postNorm: ones(spec.hiddenSize),
      qNorm: spec.qkNorm ? ones(spec.headDim) : null,
      kNorm: spec.qkNorm ? ones(spec.headDim) : null,
      groups,
    };
  });
  const embed = table(spec.vocabSize, spec.hiddenSize);
  const lmHead = spec.tieWordEmbeddings ? embed : table(spec.vocabSize, spec.hiddenSize);
  return { embed, embedDtype: dtype, layers, finalNorm: ones(spec.hiddenSize), lmHead, lmHeadDtype: dtype, buffers, quantization: fourBit ? { preQuantized: false, doubleQuant: fourBit.doubleQuant } : null };
}
