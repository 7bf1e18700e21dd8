// NF4 double quantization (bnb_4bit_use_double_quant=True, bitsandbytes' compress_statistics):
//   offset  = mean(absmax)                       (f32; see below)
//   codes, absmax2 = quantize_blockwise(absmax - offset, dynamic map, blocksize=256)
//   absmax' = f32(f32(code8[codes[b]] * absmax2[b / 256]) + offset)      (two roundings: bitsandbytes
//             runs dequantize_blockwise, then `absmax += offset` as a separate op)
// Storage per 64-weight block: 1 byte instead of 4, plus 4 bytes per 256 blocks: 4.127 bits/weight.
// The mean: bitsandbytes takes `_absmax.mean()` on the GPU in f32, in a reduction order CUDA does
// not specify. We sum in float64 and round the mean once to f32 (the nearest f32 to the true mean
// but for astronomically rare ties), which any f32 reduction approximates within a few ulps; the
// reference script does the same, and a pre-quantized file carries its own offset (nested_offset).
import { NESTED_BLOCKSIZE, dequantizeBlockwise8, dynamicMap, quantizeBlockwise8 } from './dynamicMap.ts';

export interface NestedAbsmax {
  /** nested_offset: the mean subtracted before quantizing (f32 value). */
  offset: number;
  /** absmax: one 8-bit code per 64-weight block. */
  codes: Uint8Array;
  /** nested_absmax: f32 scale per 256 codes. */
  absmax2: Float32Array;
  /** nested_quant_map: the 256-entry dynamic map. */
  code: Float32Array;
}

/** The mean of f32 values: float64 sum, one rounding to f32. */
export function meanF32(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return Math.fround(s / x.length);
}

export function doubleQuantize(absmax: Float32Array, code: Float32Array = dynamicMap()): NestedAbsmax {
  const offset = meanF32(absmax);
  const centered = new Float32Array(absmax.length);
  for (let i = 0; i < absmax.length; i++) centered[i] = Math.fround(absmax[i] - offset);
  const { codes, absmax: absmax2 } = quantizeBlockwise8(centered, code, NESTED_BLOCKSIZE);
  return { offset, codes, absmax2, code };
}

/** The f32 block scales dequantize_4bit uses: f32(f32(code[q] * absmax2) + offset). */
export function dequantizeNestedAbsmax(n: NestedAbsmax): Float32Array {
  const out = dequantizeBlockwise8(n.codes, n.absmax2, n.code, NESTED_BLOCKSIZE);
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i] + n.offset);
  return out;
}
