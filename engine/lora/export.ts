// Exporting base + LoRA as one merged Hugging Face checkpoint, loadable by
// transformers' AutoModelForCausalLM.from_pretrained(dir) and by Whetstone itself:
//   model.safetensors (or model-0000N-of-0000M.safetensors + model.safetensors.index.json)
//   config.json, generation_config.json and the tokenizer files, copied as they were.
// Every base tensor is written under its own name; the targeted linear weights are replaced by
// W + scale * B @ A (merge.ts). Browser-safe: exportMergedModel only plans; each file's bytes are
// produced on demand by chunks() (a header, then one tensor or one 16 MiB piece at a time), so a
// writer (exportNode.ts, or a browser FileSystemWritableFileStream / Blob parts) never holds a
// whole shard. Sizes are known up front. A pre-quantized (NF4) base is dequantized (quant/exportNf4.ts).
import type { ByteSource } from '../io/byteSource.ts';
import { SINGLE_WEIGHTS, WEIGHTS_INDEX, type Checkpoint, type CheckpointTensor } from '../io/checkpoint.ts';
import { DTYPE_SIZE, bytesToF32, isFloatDtype, type Dtype, type FloatDtype } from '../io/dtype.ts';
import { CheckpointError } from '../io/errors.ts';
import type { FileSet } from '../io/fileSet.ts';
import { encodeSafetensorsHeader, readSafetensorsHeader } from '../io/safetensors.ts';
import { modelSpecFromConfig } from '../model/config.ts';
import { LORA_MODULES, modulePath, moduleShape, type ModuleName } from '../model/modules.ts';
import type { InitialWeights } from './adapter.ts';
import { encodeF64, encodeF64Into, mergeLoraToBytes } from './merge.ts';
import { dequantizedWeight, planNf4Export, withoutQuantizationConfig, type Nf4ExportPlan } from '../quant/exportNf4.ts';
import { ADAPTER_WEIGHTS, readAdapterConfig, readPeftWeights } from './peft.ts';
import { loraScale, type LoraConfig } from './types.ts';

/** 'same': every tensor keeps the base checkpoint's dtype (BF16 base -> BF16 file). */
export type ExportDtype = 'same' | 'BF16' | 'F16' | 'F32';

/** A LoRA adapter on the CPU: weights by `${layer}.${module}` -> {A (r, in), B (out, r)}. */
export interface MergeAdapter {
  config: LoraConfig;
  weights: Map<string, InitialWeights>;
}

export interface ExportProgress {
  file: string;
  /** The tensor being written ('' for JSON/tokenizer files). */
  tensor: string;
  /** Bytes produced so far over all files, and the total of all files. */
  bytesDone: number;
  bytesTotal: number;
}

export interface ExportOptions {
  dtype?: ExportDtype;
  /** Shard the weights above this many bytes of tensor data (default 2 GB = 2e9, like HF "2GB"). */
  maxShardBytes?: number;
  onProgress?: (p: ExportProgress) => void;
}

export interface ExportFile {
  /** File name inside the output folder (no '/'). */
  name: string;
  /** Exact byte length of what chunks() yields. */
  size: number;
  /** The file's bytes in order. May be called again (reads the base again). Chunks are fresh arrays or read-only views. */
  chunks(): AsyncGenerator<Uint8Array>;
}

export interface MergedExport {
  files: ExportFile[];
  /** HF names of the tensors replaced by W + scale * B @ A. */
  merged: string[];
  /** Number of tensors copied (possibly converted) unchanged. */
  copied: number;
  /** A pre-quantized (bitsandbytes NF4) base: the 4-bit weights dequantized for the export (quant/exportNf4.ts); [] for a 16-bit base. */
  dequantized: string[];
  scale: number;
  totalBytes: number;
}

/** Files copied byte for byte when the base folder has them (top level only). */
export const COPIED_FILES = [
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
  'chat_template.jinja',
  'chat_template.json',
] as const;

