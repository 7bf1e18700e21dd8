// bitsandbytes NF4 (4-bit NormalFloat), exactly as `quantize_4bit(A, blocksize=64, quant_type="nf4")`
// computes it on CUDA (csrc kQuantizeBlockwise<T, 64, 2, 0, NF4> + dQuantizeNF4):
//   x is the flattened row-major weight (n elements, as f32: the bf16/f16 values widened exactly);
//   blocks of 64 consecutive elements, the last one short when 64 does not divide n;
//   absmax[b] = max |x| over the block's valid elements (f32);
//   inv = 1 / absmax[b] rounded to f32;  scaled = x * inv rounded to f32;
//   code = dQuantizeNF4(scaled): a 4-level decision tree over the 15 midpoints of adjacent NF4
//          values (f32 literals, strict `>`), i.e. the number of thresholds strictly below scaled;
//   packed two per byte, element 2i in the high nibble, 2i + 1 in the low one: (n + 1) / 2 bytes.
// Ties: a scaled value exactly on a midpoint goes to the LOWER code (strict `>`). NaN (an all-zero
// block: 0 * (1/0)) fails every comparison and gets code 0 (-1.0; dequantizes to -1 * 0 = 0). The
// padding nibble of an odd n quantizes 0 * inv: code 7 (0.0), or 0 in an all-zero block. The CPU
// fallback of bitsandbytes (argmin |scaled - code| after clamp(-1, 1)) agrees except within an
// f32 rounding of a midpoint. Dequantized weight = (NF4[code] * absmax[b]) rounded to f32, then
// to the weight's dtype (dequantize_4bit returns quant_state.dtype), then used in f32 arithmetic.
// Math.fround on doubles gives the correctly rounded f32 of +, *, / of f32 operands (a double
// holds the exact product; division rounds once more but 53 >= 2 * 24 + 2 makes that exact).
import { f32BitsToF16Bits, f16BitsToNumber } from '../io/dtype.ts';

export const NF4_BLOCKSIZE = 64;

/** The 16 NF4 values (bitsandbytes get_4bit_type("nf4"), f32). Code i dequantizes to NF4_CODE[i]. */
export const NF4_CODE = Float32Array.of(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
);

/**
 * dQuantizeNF4's thresholds (csrc/kernels.cu), ascending: threshold i separates code i and i + 1.
 * The kernel writes them as 17-digit float literals (e.g. `-0.8480964004993439f`) of midpoints that
 * lie exactly halfway between two f32 values; the compiler rounds the decimal straight to the
 * nearer f32, which for 4 of them is not what decimal -> double -> f32 (ties to even) gives. These
 * are the exact f32 values (checked by scripts/reference/nf4_reference.py with rationals).
 */
export const NF4_THRESHOLDS = Float32Array.of(
  -0.8480964303016663, -0.6106328964233398, -0.4599952697753906, -0.33967941999435425, -0.23460739850997925,
  -0.13791173696517944, -0.045525018125772476, 0.03979014977812767, 0.1202552542090416, 0.2035212516784668,
  0.2920137643814087, 0.3893125355243683, 0.5016633868217468, 0.6427869200706482, 0.8614783883094788,
);

/** dQuantizeNF4(x): the tree as bitsandbytes writes it (root 0.0398, then 0.389 / -0.340, ...). */
export function nf4Code(x: number): number {
  const t = NF4_THRESHOLDS;
  // Each level tests the middle threshold of the codes still possible (lo .. lo + 2·half - 1);
  // `x > t` is false for NaN.
  let lo = 0;
  for (let half = 8; half >= 1; half >>= 1) {
    if (x > t[lo + half - 1]) lo += half;
  }
  return lo;
}

/** Blocks of a 4-bit quantization: packed codes and the per-block absmax (f32). */
export interface Nf4Blocks {
  /** ceil(n / 2) bytes: element 2i in the high nibble of byte i, 2i + 1 in the low nibble. */
  packed: Uint8Array;
  /** ceil(n / 64) f32 absmax values. */
  absmax: Float32Array;
}

export function nf4Sizes(numel: number): { bytes: number; blocks: number } {
  return { bytes: Math.ceil(numel / 2), blocks: Math.ceil(numel / NF4_BLOCKSIZE) };
}

