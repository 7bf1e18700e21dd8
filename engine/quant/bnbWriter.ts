// Writing 4-bit weights in the transformers + bitsandbytes layout (bnbFormat.ts describes it), byte
// for byte as save_pretrained writes them: the quant_state JSON is Python's json.dumps of
// {quant_type, blocksize, dtype, shape[, nested_blocksize, nested_dtype, nested_offset]}.
import type { TensorToWrite } from '../io/safetensors.ts';
import { QUANT_STATE_NF4 } from './bnbFormat.ts';
import { NESTED_BLOCKSIZE } from './dynamicMap.ts';
import { NF4_BLOCKSIZE, type Nf4Dtype } from './nf4.ts';
import type { Nf4Weight } from './nf4Weight.ts';

const TORCH_NAME: Record<Nf4Dtype, string> = { BF16: 'bfloat16', F16: 'float16', F32: 'float32' };

/** Python's repr(float) (what json.dumps writes): shortest round-trip digits, "1.0", "1e-05". */
export function pythonFloatRepr(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = x.toExponential().split('e');
  const exp = Number(expStr);
  const sign = mant.startsWith('-') ? '-' : '';
  const digits = mant.replace('-', '').replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  return `${sign}${int}.${digits.slice(exp + 1) || '0'}`;
}

/** The quant_state JSON bitsandbytes packs (pack_dict_to_tensor(json.dumps(...))). */
export function quantStateJson(w: Nf4Weight): string {
  const parts = [`"quant_type": "nf4"`, `"blocksize": ${NF4_BLOCKSIZE}`, `"dtype": "${TORCH_NAME[w.dtype]}"`, `"shape": [${w.shape.join(', ')}]`];
  if (w.nested) parts.push(`"nested_blocksize": ${NESTED_BLOCKSIZE}`, `"nested_dtype": "float32"`, `"nested_offset": ${pythonFloatRepr(w.nested.offset)}`);
  return `{${parts.join(', ')}}`;
}

function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** The tensors of one 4-bit weight `name` ("<module>.weight") as save_pretrained writes them. */
export function bnbWeightTensors(name: string, w: Nf4Weight): TensorToWrite[] {
  const out: TensorToWrite[] = [
    { name, dtype: 'U8', shape: [w.packed.length, 1], data: w.packed },
    { name: `${name}.quant_map`, dtype: 'F32', shape: [16], data: f32Bytes(w.quantMap) },
  ];
  if (w.nested) {
    out.push(
      { name: `${name}.absmax`, dtype: 'U8', shape: [w.nested.codes.length], data: w.nested.codes },
      { name: `${name}.nested_absmax`, dtype: 'F32', shape: [w.nested.absmax2.length], data: f32Bytes(w.nested.absmax2) },
      { name: `${name}.nested_quant_map`, dtype: 'F32', shape: [256], data: f32Bytes(w.nested.code) },
    );
  } else {
    out.push({ name: `${name}.absmax`, dtype: 'F32', shape: [w.absmax!.length], data: f32Bytes(w.absmax!) });
  }
  const json = new TextEncoder().encode(quantStateJson(w));
  out.push({ name: `${name}.${QUANT_STATE_NF4}`, dtype: 'U8', shape: [json.length], data: json });
  return out;
}

/** config.json's quantization_config as transformers writes BitsAndBytesConfig(load_in_4bit=True, nf4, ...). */
export function bnbQuantizationConfig(doubleQuant: boolean, computeDtype: string): Record<string, unknown> {
  return {
    _load_in_4bit: true,
    _load_in_8bit: false,
    bnb_4bit_compute_dtype: computeDtype,
    bnb_4bit_quant_storage: 'uint8',
    bnb_4bit_quant_type: 'nf4',
    bnb_4bit_use_double_quant: doubleQuant,
    llm_int8_enable_fp32_cpu_offload: false,
    llm_int8_has_fp16_weight: false,
    llm_int8_skip_modules: null,
    llm_int8_threshold: 6.0,
    load_in_4bit: true,
    load_in_8bit: false,
    quant_method: 'bitsandbytes',
  };
}
