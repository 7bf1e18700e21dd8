// `whetstone quantize`: a 16-bit Hugging Face checkpoint -> the same model with every decoder
// linear weight (q/k/v/o/gate/up/down_proj) in bitsandbytes NF4, as transformers' save_pretrained
// writes a model loaded with BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
// bnb_4bit_use_double_quant=...): AutoModelForCausalLM.from_pretrained(dir) loads it 4-bit, and
// Whetstone reads it back without re-quantizing. Embeddings, norms, biases and the LM head keep
// their dtype (transformers never quantizes them). Browser-safe: returns files whose bytes are
// produced on demand (export.ts's ExportFile); the quantized weights (~0.52 bytes per parameter)
// are held in memory, one source tensor is read at a time in 4 MiB pieces.
import type { ByteSource } from '../io/byteSource.ts';
import type { Checkpoint } from '../io/checkpoint.ts';
import { SINGLE_WEIGHTS } from '../io/checkpoint.ts';
import { bytesToF32, type FloatDtype } from '../io/dtype.ts';
import { CheckpointError, ModelFormatError } from '../io/errors.ts';
import { encodeSafetensorsHeader, type SafetensorsEntry, type TensorToWrite } from '../io/safetensors.ts';
import { COPIED_FILES, type ExportFile } from '../lora/export.ts';
import { modelSpecFromConfig } from '../model/config.ts';
import { bnbQuantizationConfig, bnbWeightTensors } from './bnbWriter.ts';
import type { Nf4Dtype } from './nf4.ts';
import { quantizeWeightStreamed, type Nf4Weight } from './nf4Weight.ts';

/** The decoder linear weights bitsandbytes quantizes (transformers leaves embed_tokens, norms, lm_head alone). */
export const QUANTIZED_WEIGHT = /^model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/;

export interface QuantizeProgress {
  tensor: string;
  done: number;
  total: number;
}

export interface QuantizeCheckpointOptions {
  /** bnb_4bit_use_double_quant (transformers' default: false). */
  doubleQuant: boolean;
  onProgress?: (p: QuantizeProgress) => void;
}

export interface QuantizedCheckpoint {
  files: ExportFile[];
  /** Weights now in NF4. */
  quantized: string[];
  /** Tensors copied unchanged. */
  copied: number;
  /** Elements of the quantized weights, and the bytes their 4-bit tensors take in the file. */
  quantizedParams: number;
  quantizedBytes: number;
  totalBytes: number;
}

const COPY_CHUNK = 16 << 20;

export async function quantizeCheckpoint(ckpt: Checkpoint, opts: QuantizeCheckpointOptions): Promise<QuantizedCheckpoint> {
  if (ckpt.config.quantization_config !== undefined && ckpt.config.quantization_config !== null) {
    throw new ModelFormatError('config.json', 'the model is already quantized (it has a quantization_config)', 'Quantize the original 16-bit checkpoint.');
  }
  modelSpecFromConfig(ckpt.config, ckpt.generationConfig); // a supported architecture, or a clear error
  const names = [...ckpt.tensors.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const targets = names.filter((n) => QUANTIZED_WEIGHT.test(n));
  if (targets.length === 0) throw new CheckpointError('', `${ckpt.files.name} has no decoder linear weights to quantize`, 'Pass a Llama-family checkpoint in Hugging Face layout.');

  const quantized = new Map<string, TensorToWrite[]>();
  let quantizedParams = 0;
  for (const [i, name] of targets.entries()) {
    const w = await quantizeTensor(ckpt, name, opts.doubleQuant);
    quantized.set(name, bnbWeightTensors(name, w));
    quantizedParams += w.numel;
    opts.onProgress?.({ tensor: name, done: i + 1, total: targets.length });
  }

  // Every tensor in name order; a quantized weight expands to its 5 or 6 tensors (also in order).
  type Part = { entry: SafetensorsEntry; bytes: () => AsyncGenerator<Uint8Array> };
  const parts: Part[] = [];
  for (const name of names) {
    const q = quantized.get(name);
    if (q) {
      for (const t of q) parts.push({ entry: { name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength }, bytes: async function* () { yield t.data; } });
      continue;
    }
    const info = ckpt.tensor(name);
    parts.push({
      entry: { name, dtype: info.dtype, shape: info.shape, byteLength: info.end - info.begin },
      bytes: async function* () {
        for (let off = 0; off < info.end - info.begin; off += COPY_CHUNK) yield await ckpt.readTensorBytes(name, off, Math.min(COPY_CHUNK, info.end - info.begin - off));
      },
    });
  }
  parts.sort((a, b) => (a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0));
  const header = encodeSafetensorsHeader(parts.map((p) => p.entry), { ...ckpt.metadata, format: 'pt' });
  const weights: ExportFile = {
    name: SINGLE_WEIGHTS,
    size: header.byteLength + parts.reduce((s, p) => s + p.entry.byteLength, 0),
    async *chunks() {
      yield header;
      for (const p of parts) yield* p.bytes();
    },
  };
  const computeDtype = typeof ckpt.config.torch_dtype === 'string' ? ckpt.config.torch_dtype : 'float32';
  const config = { ...ckpt.config, quantization_config: bnbQuantizationConfig(opts.doubleQuant, computeDtype) };
  const files: ExportFile[] = [weights, bytesFile('config.json', new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'))];
  const have = new Set(ckpt.files.list());
  for (const f of COPIED_FILES) if (have.has(f)) files.push(copiedFile(f, ckpt.files.open(f)));
  const quantizedBytes = [...quantized.values()].flat().reduce((s, t) => s + t.data.byteLength, 0);
  return { files, quantized: targets, copied: names.length - targets.length, quantizedParams, quantizedBytes, totalBytes: files.reduce((s, f) => s + f.size, 0) };
}

/** Quantizes one checkpoint weight, reading it in 4 MiB pieces. */
export async function quantizeTensor(ckpt: Checkpoint, name: string, doubleQuant: boolean): Promise<Nf4Weight> {
  const info = ckpt.tensor(name);
  if (info.dtype !== 'BF16' && info.dtype !== 'F16' && info.dtype !== 'F32') {
    throw new CheckpointError(info.file, `${name} is ${info.dtype}`, 'bitsandbytes quantizes BF16, F16 and F32 weights.');
  }
  const dtype = info.dtype as Nf4Dtype & FloatDtype;
  const size = dtype === 'F32' ? 4 : 2;
  const read = async (start: number, count: number) => bytesToF32(await ckpt.readTensorBytes(name, start * size, count * size), dtype);
  return quantizeWeightStreamed(read, info.shape, dtype, { doubleQuant });
}

function bytesFile(name: string, data: Uint8Array): ExportFile {
  return {
    name,
    size: data.byteLength,
    async *chunks() {
      yield data;
    },
  };
}

function copiedFile(name: string, src: ByteSource): ExportFile {
  return {
    name,
    size: src.size,
    async *chunks() {
      if (src.size === 0) yield new Uint8Array(0);
      for (let off = 0; off < src.size; off += COPY_CHUNK) yield await src.read(off, Math.min(COPY_CHUNK, src.size - off));
    },
  };
}