export function allocNf4Blocks(numel: number): Nf4Blocks {
  const { bytes, blocks } = nf4Sizes(numel);
  return { packed: new Uint8Array(bytes), absmax: new Float32Array(blocks) };
}

/**
 * Quantizes x = elements [start, start + x.length) of the flattened weight into `out` (which covers
 * the whole weight). `start` is a multiple of 64, so chunks may be fed in order or in any order;
 * only the chunk holding the last element may end inside a block.
 */
export function quantizeNf4Into(x: Float32Array, start: number, out: Nf4Blocks): void {
  if (start % NF4_BLOCKSIZE !== 0) throw new RangeError(`quantizeNf4Into: start ${start} is not a multiple of ${NF4_BLOCKSIZE}`);
  const n = x.length;
  if (start + n > out.absmax.length * NF4_BLOCKSIZE || Math.ceil((start + n) / 2) > out.packed.length) {
    throw new RangeError(`quantizeNf4Into: elements [${start}, ${start + n}) exceed the output`);
  }
  if (n % NF4_BLOCKSIZE !== 0 && Math.ceil((start + n) / NF4_BLOCKSIZE) !== out.absmax.length) {
    throw new RangeError('quantizeNf4Into: only the last chunk may end inside a block');
  }
  for (let b0 = 0; b0 < n; b0 += NF4_BLOCKSIZE) {
    const b1 = Math.min(n, b0 + NF4_BLOCKSIZE);
    let absmax = 0;
    for (let i = b0; i < b1; i++) {
      const a = Math.abs(x[i]);
      if (a > absmax) absmax = a; // fmaxf: a NaN element is skipped
    }
    out.absmax[(start + b0) / NF4_BLOCKSIZE] = absmax;
    const inv = Math.fround(1 / absmax);
    for (let i = b0; i < b1; i += 2) {
      const hi = nf4Code(Math.fround(x[i] * inv));
      // The padding element of an odd n is 0 (cub's BlockLoad default).
      const lo = nf4Code(Math.fround((i + 1 < b1 ? x[i + 1] : 0) * inv));
      out.packed[(start + i) >> 1] = (hi << 4) | lo;
    }
  }
}

/** quantize_4bit(x, blocksize=64, quant_type="nf4") of a whole flattened weight held in memory. */
export function quantizeNf4(x: Float32Array): Nf4Blocks {
  const out = allocNf4Blocks(x.length);
  quantizeNf4Into(x, 0, out);
  return out;
}

/** The dtype a quantized weight dequantizes to (bitsandbytes' quant_state.dtype). */
export type Nf4Dtype = 'BF16' | 'F16' | 'F32';

/** Rounds an f32 value to `dtype` (round to nearest even, like a CUDA float -> bf16/half cast) and back. */
export function roundToDtype(v: number, dtype: Nf4Dtype): number {
  if (dtype === 'F32') return v;
  if (dtype === 'F16') return f16BitsToNumber(f32BitsToF16Bits(f32Bits(v)));
  const u = f32Bits(v);
  if ((u & 0x7fffffff) > 0x7f800000) return v; // NaN
  return bitsToF32(((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16);
}

const scratchF = new Float32Array(1);
const scratchU = new Uint32Array(scratchF.buffer);

function f32Bits(v: number): number {
  scratchF[0] = v;
  return scratchU[0];
}

function bitsToF32(u: number): number {
  scratchU[0] = u >>> 0;
  return scratchF[0];
}

/** Element i of a packed code array (high nibble for even i). */
export function nf4CodeAt(packed: Uint8Array, i: number): number {
  const byte = packed[i >> 1];
  return i & 1 ? byte & 0xf : byte >> 4;
}

/**
 * dequantize_4bit: out[i] = round_dtype(NF4[code_i] * absmax[i / 64]) for i in [start, start + out.length).
 * `absmax` are the f32 block scales (already dequantized when double-quantized).
 */
export function dequantizeNf4Into(packed: Uint8Array, absmax: Float32Array, dtype: Nf4Dtype, out: Float32Array, start = 0, quantMap: Float32Array = NF4_CODE): Float32Array {
  for (let j = 0; j < out.length; j++) {
    const i = start + j;
    out[j] = roundToDtype(Math.fround(quantMap[nf4CodeAt(packed, i)] * absmax[Math.floor(i / NF4_BLOCKSIZE)]), dtype);
  }
  return out;
}