export const DEFAULT_MAX_SHARD_BYTES = 2e9;
const COPY_CHUNK_BYTES = 16 << 20;
const TORCH_DTYPE: Record<string, string> = { BF16: 'bfloat16', F16: 'float16', F32: 'float32' };
const FROM_TORCH_DTYPE: Record<string, FloatDtype> = { bfloat16: 'BF16', float16: 'F16', float32: 'F32' };
const HINT_MISMATCH = 'The adapter was trained for a different model: pass the base model it was trained on (adapter_config.json base_model_name_or_path).';

/**
 * Reads a PEFT adapter folder for merging into `ckpt`: adapter_config.json, then
 * adapter_model.safetensors checked against the model (every key it holds must be a LoRA A/B of a
 * targeted module of an existing layer; every expected key must be there with the right shape).
 */
export async function readAdapterForMerge(files: FileSet, ckpt: Checkpoint): Promise<MergeAdapter> {
  const config = await readAdapterConfig(files);
  const spec = modelSpecFromConfig(ckpt.config, ckpt.generationConfig);
  const src: ByteSource = files.open(ADAPTER_WEIGHTS);
  const header = await readSafetensorsHeader(src);
  const keyRe = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_[AB](?:\.default)?\.weight$/;
  for (const name of header.tensors.keys()) {
    const m = keyRe.exec(name);
    const ok = m && Number(m[1]) < spec.numLayers && (config.targetModules as string[]).includes(m[3]) && `model.layers.${m[1]}.${m[2]}.${m[3]}` === modulePath(Number(m[1]), m[3] as ModuleName);
    if (!ok) {
      throw new CheckpointError(
        src.name,
        `has tensor ${name}, which cannot be merged into ${ckpt.files.name} (${spec.numLayers} layers; targets ${config.targetModules.join(', ')})`,
        `${HINT_MISMATCH} Adapters with modules_to_save or LoRA biases are not supported.`,
      );
    }
  }
  const weights = await readPeftWeights(src, config, spec, (mod) => moduleShape(spec, mod));
  return { config, weights };
}

interface PlannedTensor {
  info: CheckpointTensor;
  /** info.shape, or a 4-bit weight's (out, in). */
  shape: number[];
  /** A 4-bit weight of a pre-quantized base: dequantized. */
  nf4: boolean;
  dtype: Dtype;
  bytes: number;
  /** The adapter entry when merged. */
  lora: InitialWeights | null;
}

/** Checks every adapter entry against the checkpoint; returns base tensor name -> A/B. */
function matchAdapter(ckpt: Checkpoint, adapter: MergeAdapter, nf4: Nf4ExportPlan | null): Map<string, InitialWeights> {
  const out = new Map<string, InitialWeights>();
  const r = adapter.config.r;
  if (adapter.weights.size === 0) throw new CheckpointError('', 'the adapter has no LoRA weights', 'Pass a trained adapter folder.');
  for (const [key, w] of adapter.weights) {
    const m = /^(\d+)\.(\w+)$/.exec(key);
    if (!m || !(LORA_MODULES as readonly string[]).includes(m[2])) {
      throw new CheckpointError('', `adapter entry ${JSON.stringify(key)} is not "<layer>.<module>" with module one of ${LORA_MODULES.join(', ')}`, HINT_MISMATCH);
    }
    const name = `${modulePath(Number(m[1]), m[2] as ModuleName)}.weight`;
    const info = ckpt.tensors.get(name);
    if (!info) throw new CheckpointError('', `the adapter has LoRA weights for ${name}, which ${ckpt.files.name} does not have`, HINT_MISMATCH);
    const quantized = nf4?.weights.get(name);
    if (!quantized && (info.shape.length !== 2 || !isFloatDtype(info.dtype))) {
      throw new CheckpointError(info.file, `tensor ${name} is ${info.dtype} [${info.shape}], not a 2-D float weight`, HINT_MISMATCH);
    }
    const [outF, inF] = quantized ?? info.shape;
    if (w.A.length !== r * inF || w.B.length !== outF * r) {
      throw new CheckpointError(
        '',
        `the adapter's ${key} has A of ${w.A.length} and B of ${w.B.length} values; ${name} [${outF}, ${inF}] with r=${r} needs A [${r}, ${inF}] and B [${outF}, ${r}]`,
        HINT_MISMATCH,
      );
    }
    out.set(name, w);
  }
  return out;
}

