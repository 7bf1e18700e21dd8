// safetensors dtypes and CPU conversions between them. Float16/BFloat16 values travel as
// Uint16Array bit patterns. Checkpoints ship in BF16; the GPU wants f32 or f16.
// Conversions write into one output array and never copy the whole input: an unaligned input
// (a subarray of a file buffer at an odd offset) is converted through a small aligned scratch.
// Rounding is round-to-nearest-even, like PyTorch's `.half()` / `.bfloat16()`.

/** Bytes per element of each safetensors dtype the reader accepts (the sub-byte F4/F6 are not). */
export const DTYPE_SIZE = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
} as const;

export type Dtype = keyof typeof DTYPE_SIZE;
/** The float dtypes that convert to and from Float32Array here. */
export type FloatDtype = 'F64' | 'F32' | 'F16' | 'BF16';

export function isDtype(s: string): s is Dtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_SIZE, s);
}

// Typed-array views are host-endian; safetensors is little-endian. Every WebGPU host is LE.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('Whetstone needs a little-endian host');
}

/** Elements per scratch chunk when the input is not aligned for a typed view. */
const CHUNK = 1 << 20;

let f16Table: Float32Array | null = null;

/** The number an IEEE binary16 bit pattern holds. */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToNumber(h);
  }
  return f16Table;
}

/** F16 bits (n) -> f32 (n). */
export function f16ToF32(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  checkLen(src.length, out.length);
  const t = table();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}

/** BF16 bits (n) -> f32 (n): the bf16 bits are the top half of the f32 bits. */
export function bf16ToF32(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  checkLen(src.length, out.length);
  const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) o[i] = src[i] << 16;
  return out;
}

/** f32 (n) -> F16 bits (n), round to nearest even; overflow -> ±Inf, tiny -> subnormal or ±0, NaN stays NaN. */
export function f32ToF16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkLen(src.length, out.length);
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16Bits(u[i]);
  return out;
}

export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Result is subnormal (or zero): value = m24 * 2^(e-1-23+15) -> half mantissa = m24 >> (14 - e).
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    let h = m >>> shift;
    if (rest > halfway || (rest === halfway && h & 1)) h++;
    return sign | h;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry rounds up into the exponent, max -> Inf
  return h;
}

/** f32 (n) -> BF16 bits (n), round to nearest even (max finite rounds to Inf like PyTorch), NaN stays NaN. */
export function f32ToBf16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  checkLen(src.length, out.length);
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const x = u[i];
    out[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/**
 * Little-endian bytes of `dtype` (F32, F16, BF16, F64) -> Float32Array. `out` may be passed to
 * convert a chunk into part of a bigger array. `bytes` need not be aligned.
 */
export function bytesToF32(bytes: Uint8Array, dtype: FloatDtype, out?: Float32Array): Float32Array {
  const size = DTYPE_SIZE[dtype];
  if (bytes.byteLength % size !== 0) throw new RangeError(`bytesToF32: ${bytes.byteLength} bytes is not a whole number of ${dtype}`);
  const n = bytes.byteLength / size;
  const dst = out ?? new Float32Array(n);
  checkLen(n, dst.length);
  for (let start = 0; start < n; start += bytes.byteOffset % size === 0 ? n : CHUNK) {
    const count = bytes.byteOffset % size === 0 ? n : Math.min(CHUNK, n - start);
    const chunk = aligned(bytes, start * size, count * size, size);
    const o = dst.subarray(start, start + count);
    if (dtype === 'F32') o.set(new Float32Array(chunk.buffer, chunk.byteOffset, count));
    else if (dtype === 'F64') o.set(new Float64Array(chunk.buffer, chunk.byteOffset, count));
    else if (dtype === 'F16') f16ToF32(new Uint16Array(chunk.buffer, chunk.byteOffset, count), o);
    else if (dtype === 'BF16') bf16ToF32(new Uint16Array(chunk.buffer, chunk.byteOffset, count), o);
    else throw new TypeError(`bytesToF32: ${dtype as string} is not a float dtype`);
  }
  return dst;
}

/** Float32Array -> little-endian bytes of `dtype` (for writing safetensors). */
export function f32ToBytes(values: Float32Array, dtype: FloatDtype): Uint8Array {
  switch (dtype) {
    case 'F32':
      return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    case 'F64':
      return new Uint8Array(Float64Array.from(values).buffer);
    case 'F16':
      return new Uint8Array(f32ToF16(values).buffer);
    case 'BF16':
      return new Uint8Array(f32ToBf16(values).buffer);
    default:
      throw new TypeError(`f32ToBytes: ${dtype as string} is not a float dtype`);
  }
}

export function isFloatDtype(d: string): d is FloatDtype {
  return d === 'F32' || d === 'F16' || d === 'BF16' || d === 'F64';
}

/** bytes[off, off+len) as an array aligned to `align` (a view when it already is, else a copy of just that chunk). */
function aligned(bytes: Uint8Array, off: number, len: number, align: number): Uint8Array {
  const view = bytes.subarray(off, off + len);
  return view.byteOffset % align === 0 ? view : view.slice();
}

function checkLen(n: number, outLen: number): void {
  if (outLen !== n) throw new RangeError(`conversion: input has ${n} elements, output has ${outLen}`);
}
