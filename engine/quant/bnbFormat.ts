// Reading checkpoints saved by transformers + bitsandbytes in 4-bit (save_pretrained after
// from_pretrained(quantization_config=BitsAndBytesConfig(load_in_4bit=True, ...)), e.g. the hub's
// `*-bnb-4bit` repos), without re-quantizing, validated as strictly as the safetensors header.
// A quantized linear weight W = "<module>.weight" is stored as (bitsandbytes QuantState.as_dict(packed=True),
// written by Linear4bit._save_to_state_dict):
//   W                                   U8  [(n + 1) // 2, 1]   packed codes, high nibble first
//   W.absmax                            F32 [blocks] (plain) or U8 [blocks] (double-quantized codes)
//   W.quant_map                         F32 [16]                the NF4 values
//   W.nested_absmax                     F32 [ceil(blocks / 256)]        (double quant only)
//   W.nested_quant_map                  F32 [256]                        (double quant only)
//   W.quant_state.bitsandbytes__nf4     U8  [len]  UTF-8 JSON: quant_type, blocksize, dtype, shape,
//                                       and nested_blocksize, nested_dtype, nested_offset
// with blocks = ceil(n / blocksize), n = prod(shape). config.json carries quantization_config
// ({quant_method: "bitsandbytes", load_in_4bit: true, bnb_4bit_quant_type, bnb_4bit_use_double_quant,
// bnb_4bit_compute_dtype, bnb_4bit_quant_storage, llm_int8_skip_modules, ...}).
import type { Checkpoint, CheckpointTensor } from '../io/checkpoint.ts';
import { CheckpointError, ModelFormatError } from '../io/errors.ts';
import { findDuplicateKeys, isPlainObject } from '../io/json.ts';
import { NESTED_BLOCKSIZE } from './dynamicMap.ts';
import { NF4_BLOCKSIZE, NF4_CODE, nf4Sizes, type Nf4Dtype } from './nf4.ts';
import type { Nf4Weight } from './nf4Weight.ts';

export const QUANT_STATE_NF4 = 'quant_state.bitsandbytes__nf4';
export const QUANT_STATE_FP4 = 'quant_state.bitsandbytes__fp4';
const SUFFIXES = ['absmax', 'quant_map', 'nested_absmax', 'nested_quant_map', QUANT_STATE_NF4, QUANT_STATE_FP4];
const STATE_KEYS = ['quant_type', 'blocksize', 'dtype', 'shape', 'nested_blocksize', 'nested_dtype', 'nested_offset'];
const DTYPES: Record<string, Nf4Dtype> = { bfloat16: 'BF16', float16: 'F16', float32: 'F32' };

const FP4_HINT =
  'Whetstone trains on NF4 4-bit bases only (bnb_4bit_quant_type="nf4", what QLoRA and the hub\'s *-bnb-4bit repos use). ' +
  'Use an NF4 checkpoint, or the 16-bit model with --load_in_4bit.';
const DAMAGED_HINT = 'The 4-bit checkpoint is damaged or was not written by transformers + bitsandbytes: download it again.';

/** What config.json's quantization_config says (only bitsandbytes NF4 4-bit is accepted). */
export interface BnbQuantizationConfig {
  quantType: 'nf4';
  doubleQuant: boolean;
  /** bnb_4bit_compute_dtype as written ("bfloat16", "float32", ...), informational. */
  computeDtype: string | null;
  /** llm_int8_skip_modules: module names left unquantized, null when absent. */
  skipModules: string[] | null;
}

/** Parses config.json's quantization_config: null when the model is not quantized, ModelFormatError for what we cannot run. */
export function parseQuantizationConfig(config: Record<string, unknown>): BnbQuantizationConfig | null {
  const q = config.quantization_config;
  if (q === undefined || q === null) return null;
  const bad: (problem: string, hint?: string) => never = (problem, hint = DAMAGED_HINT) => {
    throw new ModelFormatError('config.json', `quantization_config ${problem}`, hint);
  };
  if (!isPlainObject(q)) bad('is not an object');
  if (q.quant_method !== 'bitsandbytes') {
    bad(`has quant_method ${JSON.stringify(q.quant_method)}`, 'Whetstone reads bitsandbytes 4-bit (NF4) checkpoints only; GPTQ, AWQ and other formats are not supported. Use the 16-bit model with --load_in_4bit.');
  }
  if (q.load_in_8bit === true || q._load_in_8bit === true) bad('is 8-bit (load_in_8bit)', 'Whetstone reads 4-bit NF4 checkpoints only. Use the 16-bit model with --load_in_4bit.');
  if (q.load_in_4bit !== true && q._load_in_4bit !== true) bad('does not say load_in_4bit: true');
  const quantType = q.bnb_4bit_quant_type ?? 'fp4'; // BitsAndBytesConfig's default
  if (quantType === 'fp4') bad('uses bnb_4bit_quant_type "fp4"', FP4_HINT);
  if (quantType !== 'nf4') bad(`has bnb_4bit_quant_type ${JSON.stringify(quantType)}`, FP4_HINT);
  const storage = q.bnb_4bit_quant_storage ?? 'uint8';
  if (storage !== 'uint8') bad(`has bnb_4bit_quant_storage ${JSON.stringify(storage)}`, 'Whetstone reads 4-bit weights stored as uint8 (the default); re-save the model with bnb_4bit_quant_storage="uint8".');
  const dq = q.bnb_4bit_use_double_quant ?? false;
  if (typeof dq !== 'boolean') bad(`has bnb_4bit_use_double_quant ${JSON.stringify(dq)}; expected true or false`);
  const skip = q.llm_int8_skip_modules ?? null;
  if (skip !== null && !(Array.isArray(skip) && skip.every((s) => typeof s === 'string'))) bad('has llm_int8_skip_modules that is not a list of names');
  const cd = q.bnb_4bit_compute_dtype;
  return { quantType: 'nf4', doubleQuant: dq, computeDtype: typeof cd === 'string' ? cd : null, skipModules: skip as string[] | null };
}

