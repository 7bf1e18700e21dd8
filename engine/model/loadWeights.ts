// Streams a checkpoint's tensors to the GPU. Linear weights and tables are stored 16-bit by default
// (bf16 for BF16 checkpoints, so their values stay exact; f16 for F16 and F32 ones), as packed
// pairs every adapter reads (no shader-f16 needed), or f32 when asked; norms and biases are f32.
// Linears sharing an input are concatenated into one group (weights.ts). Big tables (embedding,
// LM head) are uploaded in row chunks, one buffer each, that fit a storage binding, so Qwen2.5's
// 151936 x 896 embedding is split rather than refused. One group or chunk at a time is held on the CPU.
// QLoRA (loadIn4bit, or a pre-quantized checkpoint: quant/loadNf4.ts): every decoder linear group
// in NF4 instead, each member read as saved or quantized on load in pieces; tables, norms and
// biases as above.
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import type { Checkpoint } from '../io/checkpoint.ts';
import { DTYPE_SIZE, bytesToF32, isFloatDtype } from '../io/dtype.ts';
import { CheckpointError } from '../io/errors.ts';
import { elementBytes } from '../ops/operands.ts';
import type { ModelSpec } from './config.ts';
import { toStorage, uploadGroup, uploadNf4Group, type StorageArray } from './groupWeights.ts';
import { GROUP_NAMES, LINEAR_GROUPS, LORA_MODULES, modulePath, type GroupName, type LayerWeights, type LinearGroup, type ModelWeights, type ModuleName, type RowChunk, type WeightType } from './weights.ts';
import { moduleShape } from './modules.ts';
import { assertFiniteWeights } from '../io/finiteCheck.ts';
import { nf4GroupBytes } from '../quant/gpuLayout.ts';
import { fourBitPlan, isStoredIn4bit, readNf4Linear, storedBytes, type FourBitOptions } from '../quant/loadNf4.ts';
import { dequantizeWeight, type Nf4Weight } from '../quant/nf4Weight.ts';

export interface LoadProgress {
  tensor: string;
  loadedBytes: number;
  totalBytes: number;
}

export interface LoadWeightsOptions extends FourBitOptions {
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
  const fourBit = fourBitPlan(ckpt, opts);
  const names = expectedTensorNames(spec);
  const totalBytes = names.reduce((s, n) => s + storedBytes(ckpt, n), 0);
  let loadedBytes = 0;
  const done = (name: string) => {
    loadedBytes += storedBytes(ckpt, name);
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
  const bindingCheck = (l: number, g: GroupName, out: number, inF: number, bytes: number) => {
    if (bytes > ctx.caps.maxStorageBufferBindingSize) {
      throw new CheckpointError('', `layer ${l}'s fused ${g} weight (${out} x ${inF}) does not fit one GPU binding`, 'This model is too large for this GPU.');
    }
  };
  const group = async (l: number, g: GroupName): Promise<LinearGroup> => {
    const parts: { weight: StorageArray | null; outFeatures: number; bias: Float32Array | null }[] = [];
    const quantized: (Nf4Weight | null)[] = [];
    let inFeatures = 0;
    for (const m of LINEAR_GROUPS[g]) {
      const shape = moduleShape(spec, m);
      inFeatures = shape.inFeatures;
      const name = `${modulePath(l, m)}.weight`;
      // A pre-quantized weight's shape is its quant_state's (readBnbNf4Weight checks it against config.json).
      if (!isStoredIn4bit(fourBit, name)) checkShape(ckpt, name, [shape.outFeatures, shape.inFeatures]);
      const q = fourBit ? await readNf4Linear(ckpt, name, [shape.outFeatures, shape.inFeatures], fourBit) : null;
      if (!q && shape.outFeatures * shape.inFeatures * elementBytes(dtype) > maxChunk) {
        throw new CheckpointError('', `${name} (${shape.outFeatures} x ${shape.inFeatures}) does not fit one GPU binding`, 'This model is too large for this GPU.');
      }
      const weight = q ? null : await readRows(name, 0, shape.outFeatures, shape.inFeatures);
      done(name);
      const bias = biasExpected(spec, m) ? await vector(`${modulePath(l, m)}.bias`, shape.outFeatures) : null;
      quantized.push(q);
      parts.push({ weight, outFeatures: shape.outFeatures, bias });
    }
    const label = `model.layers.${l}.${g}`;
    if (nf4Uniform(quantized)) {
      const members = quantized as Nf4Weight[];
      const out = parts.reduce((s, p) => s + p.outFeatures, 0);
      bindingCheck(l, g, out, inFeatures, nf4GroupBytes(members.map((w) => w.numel), fourBit!.doubleQuant));
      return uploadNf4Group(ctx, g, members.map((w, i) => ({ weight: w, bias: parts[i].bias })), buffers, label);
    }
    // 16-bit: no 4-bit plan, or a pre-quantized group with a member saved 16-bit (its NF4 members
    // dequantized exactly as bitsandbytes computes with them).
    const sixteen = parts.map((p, i) => ({ ...p, weight: p.weight ?? toStorage(dequantizeWeight(quantized[i]!), dtype) }));
    const fused = uploadGroup(ctx, g, sixteen, inFeatures, dtype, buffers, label);
    bindingCheck(l, g, fused.outFeatures, fused.inFeatures, fused.outFeatures * fused.inFeatures * elementBytes(dtype));
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
  const quantization = fourBit ? { preQuantized: fourBit.preQuantized, doubleQuant: fourBit.doubleQuant } : null;
  return { embed, embedDtype: dtype, layers, finalNorm, lmHead, lmHeadDtype: dtype, buffers, quantization };
}

/** Members that can share one NF4 group buffer: all quantized, one dtype, one double quantization. */
function nf4Uniform(q: (Nf4Weight | null)[]): boolean {
  return q.every((w) => w !== null && w.dtype === q[0]!.dtype && (w.nested !== null) === (q[0]!.nested !== null));
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

function checkShape(ckpt: Checkpoint, name: string, shape: number[]): void {
  const t = ckpt.tensor(name);
  if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
    throw new CheckpointError(t.file, `tensor ${name} has shape [${t.shape.join(', ')}], config.json implies [${shape.join(', ')}]`, 'config.json does not match the weights; re-download the model.');
  }
}
