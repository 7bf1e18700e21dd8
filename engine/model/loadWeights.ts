// Streams a checkpoint's tensors to the GPU: BF16/F16/F32 on disk -> f16 (when the adapter has
// shader-f16) or f32 for linear weights and embeddings, f32 for norms and biases. Big tables
// (embedding, LM head) are uploaded in row chunks, one buffer each, that fit a storage binding, so
// Qwen2.5's 151936 x 896 embedding is split rather than refused. Only one chunk is ever held on
// the CPU at a time.
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import type { Checkpoint } from '../io/checkpoint.ts';
import { DTYPE_SIZE, bytesToF32, f32ToF16, isFloatDtype } from '../io/dtype.ts';
import { CheckpointError } from '../io/errors.ts';
import { assertFiniteWeights } from '../io/finiteCheck.ts';
import type { ModelSpec } from './config.ts';
import { LORA_MODULES, modulePath, type LayerWeights, type Linear, type ModelWeights, type ModuleName, type RowChunk, type WeightType } from './weights.ts';
import { moduleShape } from './modules.ts';

export interface LoadProgress {
  tensor: string;
  loadedBytes: number;
  totalBytes: number;
}

export interface LoadWeightsOptions {
  /** Storage type of linear weights and tables; default f16 where the device has shader-f16. */
  dtype?: WeightType;
  onProgress?: (p: LoadProgress) => void;
  /** Largest single upload chunk (tests lower it to exercise splitting). */
  maxChunkBytes?: number;
}

export async function loadWeights(ctx: GpuContext, spec: ModelSpec, ckpt: Checkpoint, opts: LoadWeightsOptions = {}): Promise<ModelWeights> {
  const dtype: WeightType = opts.dtype ?? (ctx.caps.f16 ? 'f16' : 'f32');
  const buffers: GPUBuffer[] = [];
  const names = expectedTensorNames(spec);
  const totalBytes = names.reduce((s, n) => s + byteLength(ckpt, n), 0);
  let loadedBytes = 0;
  const done = (name: string) => {
    loadedBytes += byteLength(ckpt, name);
    opts.onProgress?.({ tensor: name, loadedBytes, totalBytes });
  };
  const maxChunk = Math.min(opts.maxChunkBytes ?? 64 << 20, ctx.caps.maxStorageBufferBindingSize, ctx.caps.maxBufferSize);

  const vector = async (name: string, length: number): Promise<GPUBuffer> => {
    checkShape(ckpt, name, [length]);
    const b = upload(ctx.device, await ckpt.readTensorF32(name), undefined, name);
    buffers.push(b);
    done(name);
    return b;
  };
  const matrix = async (name: string, rows: number, cols: number): Promise<RowChunk[]> => {
    checkShape(ckpt, name, [rows, cols]);
    const t = ckpt.tensor(name);
    const srcSize = DTYPE_SIZE[t.dtype];
    const outSize = dtype === 'f16' ? 2 : 4;
    const perChunk = Math.max(1, Math.floor(maxChunk / (cols * outSize)));
    const chunks: RowChunk[] = [];
    for (let r = 0; r < rows; r += perChunk) {
      const n = Math.min(perChunk, rows - r);
      const bytes = await ckpt.readTensorBytes(name, r * cols * srcSize, n * cols * srcSize);
      if (!isFloatDtype(t.dtype)) throw new CheckpointError(t.file, `tensor ${name} is ${t.dtype}`, 'Model weights must be BF16, F16 or F32.');
      const f32 = bytesToF32(bytes, t.dtype);
      assertFiniteWeights(f32, name, t.file, r * cols);
      const b = upload(ctx.device, dtype === 'f16' ? f32ToF16(f32) : f32, undefined, `${name}[${r}:${r + n}]`);
      buffers.push(b);
      chunks.push({ weight: b, rowStart: r, rows: n });
    }
    done(name);
    return chunks;
  };
  const linear = async (l: number, m: ModuleName): Promise<Linear> => {
    const { inFeatures, outFeatures } = moduleShape(spec, m);
    const base = modulePath(l, m);
    const chunks = await matrix(`${base}.weight`, outFeatures, inFeatures);
    if (chunks.length !== 1) {
      throw new CheckpointError('', `${base}.weight (${outFeatures} x ${inFeatures}) does not fit one GPU binding`, 'This model is too large for this GPU.');
    }
    const hasBias = biasExpected(spec, m);
    const bias = hasBias ? await vector(`${base}.bias`, outFeatures) : null;
    return { weight: chunks[0].weight as GPUBuffer, bias, outFeatures, inFeatures, dtype };
  };

  const embed = await matrix('model.embed_tokens.weight', spec.vocabSize, spec.hiddenSize);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < spec.numLayers; l++) {
    const p = `model.layers.${l}`;
    const linears = {} as Record<ModuleName, Linear>;
    for (const m of LORA_MODULES) linears[m] = await linear(l, m);
    layers.push({
      inputNorm: await vector(`${p}.input_layernorm.weight`, spec.hiddenSize),
      postNorm: await vector(`${p}.post_attention_layernorm.weight`, spec.hiddenSize),
      qNorm: spec.qkNorm ? await vector(`${p}.self_attn.q_norm.weight`, spec.headDim) : null,
      kNorm: spec.qkNorm ? await vector(`${p}.self_attn.k_norm.weight`, spec.headDim) : null,
      linears,
    });
  }
  const finalNorm = await vector('model.norm.weight', spec.hiddenSize);
  const lmHead = spec.tieWordEmbeddings ? embed : await matrix('lm_head.weight', spec.vocabSize, spec.hiddenSize);
  return { embed, embedDtype: dtype, layers, finalNorm, lmHead, lmHeadDtype: dtype, buffers };
}

function biasExpected(spec: ModelSpec, m: ModuleName): boolean {
  if (m === 'q_proj' || m === 'k_proj' || m === 'v_proj') return spec.attentionBias;
  if (m === 'o_proj') return spec.oProjBias;
  return spec.mlpBias;
}

/** Every tensor name the spec needs, in load order (for progress totals and checks). */
export function expectedTensorNames(spec: ModelSpec): string[] {
  const names = ['model.embed_tokens.weight'];
  for (let l = 0; l < spec.numLayers; l++) {
    for (const m of LORA_MODULES) {
      names.push(`${modulePath(l, m)}.weight`);
      if (biasExpected(spec, m)) names.push(`${modulePath(l, m)}.bias`);
    }
    names.push(`model.layers.${l}.input_layernorm.weight`, `model.layers.${l}.post_attention_layernorm.weight`);
    if (spec.qkNorm) names.push(`model.layers.${l}.self_attn.q_norm.weight`, `model.layers.${l}.self_attn.k_norm.weight`);
  }
  names.push('model.norm.weight');
  if (!spec.tieWordEmbeddings) names.push('lm_head.weight');
  return names;
}

function byteLength(ckpt: Checkpoint, name: string): number {
  const t = ckpt.tensor(name);
  return t.end - t.begin;
}

function checkShape(ckpt: Checkpoint, name: string, shape: number[]): void {
  const t = ckpt.tensor(name);
  if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
    throw new CheckpointError(t.file, `tensor ${name} has shape [${t.shape.join(', ')}], config.json implies [${shape.join(', ')}]`, 'config.json does not match the weights; re-download the model.');
  }
}
