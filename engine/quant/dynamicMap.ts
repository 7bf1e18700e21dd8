// bitsandbytes' 8-bit blockwise quantization with its signed dynamic map, used by NF4 double
// quantization for the per-block absmax values (quantize_blockwise(absmax - offset, blocksize=256)).
//   code = create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): 256 sorted f32
//          values in [-1, 1] (a dynamic exponent 10^-6 .. 10^0 times linearly spaced fractions);
//   per block of 256: absmax = max |x|, inv = f32(1 / absmax), q = dQuantize(code, f32(x * inv)),
//          the binary search of csrc/kernels.cu (7 halvings from pivot 127, then the nearer of the
//          two neighbours by an f32 midpoint; x exactly on a midpoint keeps the searched pivot);
//   dequantized value = f32(code[q] * absmax).
// The map is built as bitsandbytes builds it, on the CPU with torch.linspace in float32. torch's CPU
// linspace kernel is not a single formula: elements are computed 8 at a time (AVX2
// Vectorized<float>) as base + j·step from a base start + step·idx (fused multiply-add), and the
// tail one by one as start + step·idx (fused), the second half from the end. We reproduce that
// kernel (torch 1.13 on x86-64, checked by scripts/reference/nf4_reference.py): other CPUs/builds
// may differ in the last bit of a few entries. Files store their map (`nested_quant_map`), and
// reading a pre-quantized checkpoint uses the stored one.

/** Blocksize of the nested (absmax) quantization; bitsandbytes' matmul_4bit requires 256. */
export const NESTED_BLOCKSIZE = 256;

const fr = Math.fround;

/** f32(a * b + c) with one rounding (a fused multiply-add). Exact for the small operands used here. */
function fmaF32(a: number, b: number, c: number): number {
  return fr(a * b + c);
}

/** torch.linspace(start, end, steps, dtype=float32) as torch's CPU kernel computes it (see the header). */
export function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  const s = fr(start);
  const e = fr(end);
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = fr(fr(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const at = (idx: number) => (idx < halfway ? fmaF32(step, idx, s) : fmaF32(-step, steps - idx - 1, e));
  const V = 8;
  let idx = 0;
  // vectorized_loop: two vectors per iteration while 2V elements remain, then the scalar tail.
  for (let i = 0; i <= steps - 2 * V; i += 2 * V) {
    for (let v = 0; v < 2; v++, idx += V) {
      const base = at(idx);
      for (let j = 0; j < V; j++) out[idx + j] = fr(base + fr(j * step));
    }
  }
  for (; idx < steps; idx++) out[idx] = at(idx);
  return out;
}

/** bitsandbytes create_dynamic_map(signed, max_exponent_bits, total_bits): sorted f32 values. */
export function createDynamicMap(signed = true, maxExponentBits = 7, totalBits = 8): Float32Array {
  const data: number[] = [];
  const nonSignBits = totalBits - 1;
  const additionalItems = 2 ** (nonSignBits - maxExponentBits) - 1;
  // 10 ** (-(max_exponent_bits - 1) + i) as Python computes it (a correctly rounded double),
  // then cast to f32 by torch's tensor * scalar.
  const scale = (i: number) => fr(Number(`1e${-(maxExponentBits - 1) + i}`));
  const push = (fractionItems: number, i: number) => {
    const b = torchLinspaceF32(0.1, 1, fractionItems);
    for (let k = 0; k + 1 < b.length; k++) {
      const mean = fr(fr(b[k] + b[k + 1]) / 2);
      data.push(fr(scale(i) * mean));
      if (signed) data.push(fr(-scale(i) * mean));
    }
  };
  for (let i = 0; i < maxExponentBits; i++) {
    push(signed ? 2 ** (i + nonSignBits - maxExponentBits) + 1 : 2 ** (i + nonSignBits - maxExponentBits + 1) + 1, i);
  }
  if (additionalItems > 0) push(additionalItems + 1, maxExponentBits - 1);
  data.push(0, 1);
  if (data.length !== 2 ** totalBits) throw new Error(`createDynamicMap: ${data.length} values, expected ${2 ** totalBits}`);
  while (data.length < 256) data.push(0);
  return Float32Array.from(data.sort((a, b) => a - b));
}

let standardMap: Float32Array | null = null;

/** The default map (signed, 7 exponent bits, 8 bits), built once. Do not modify. */
export function dynamicMap(): Float32Array {
  standardMap ??= createDynamicMap();
  return standardMap;
}

/** dQuantize<0>(code, x) of csrc/kernels.cu: the index of the code value nearest x. `code` has 256 ascending entries. */
export function dQuantize(code: Float32Array, x: number): number {
  let pivot = 127;
  let upperPivot = 255;
  let lowerPivot = 0;
  let lower = -1;
  let upper = 1;
  let val = code[pivot];
  for (let i = 64; i > 0; i >>= 1) {
    if (x > val) {
      lowerPivot = pivot;
      lower = val;
      pivot += i;
    } else {
      upperPivot = pivot;
      upper = val;
      pivot -= i;
    }
    val = code[pivot];
  }
  if (upperPivot === 255) upper = code[upperPivot];
  if (lowerPivot === 0) lower = code[lowerPivot];
  if (x > val) {
    const mid = fr(fr(upper + val) * 0.5);
    return x > mid ? upperPivot : pivot;
  }
  const mid = fr(fr(lower + val) * 0.5);
  return x < mid ? lowerPivot : pivot;
}

/** quantize_blockwise(x, code, blocksize): 8-bit codes and f32 absmax per block (the last block may be short). */
export function quantizeBlockwise8(x: Float32Array, code: Float32Array, blocksize = NESTED_BLOCKSIZE): { codes: Uint8Array; absmax: Float32Array } {
  const codes = new Uint8Array(x.length);
  const absmax = new Float32Array(Math.ceil(x.length / blocksize));
  for (let b0 = 0, blk = 0; b0 < x.length; b0 += blocksize, blk++) {
    const b1 = Math.min(x.length, b0 + blocksize);
    let m = 0;
    for (let i = b0; i < b1; i++) {
      const a = Math.abs(x[i]);
      if (a > m) m = a;
    }
    absmax[blk] = m;
    const inv = fr(1 / m);
    for (let i = b0; i < b1; i++) codes[i] = dQuantize(code, fr(x[i] * inv));
  }
  return { codes, absmax };
}

/** dequantize_blockwise: f32(code[q] * absmax[block]). */
export function dequantizeBlockwise8(codes: Uint8Array, absmax: Float32Array, code: Float32Array, blocksize = NESTED_BLOCKSIZE): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = fr(code[codes[i]] * absmax[Math.floor(i / blocksize)]);
  return out;
}
