// Merging a LoRA adapter into its base weight on the CPU, in float64:
//   W' = W + scale * (B @ A)        W (out, in), A (r, in), B (out, r)
// PEFT's merge_and_unload computes the same delta. The naive equivalent, per element:
//   s = 0; for k in 0..r-1: s += B[o,k] * A[k,i];  W'[o,i] = W[o,i] + scale * s
// mergeRow keeps exactly that order of float64 operations (so results equal the naive loop bit
// for bit) but walks A row by row (contiguous reads) into a float64 accumulator row.
// Rounding to the output dtype is done once, from float64, with round-to-nearest-even.
import { f32ToBf16, f32ToF16, type FloatDtype } from '../io/dtype.ts';

export interface MergeShape {
  outFeatures: number;
  inFeatures: number;
  r: number;
}

function checkShapes(W: ArrayLike<number>, A: ArrayLike<number>, B: ArrayLike<number>, s: MergeShape): void {
  const { outFeatures: o, inFeatures: i, r } = s;
  if (W.length !== o * i || A.length !== r * i || B.length !== o * r) {
    throw new RangeError(`mergeLora: W has ${W.length} elements (want ${o}x${i}), A ${A.length} (want ${r}x${i}), B ${B.length} (want ${o}x${r})`);
  }
}

/** acc (in) <- row `o` of W + scale * B @ A, in float64. */
function mergeRow(
  o: number,
  W: Float32Array | Float64Array,
  A: Float32Array,
  B: Float32Array,
  s: MergeShape,
  scale: number,
  acc: Float64Array,
): void {
  const { inFeatures: n, r } = s;
  acc.fill(0);
  for (let k = 0; k < r; k++) {
    const b = B[o * r + k];
    const aOff = k * n;
    for (let i = 0; i < n; i++) acc[i] += b * A[aOff + i];
  }
  const wOff = o * n;
  for (let i = 0; i < n; i++) acc[i] = W[wOff + i] + scale * acc[i];
}

/**
 * W (out, in) + scale * B (out, r) @ A (r, in), accumulated in float64. Returns (out, in) float64.
 */
export function mergeLora(
  W: Float32Array | Float64Array,
  A: Float32Array,
  B: Float32Array,
  shape: MergeShape,
  scale: number,
): Float64Array {
  checkShapes(W, A, B, shape);
  const out = new Float64Array(shape.outFeatures * shape.inFeatures);
  const acc = new Float64Array(shape.inFeatures);
  for (let o = 0; o < shape.outFeatures; o++) {
    mergeRow(o, W, A, B, shape, scale, acc);
    out.set(acc, o * shape.inFeatures);
  }
  return out;
}

/**
 * The merged weight (out, in) as little-endian bytes of `dtype`, built one row at a time (never a
 * whole float64 copy): each element is rounded once from float64 to nearest-even.
 */
export function mergeLoraToBytes(
  W: Float32Array | Float64Array,
  A: Float32Array,
  B: Float32Array,
  shape: MergeShape,
  scale: number,
  dtype: FloatDtype,
): Uint8Array {
  checkShapes(W, A, B, shape);
  const n = shape.inFeatures;
  const bytes = new Uint8Array(shape.outFeatures * n * BYTES[dtype]);
  const acc = new Float64Array(n);
  const scratch = new Float32Array(n);
  for (let o = 0; o < shape.outFeatures; o++) {
    mergeRow(o, W, A, B, shape, scale, acc);
    encodeF64Into(acc, dtype, bytes, o * n, scratch);
  }
  return bytes;
}

const BYTES: Record<FloatDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };

/**
 * float64 (n) -> f32 (n) rounded to ODD: exact values stay, inexact ones take whichever of their
 * two f32 neighbours has an odd last bit. Rounding that to bf16/f16 (>= 2 fewer significand bits)
 * with nearest-even then gives the correctly rounded result of the float64 value (no double
 * rounding error), which plain f64 -> f32 -> bf16 does not guarantee.
 */
export function f64ToF32RoundOdd(src: Float64Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  if (out.length !== src.length) throw new RangeError(`f64ToF32RoundOdd: ${src.length} -> ${out.length}`);
  const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) {
    const x = src[i];
    out[i] = x;
    const f = out[i];
    if (f !== x && Number.isFinite(f) && (u[i] & 1) === 0) {
      // f is the even neighbour; step one ulp towards x to the odd one (sign-magnitude bits).
      u[i] += Math.abs(f) > Math.abs(x) ? -1 : 1;
    }
  }
  return out;
}

/**
 * Writes float64 values (n) as `dtype` into bytes at element index `at` (so a row lands inside a
 * tensor's buffer). F64/F32 round once in the conversion; BF16/F16 through f64ToF32RoundOdd.
 */
export function encodeF64Into(src: Float64Array, dtype: FloatDtype, bytes: Uint8Array, at: number, scratch?: Float32Array): void {
  const n = src.length;
  const size = BYTES[dtype];
  const byteOff = bytes.byteOffset + at * size;
  if (at < 0 || (at + n) * size > bytes.byteLength) throw new RangeError(`encodeF64Into: ${n} ${dtype} at ${at} past ${bytes.byteLength} bytes`);
  const alignedOk = byteOff % size === 0;
  const target = alignedOk ? bytes : new Uint8Array(n * size);
  const off = alignedOk ? byteOff : 0;
  if (dtype === 'F64') new Float64Array(target.buffer, off, n).set(src);
  else if (dtype === 'F32') new Float32Array(target.buffer, off, n).set(src);
  else {
    const f = f64ToF32RoundOdd(src, scratch && scratch.length === n ? scratch : undefined);
    const u16 = new Uint16Array(target.buffer, off, n);
    if (dtype === 'BF16') f32ToBf16(f, u16);
    else f32ToF16(f, u16);
  }
  if (!alignedOk) bytes.set(target, at * size);
}

/** float64 values (n) -> new little-endian bytes of `dtype`. */
export function encodeF64(src: Float64Array, dtype: FloatDtype): Uint8Array {
  const bytes = new Uint8Array(src.length * BYTES[dtype]);
  encodeF64Into(src, dtype, bytes, 0);
  return bytes;
}
