// 16-bit helpers for kernel tests and benchmarks, on top of the one binary16 / bfloat16 conversion
// in engine/io/dtype.ts (round to nearest even via f32, like the GPU upload and PyTorch's
// `.half()` / `.bfloat16()`). A Uint16Array of bits uploads as the packed pairs the kernels read.
import { bf16ToF32, f16BitsToNumber, f32ToBf16, f32ToF16 } from '../io/dtype.ts';

/** Packs values as f16 bits (a Uint16Array to upload: `upload(device, toF16(values))`). */
export function toF16(values: ArrayLike<number>): Uint16Array {
  return f32ToF16(Float32Array.from(values));
}

/** The values an f16 buffer of `values` holds, as float64 (what a reference should see). */
export function roundToF16(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(toF16(values), f16BitsToNumber);
}

/** Packs values as bf16 bits. */
export function toBf16(values: ArrayLike<number>): Uint16Array {
  return f32ToBf16(Float32Array.from(values));
}

/** The values a bf16 buffer of `values` holds, as float64. */
export function roundToBf16(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(bf16ToF32(toBf16(values)));
}