/** The names of the 4-bit weights in a checkpoint (those with a quant_state tensor), sorted. fp4 ones are refused. */
export function bnbQuantizedWeights(ckpt: Checkpoint): string[] {
  const out: string[] = [];
  for (const name of ckpt.tensors.keys()) {
    if (name.endsWith(`.${QUANT_STATE_FP4}`)) {
      throw new ModelFormatError(ckpt.tensor(name).file, `${name.slice(0, -QUANT_STATE_FP4.length - 1)} is quantized as fp4`, FP4_HINT);
    }
    if (name.endsWith(`.${QUANT_STATE_NF4}`)) out.push(name.slice(0, -QUANT_STATE_NF4.length - 1));
  }
  return out.sort();
}

/** The JSON of a quant_state tensor, checked key by key. */
export interface QuantStateJson {
  quantType: 'nf4';
  blocksize: number;
  dtype: Nf4Dtype;
  shape: number[];
  nested: { blocksize: number; dtype: 'float32'; offset: number } | null;
}

export function parseQuantState(bytes: Uint8Array, where: string, file: string): QuantStateJson {
  const bad: (problem: string, hint?: string) => never = (problem, hint = DAMAGED_HINT) => {
    throw new CheckpointError(file, `${where}: ${problem}`, hint);
  };
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    bad('is not UTF-8 JSON');
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    bad(`is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(v)) bad('is not a JSON object');
  const dups = findDuplicateKeys(text);
  if (dups.length > 0) bad(`has duplicate keys ${dups.join(', ')}`);
  const extra = Object.keys(v).filter((k) => !STATE_KEYS.includes(k));
  if (extra.length > 0) bad(`has unknown keys ${extra.join(', ')} (known: ${STATE_KEYS.join(', ')})`);
  if (v.quant_type === 'fp4') bad('is fp4', FP4_HINT);
  if (v.quant_type !== 'nf4') bad(`has quant_type ${JSON.stringify(v.quant_type)}, expected "nf4"`, FP4_HINT);
  if (v.blocksize !== NF4_BLOCKSIZE) {
    bad(`has blocksize ${JSON.stringify(v.blocksize)}; Whetstone reads blocksize ${NF4_BLOCKSIZE} (what transformers always writes)`);
  }
  const dtype = typeof v.dtype === 'string' ? DTYPES[v.dtype] : undefined;
  if (!dtype) bad(`has dtype ${JSON.stringify(v.dtype)}; expected bfloat16, float16 or float32`);
  const shape = v.shape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && (d as number) > 0)) {
    bad(`has shape ${JSON.stringify(shape)}; expected a list of positive integers`);
  }
  const nestedKeys = ['nested_blocksize', 'nested_dtype', 'nested_offset'].filter((k) => k in v);
  if (nestedKeys.length === 0) return { quantType: 'nf4', blocksize: NF4_BLOCKSIZE, dtype: dtype!, shape: shape as number[], nested: null };
  if (nestedKeys.length !== 3) bad(`has ${nestedKeys.join(', ')} but not all of nested_blocksize, nested_dtype, nested_offset`);
  if (v.nested_blocksize !== NESTED_BLOCKSIZE) bad(`has nested_blocksize ${JSON.stringify(v.nested_blocksize)}; bitsandbytes uses ${NESTED_BLOCKSIZE}`);
  if (v.nested_dtype !== 'float32') bad(`has nested_dtype ${JSON.stringify(v.nested_dtype)}; expected "float32"`);
  if (typeof v.nested_offset !== 'number' || !Number.isFinite(v.nested_offset)) bad(`has nested_offset ${JSON.stringify(v.nested_offset)}; expected a number`);
  return {
    quantType: 'nf4',
    blocksize: NF4_BLOCKSIZE,
    dtype: dtype!,
    shape: shape as number[],
    nested: { blocksize: NESTED_BLOCKSIZE, dtype: 'float32', offset: Math.fround(v.nested_offset as number) },
  };
}

/**
 * Reads and validates the 4-bit weight `name` ("model.layers.0.self_attn.q_proj.weight") of a
 * bitsandbytes checkpoint. `expectedShape` (from config.json) must equal the quant_state shape.
 */
export async function readBnbNf4Weight(ckpt: Checkpoint, name: string, expectedShape?: number[]): Promise<Nf4Weight> {
  const stateName = `${name}.${QUANT_STATE_NF4}`;
  if (ckpt.tensors.has(`${name}.${QUANT_STATE_FP4}`)) throw new ModelFormatError(ckpt.tensor(name).file, `${name} is quantized as fp4`, FP4_HINT);
  const stateInfo = ckpt.tensor(stateName);
  const file = stateInfo.file;
  const bad: (problem: string) => never = (problem) => {
    throw new CheckpointError(file, `${name}: ${problem}`, DAMAGED_HINT);
  };
  const expect = (suffix: string, dtype: string, shape: number[]): CheckpointTensor => {
    const full = suffix ? `${name}.${suffix}` : name;
    const t = ckpt.tensors.get(full);
    if (!t) bad(`the 4-bit weight has no ${full}`);
    if (t!.dtype !== dtype || t!.shape.length !== shape.length || t!.shape.some((d, i) => d !== shape[i])) {
      bad(`${full} is ${t!.dtype} [${t!.shape.join(', ')}], expected ${dtype} [${shape.join(', ')}]`);
    }
    return t!;
  };
  if (stateInfo.dtype !== 'U8' || stateInfo.shape.length !== 1) bad(`${stateName} is ${stateInfo.dtype} [${stateInfo.shape}], expected a 1-D U8 tensor`);
  const state = parseQuantState(await ckpt.readTensorBytes(stateName), stateName, file);
  if (expectedShape && (expectedShape.length !== state.shape.length || expectedShape.some((d, i) => d !== state.shape[i]))) {
    bad(`the quant_state shape [${state.shape.join(', ')}] does not match config.json's [${expectedShape.join(', ')}]`);
  }
  const numel = state.shape.reduce((p, d) => p * d, 1);
  const { bytes, blocks } = nf4Sizes(numel);
  const weightInfo = ckpt.tensors.get(name);
  if (weightInfo && weightInfo.dtype !== 'U8') {
    bad(`the 4-bit weight is stored as ${weightInfo.dtype}; Whetstone reads bnb_4bit_quant_storage="uint8" (the default)`);
  }
  expect('', 'U8', [bytes, 1]);
  const nested = state.nested !== null;
  expect('absmax', nested ? 'U8' : 'F32', [blocks]);
  expect('quant_map', 'F32', [16]);
  const present = SUFFIXES.filter((s) => ckpt.tensors.has(`${name}.${s}`));
  if (nested) {
    expect('nested_absmax', 'F32', [Math.ceil(blocks / NESTED_BLOCKSIZE)]);
    expect('nested_quant_map', 'F32', [256]);
  } else if (present.includes('nested_absmax') || present.includes('nested_quant_map')) {
    bad('has nested_absmax/nested_quant_map but its quant_state has no nested_* fields');
  }
  for (const t of ckpt.tensors.keys()) {
    if (t.startsWith(`${name}.`) && !SUFFIXES.includes(t.slice(name.length + 1))) bad(`unexpected tensor ${t} beside the 4-bit weight`);
  }

  const f32 = async (suffix: string) => new Float32Array((await ckpt.readTensorBytes(`${name}.${suffix}`)).slice().buffer);
  const quantMap = await f32('quant_map');
  if (quantMap.some((v, i) => v !== NF4_CODE[i])) bad('quant_map is not the NF4 code (bitsandbytes get_4bit_type("nf4"))');
  const packed = (await ckpt.readTensorBytes(name)).slice();
  const base = { shape: state.shape, numel, dtype: state.dtype, quantMap, packed };
  if (!nested) {
    const absmax = await f32('absmax');
    if (absmax.some((v) => !(v >= 0) || !Number.isFinite(v))) bad('absmax has a negative or non-finite value');
    return { ...base, absmax, nested: null };
  }
  const absmax2 = await f32('nested_absmax');
  if (absmax2.some((v) => !(v >= 0) || !Number.isFinite(v))) bad('nested_absmax has a negative or non-finite value');
  const code = await f32('nested_quant_map');
  if (code.some((v, i) => !Number.isFinite(v) || v < -1 || v > 1 || (i > 0 && v < code[i - 1]))) bad('nested_quant_map is not 256 ascending values in [-1, 1]');
  const codes = (await ckpt.readTensorBytes(`${name}.absmax`)).slice();
  return { ...base, absmax: null, nested: { offset: state.nested!.offset, codes, absmax2, code } };
}
