// Opens a Hugging Face checkpoint folder (any FileSet): config.json, tokenizer files,
// generation_config.json, and a tensor index over model.safetensors or the shards named by
// model.safetensors.index.json. Reads only headers and small JSON files; tensors are read on
// demand (readTensorBytes / readTensorF32, chunked so a 272 MB tensor never exists twice).
import { readText, type ByteSource } from './byteSource.ts';
import { bytesToF32, DTYPE_SIZE, isFloatDtype } from './dtype.ts';
import { CheckpointError } from './errors.ts';
import { assertFiniteWeights } from './finiteCheck.ts';
import { missingFile, type FileSet } from './fileSet.ts';
import { isPlainObject, parseJsonFile } from './json.ts';
import { readSafetensorsHeader, readTensorBytes, type TensorInfo } from './safetensors.ts';

export const SINGLE_WEIGHTS = 'model.safetensors';
export const WEIGHTS_INDEX = 'model.safetensors.index.json';

export const FOLDER_HINT =
  'A Hugging Face model folder should contain config.json, tokenizer.json, tokenizer_config.json and ' +
  'model.safetensors (or model-0000N-of-0000M.safetensors shards with model.safetensors.index.json).';

/** A tensor and the file it lives in. begin/end are absolute offsets in that file. */
export interface CheckpointTensor extends TensorInfo {
  file: string;
}

export interface OpenCheckpointOptions {
  /** Fail when tokenizer.json is missing (default true; false for weight-only tools). */
  requireTokenizer?: boolean;
}

/** Bytes per read when streaming a tensor into a Float32Array. */
const READ_CHUNK_BYTES = 16 << 20;

export class Checkpoint {
  readonly files: FileSet;
  /** config.json as parsed (pass to modelSpecFromConfig in engine/model/config.ts). */
  readonly config: Record<string, unknown>;
  readonly generationConfig: Record<string, unknown> | null;
  /** tokenizer.json as parsed, null only when requireTokenizer was false and it is missing. */
  readonly tokenizerJson: Record<string, unknown> | null;
  /** tokenizer_config.json (chat_template, special tokens), null when missing. */
  readonly tokenizerConfig: Record<string, unknown> | null;
  readonly specialTokensMap: Record<string, unknown> | null;
  /** Every tensor by HF name (e.g. "model.layers.0.self_attn.q_proj.weight"). */
  readonly tensors: Map<string, CheckpointTensor>;
  /** The safetensors files, in order. */
  readonly shards: string[];
  /** __metadata__ of the first shard ({format: "pt"} usually). */
  readonly metadata: Record<string, string>;
  private readonly sources: Map<string, ByteSource>;

  constructor(init: {
    files: FileSet;
    config: Record<string, unknown>;
    generationConfig: Record<string, unknown> | null;
    tokenizerJson: Record<string, unknown> | null;
    tokenizerConfig: Record<string, unknown> | null;
    specialTokensMap: Record<string, unknown> | null;
    tensors: Map<string, CheckpointTensor>;
    shards: string[];
    metadata: Record<string, string>;
    sources: Map<string, ByteSource>;
  }) {
    this.files = init.files;
    this.config = init.config;
    this.generationConfig = init.generationConfig;
    this.tokenizerJson = init.tokenizerJson;
    this.tokenizerConfig = init.tokenizerConfig;
    this.specialTokensMap = init.specialTokensMap;
    this.tensors = init.tensors;
    this.shards = init.shards;
    this.metadata = init.metadata;
    this.sources = init.sources;
  }

  tensor(name: string): CheckpointTensor {
    const t = this.tensors.get(name);
    if (!t) {
      const some = [...this.tensors.keys()].slice(0, 3).join(', ');
      throw new CheckpointError(
        '',
        `${this.files.name} has no tensor ${JSON.stringify(name)} (it has ${this.tensors.size} tensors, e.g. ${some})`,
        'The checkpoint does not match its config.json, or it is not a Llama-family model in Hugging Face layout.',
      );
    }
    return t;
  }

  /** Raw little-endian bytes of a tensor, or a byte range of it. Read-only. */
  readTensorBytes(name: string, byteOffset = 0, byteLength?: number): Promise<Uint8Array> {
    const t = this.tensor(name);
    return readTensorBytes(this.sources.get(t.file)!, t, byteOffset, byteLength);
  }

  /**
   * A float tensor (F32/F16/BF16/F64) as f32, numel elements in row-major order. Streams the
   * file in `chunkBytes` reads (16 MiB) into `out` (allocated when not given), so the raw bytes
   * are never held whole.
   */
  async readTensorF32(name: string, out?: Float32Array, chunkBytes = READ_CHUNK_BYTES): Promise<Float32Array> {
    const t = this.tensor(name);
    if (!isFloatDtype(t.dtype)) {
      throw new CheckpointError(t.file, `tensor ${name} is ${t.dtype}, not a float type`, 'Whetstone reads F32, F16, BF16 and F64 weights.');
    }
    const size = DTYPE_SIZE[t.dtype];
    const numel = (t.end - t.begin) / size;
    const dst = out ?? new Float32Array(numel);
    if (dst.length !== numel) throw new RangeError(`readTensorF32(${name}): out has ${dst.length} elements, tensor has ${numel}`);
    const perChunk = Math.max(1, Math.floor(chunkBytes / size));
    const src = this.sources.get(t.file)!;
    for (let i = 0; i < numel; i += perChunk) {
      const count = Math.min(perChunk, numel - i);
      const bytes = await readTensorBytes(src, t, i * size, count * size);
      assertFiniteWeights(bytesToF32(bytes, t.dtype, dst.subarray(i, i + count)), name, t.file, i);
    }
    return dst;
  }
}

