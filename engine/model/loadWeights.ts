// Streams a checkpoint's tensors to the GPU. Linear weights and tables are stored 16-bit by default
// (bf16 for BF16 checkpoints, so their values stay exact; f16 for F16 and F32 ones), as packed
// pairs every adapter reads (no shader-f16 needed), or f32 when asked; norms and biases are f32.
// Linears sharing an input are concatenated into one group (weights.ts). Big tables (embedding,
// LM head) are uploaded in row chunks, one buffer each, that fit a storage binding, so Qwen2.5's
// 151936 x 896 embedding is split rather than refused. One group or chunk at a time is held on the CPU.
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import type { Checkpoint } from '../io/checkpoint.ts';
import { DTYPE_SIZE, bytesToF32, isFloatDtype } from '../io/dtype.ts';
import { CheckpointError } from '../io/errors.ts';
import { elementBytes } from '../ops/operands.ts';
import type { ModelSpec } from './config.ts';
import { toStorage, uploadGroup, type StorageArray } from './groupWeights.ts';
import { GROUP_NAMES, LINEAR_GROUPS, LORA_MODULES, modulePath, type GroupName, type LayerWeights, type LinearGroup, type ModelWeights, type ModuleName, type RowChunk, type WeightType } from './weights.ts';
import { moduleShape } from './modules.ts';
import { assertFiniteWeights } from '../io/finiteCheck.ts';

export interface LoadProgress {
  tensor: string;
  loadedBytes: number;
  totalBytes: number;
}

export interface LoadWeightsOptions {
  /** Storage type of linear weights and tables; default: the checkpoint's 16-bit type (f16 for F32 checkpoints). */
  dtype?: WeightType;
  onProgress?: (p: LoadProgress) => void;
  /** Largest single upload chunk (tests lower it to exercise splitting). */
  maxChunkBytes?: number;
}

/** bf16 for a BF16 checkpoint (exact), else f16: 2 bytes per weight on every adapter. */
export function defaultWeightType(ckpt: Checkpoint): WeightType {
  return ckpt.tensor('model.embed_tokens.weight').dtype === 'BF16' ? 'bf16' : 'f16';
}

export async function loadWeights(ctx: GpuContext, spec: ModelSpec, ckpt: Checkpoint, opts: LoadWeightsOptions = {}): Promise<ModelWeights> {
  const dtype: WeightType = opts.dtype ?? defaultWeightType(ckpt);
  const buffers: GPUBuffer[] = [];
  const names = expectedTensorNames(spec);
  const totalBytes = names.reduce((s, n) => s + byteLength(ckpt, n), 0);
  let loadedBytes = 0;
  const done = (name: string) => {
    loadedBytes += byteLength(ckpt, name);
    opts.onProgress?.({ tensor: name, loadedBytes, totalBytes });
  };
  const maxChunk = Math.min(opts.maxChunkBytes ?? 64 << 20, ctx.caps.maxStorageBufferBindingSize, ctx.caps.maxBufferSize);

  const vector = async (name: string, length: number): Promise<Float32Array> => {
    checkShape(ckpt, name, [length]);
    const v = await ckpt.readTensorF32(name);
    done(name);
    return v;
  };
  const gpuVector = async (name: string, length: number): Promise<GPUBuffer> => {
    const b = upload(ctx.device, await vector(name, length), undefined, name);
    buffers.push(b);
    return b;
  };
  /** Rows [r, r + n) of a (rows, cols) tensor in the storage dtype (exact copy when the dtypes agree). */
  const readRows = async (name: string, r: number, n: number, cols: number): Promise<StorageArray> => {
    const t = ckpt.tensor(name);
    if (!isFloatDtype(t.dtype)) throw new CheckpointError(t.file, `tensor ${name} is ${t.dtype}`, 'Model weights must be BF16, F16 or F32.');
    const size = DTYPE_SIZE[t.dtype];
    const bytes = await ckpt.readTensorBytes(name, r * cols * size, n * cols * size);
    const f32 = bytesToF32(bytes, t.dtype);
    assertFiniteWeights(f32, name, t.file, r * cols);
    if ((t.dtype === 'BF16' && dtype === 'bf16') || (t.dtype === 'F16' && dtype === 'f16')) return new Uint16Array(bytes.slice().buffer);
    return toStorage(f32, dtype);
  };
  const table = async (name: string, rows: number, cols: number): Promise<RowChunk[]> => {
    checkShape(ckpt, name, [rows, cols]);
    const perChunk = Math.max(1, Math.floor(maxChunk / (cols * elementBytes(dtype))));
    const chunks: RowChunk[] = [];
    for (let r = 0; r < rows; r += perChunk) {
      const n = Math.min(perChunk, rows - r);
      const b = upload(ctx.device, await readRows(name, r, n, cols), undefined, `${name}[${r}:${r + n}]`);
      buffers.push(b);
      chunks.push({ weight: b, rowStart: r, rows: n });
    }
    done(name);
    return chunks;
  };
  const group = async (l: number, g: GroupName): Promise<LinearGroup> => {
    const parts = [];
    let inFeatures = 0;
    for (const m of LINEAR_GROUPS[g]) {
      const shape = moduleShape(spec, m);
      inFeatures = shape.inFeatures;
      const name = `${modulePath(l, m)}.weight`;
      checkShape(ckpt, name, [shape.outFeatures, shape.inFeatures]);
      if (shape.outFeatures * shape.inFeatures * elementBytes(dtype) > maxChunk) {
        throw new CheckpointError('', `${name} (${shape.outFeatures} x ${shape.inFeatures}) does not fit one GPU binding`, 'This model is too large for this GPU.');
      }
      const weight = await readRows(name, 0, shape.outFeatures, shape.inFeatures);
      done(name);
      const bias = biasExpected(spec, m) ? await vector(`${modulePath(l, m)}.bias`, shape.outFeatures) : null;
      parts.push({ weight, outFeatures: shape.outFeatures, bias });
    }
    const fused = uploadGroup(ctx, g, parts, inFeatures, dtype, buffers, `model.layers.${l}.${g}`);
    if (fused.outFeatures * fused.inFeatures * elementBytes(dtype) > ctx.caps.maxStorageBufferBindingSize) {
      throw new CheckpointError('', `layer ${l}'s fused ${g} weight (${fused.outFeatures} x ${fused.inFeatures}) does not fit one GPU binding`, 'This model is too large for this GPU.');
    }
    return fused;
  };

  const embed = await table('model.embed_tokens.weight', spec.vocabSize, spec.hiddenSize);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < spec.numLayers; l++) {
    const p = `model.layers.${l}`;
    const groups = {} as Record<GroupName, LinearGroup>;
    for (const g of GROUP_NAMES) groups[g] = await group(l, g);
    layers.push({
      inputNorm: await gpuVector(`${p}.input_layernorm.weight`, spec.hiddenSize),
      postNorm: await gpuVector(`${p}.post_attention_layernorm.weight`, spec.hiddenSize),
      qNorm: spec.qkNorm ? await gpuVector(`${p}.self_attn.q_norm.weight`, spec.headDim) : null,
      kNorm: spec.qkNorm ? await gpuVector(`${p}.self_attn.k_norm.weight`, spec.headDim) : null,
      groups,
    });
  }
  const finalNorm = await gpuVector('model.norm.weight', spec.hiddenSize);
  const lmHead = spec.tieWordEmbeddings ? embed : await table('lm_head.weight', spec.vocabSize, spec.hiddenSize);
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