function outDtype(base: Dtype, want: ExportDtype): Dtype {
  return want === 'same' || !isFloatDtype(base) ? base : want;
}

function numel(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Splits tensors (in name order) greedily into shards of at most maxBytes of data (a bigger tensor goes alone). */
function planShards(tensors: PlannedTensor[], maxBytes: number): PlannedTensor[][] {
  const shards: PlannedTensor[][] = [];
  let cur: PlannedTensor[] = [];
  let size = 0;
  for (const t of tensors) {
    if (cur.length > 0 && size + t.bytes > maxBytes) {
      shards.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += t.bytes;
  }
  if (cur.length > 0 || shards.length === 0) shards.push(cur);
  return shards;
}

/**
 * Plans the merged checkpoint of `ckpt` + `adapter`. Validates the adapter against the model
 * (throws CheckpointError naming the first mismatch) and returns the files with their sizes; no
 * tensor is read until a file's chunks() is iterated.
 */
export function exportMergedModel(ckpt: Checkpoint, adapter: MergeAdapter, opts: ExportOptions = {}): MergedExport {
  const want = opts.dtype ?? 'same';
  if (!['same', 'BF16', 'F16', 'F32'].includes(want)) throw new TypeError(`exportMergedModel: dtype ${want} is not same, BF16, F16 or F32`);
  const maxShard = opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  const scale = loraScale(adapter.config);
  const nf4 = planNf4Export(ckpt, modelSpecFromConfig(ckpt.config, ckpt.generationConfig));
  const loraByTensor = matchAdapter(ckpt, adapter, nf4);
  const names = [...ckpt.tensors.keys()].filter((n) => !nf4?.companions.has(n)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const planned: PlannedTensor[] = names.map((name) => {
    const info = ckpt.tensors.get(name)!;
    const quantized = nf4?.weights.get(name);
    const shape = quantized ?? info.shape;
    const dtype = outDtype(quantized ? (FROM_TORCH_DTYPE[String(ckpt.config.torch_dtype)] ?? 'BF16') : info.dtype, want);
    return { info, shape, nf4: Boolean(quantized), dtype, bytes: numel(shape) * DTYPE_SIZE[dtype], lora: loraByTensor.get(name) ?? null };
  });
  const metadata = { ...ckpt.metadata, format: 'pt' };
  const shards = planShards(planned, maxShard);
  const n = shards.length;
  const shardName = (i: number) => (n === 1 ? SINGLE_WEIGHTS : `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`);

  const progress = { done: 0, total: 0 };
  const report = (file: string, tensor: string, bytes: number) => {
    progress.done += bytes;
    opts.onProgress?.({ file, tensor, bytesDone: progress.done, bytesTotal: progress.total });
  };
  const files: ExportFile[] = shards.map((tensors, i) => {
    const name = shardName(i);
    const header = encodeSafetensorsHeader(tensors.map((t) => ({ name: t.info.name, dtype: t.dtype, shape: t.shape, byteLength: t.bytes })), metadata);
    const size = header.byteLength + tensors.reduce((s, t) => s + t.bytes, 0);
    return {
      name,
      size,
      async *chunks() {
        report(name, '', header.byteLength);
        yield header;
        for (const t of tensors) {
          for await (const c of tensorChunks(ckpt, t, scale)) {
            report(name, t.info.name, c.byteLength);
            yield c;
          }
        }
      },
    };
  });
  if (n > 1) {
    const weightMap: Record<string, string> = {};
    shards.forEach((ts, i) => ts.forEach((t) => (weightMap[t.info.name] = shardName(i))));
    const totalSize = planned.reduce((s, t) => s + t.bytes, 0);
    files.push(bytesFile(WEIGHTS_INDEX, jsonBytes({ metadata: { total_size: totalSize }, weight_map: weightMap }), report));
  }
  files.push(bytesFile('config.json', nf4 ? jsonBytes({ ...withoutQuantizationConfig(ckpt.config), ...(want === 'same' ? {} : { torch_dtype: TORCH_DTYPE[want] }) }) : configBytes(ckpt, want), report));
  const have = new Set(ckpt.files.list());
  for (const f of COPIED_FILES) if (have.has(f)) files.push(copiedFile(ckpt.files.open(f), f, report));
  progress.total = files.reduce((s, f) => s + f.size, 0);
  const dequantized = planned.filter((t) => t.nf4).map((t) => t.info.name);
  return { files, merged: [...loraByTensor.keys()].sort(), copied: planned.length - loraByTensor.size, dequantized, scale, totalBytes: progress.total };
}

/** A tensor's output bytes: merged (whole tensor, built row by row), copied raw, or converted in 16 MiB pieces. */
async function* tensorChunks(ckpt: Checkpoint, t: PlannedTensor, scale: number): AsyncGenerator<Uint8Array> {
  const { info, dtype } = t;
  if (t.lora || t.nf4) {
    const [outF, inF] = t.shape;
    const W = t.nf4
      ? await dequantizedWeight(ckpt, info.name, [outF, inF])
      : info.dtype === 'F64'
        ? new Float64Array((await ckpt.readTensorBytes(info.name)).slice().buffer)
        : await ckpt.readTensorF32(info.name);
    if (t.lora) yield mergeLoraToBytes(W, t.lora.A, t.lora.B, { outFeatures: outF, inFeatures: inF, r: t.lora.A.length / inF }, scale, dtype as FloatDtype);
    else yield encodeF64(Float64Array.from(W), dtype as FloatDtype);
    return;
  }
  const inSize = DTYPE_SIZE[info.dtype];
  const total = info.end - info.begin;
  const per = Math.max(1, Math.floor(COPY_CHUNK_BYTES / inSize)) * inSize;
  for (let off = 0; off < total; off += per) {
    const len = Math.min(per, total - off);
    const raw = await ckpt.readTensorBytes(info.name, off, len);
    if (dtype === info.dtype) {
      yield raw;
      continue;
    }
    const src = info.dtype as FloatDtype;
    const f64 = src === 'F64' ? new Float64Array(raw.slice().buffer) : Float64Array.from(bytesToF32(raw, src));
    const out = new Uint8Array(f64.length * DTYPE_SIZE[dtype]);
    encodeF64Into(f64, dtype as FloatDtype, out, 0);
    yield out;
  }
}

/** config.json: the original bytes for dtype 'same', else with torch_dtype (and dtype, if present) set to the new dtype. */
function configBytes(ckpt: Checkpoint, want: ExportDtype): Uint8Array | ByteSource {
  const c = ckpt.config;
  if (want === 'same' || (c.torch_dtype ?? c.dtype) === TORCH_DTYPE[want]) return ckpt.files.open('config.json');
  const next: Record<string, unknown> = { ...c, torch_dtype: TORCH_DTYPE[want] };
  if ('dtype' in c) next.dtype = TORCH_DTYPE[want];
  return jsonBytes(next);
}

function jsonBytes(v: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');
}

type Report = (file: string, tensor: string, bytes: number) => void;

function bytesFile(name: string, data: Uint8Array | ByteSource, report: Report): ExportFile {
  if (!(data instanceof Uint8Array)) return copiedFile(data, name, report);
  return {
    name,
    size: data.byteLength,
    async *chunks() {
      report(name, '', data.byteLength);
      yield data;
    },
  };
}

function copiedFile(src: ByteSource, name: string, report: Report): ExportFile {
  return {
    name,
    size: src.size,
    async *chunks() {
      for (let off = 0; off < src.size; off += COPY_CHUNK_BYTES) {
        const c = await src.read(off, Math.min(COPY_CHUNK_BYTES, src.size - off));
        report(name, '', c.byteLength);
        yield c;
      }
      if (src.size === 0) yield new Uint8Array(0);
    },
  };
}