async function readJson(files: FileSet, file: string, what: string): Promise<Record<string, unknown>> {
  const text = await readText(files.open(file));
  const v = parseJsonFile(text, file, what);
  if (!isPlainObject(v)) throw new CheckpointError(file, 'is not a JSON object', `${what} must hold a JSON object ({...}).`);
  return v;
}

async function readOptionalJson(files: FileSet, have: Set<string>, file: string, what: string): Promise<Record<string, unknown> | null> {
  return have.has(file) ? readJson(files, file, what) : null;
}

/** Opens and validates a checkpoint folder. Throws CheckpointError naming what is missing or broken. */
export async function openCheckpoint(files: FileSet, opts: OpenCheckpointOptions = {}): Promise<Checkpoint> {
  const have = new Set(files.list());
  if (!have.has('config.json')) throw missingFile(files, 'config.json', FOLDER_HINT);
  const config = await readJson(files, 'config.json', 'config.json');
  const requireTokenizer = opts.requireTokenizer ?? true;
  if (requireTokenizer && !have.has('tokenizer.json')) {
    throw missingFile(
      files,
      'tokenizer.json',
      `Whetstone needs the fast-tokenizer file tokenizer.json (a tokenizer.model alone is not enough). ${FOLDER_HINT}`,
    );
  }
  const tokenizerJson = await readOptionalJson(files, have, 'tokenizer.json', 'tokenizer.json');
  const tokenizerConfig = await readOptionalJson(files, have, 'tokenizer_config.json', 'tokenizer_config.json');
  const specialTokensMap = await readOptionalJson(files, have, 'special_tokens_map.json', 'special_tokens_map.json');
  const generationConfig = await readOptionalJson(files, have, 'generation_config.json', 'generation_config.json');

  const { shards, weightMap } = await findShards(files, have);
  const tensors = new Map<string, CheckpointTensor>();
  const sources = new Map<string, ByteSource>();
  let metadata: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    const src = files.open(shard);
    sources.set(shard, src);
    const header = await readSafetensorsHeader(src);
    if (i === 0) metadata = header.metadata;
    for (const [name, info] of header.tensors) {
      const other = tensors.get(name);
      if (other) {
        throw new CheckpointError(shard, `tensor ${JSON.stringify(name)} is also in ${other.file}`, 'The shards are from different checkpoints; download the model again.');
      }
      tensors.set(name, { ...info, file: shard });
    }
  }
  if (weightMap) {
    for (const [name, shard] of weightMap) {
      const t = tensors.get(name);
      if (!t || t.file !== shard) {
        throw new CheckpointError(
          WEIGHTS_INDEX,
          `says tensor ${JSON.stringify(name)} is in ${shard}, but ${t ? `it is in ${t.file}` : 'no shard has it'}`,
          'The index and the shards do not match: download the model again.',
        );
      }
    }
  }
  return new Checkpoint({ files, config, generationConfig, tokenizerJson, tokenizerConfig, specialTokensMap, tensors, shards, metadata, sources });
}

async function findShards(files: FileSet, have: Set<string>): Promise<{ shards: string[]; weightMap: Map<string, string> | null }> {
  // Like transformers: a single model.safetensors wins over an index.
  if (have.has(SINGLE_WEIGHTS)) return { shards: [SINGLE_WEIGHTS], weightMap: null };
  if (have.has(WEIGHTS_INDEX)) {
    const index = await readJson(files, WEIGHTS_INDEX, WEIGHTS_INDEX);
    const wm = index.weight_map;
    if (!isPlainObject(wm) || !Object.values(wm).every((v) => typeof v === 'string')) {
      throw new CheckpointError(WEIGHTS_INDEX, 'has no "weight_map" object of tensor name -> shard file', 'Download the model again.');
    }
    const weightMap = new Map(Object.entries(wm as Record<string, string>));
    const shards = [...new Set(weightMap.values())].sort();
    for (const s of shards) {
      if (!have.has(s)) throw missingFile(files, s, `${WEIGHTS_INDEX} lists ${shards.length} shards (${shards.join(', ')}); add the missing one.`);
    }
    return { shards, weightMap };
  }
  const loose = [...have].filter((f) => f.endsWith('.safetensors') && !f.includes('/')).sort();
  if (loose.length > 0) return { shards: loose, weightMap: null };
  const bin = [...have].find((f) => /\.(bin|pt|pth|gguf)$/.test(f));
  throw missingFile(
    files,
    'model.safetensors',
    bin
      ? `Whetstone reads only safetensors weights, and this folder has ${bin}. Convert it (transformers: model.save_pretrained(dir, safe_serialization=True)) or pick the repo's safetensors revision.`
      : FOLDER_HINT,
  );
}
