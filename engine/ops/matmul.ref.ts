// Float64 references for matmul.ts.
//   forward:  out[z,m,n] = alpha * sum_k opA[z,m,k] * opB[z,k,n] + bias[n] (+ out[z,m,n] when accumulate)
//   backward: dA = alpha * dOut @ op(B)^T (transposed back when transA), dB likewise, dBias = sum over rows.
// These are the same matmul with transposes (tfjs BatchMatMul_grad.ts), which is how the model calls
// the GPU kernel for gradients; the tests finite-difference this backward.

export interface MatmulRefArgs {
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  batch?: number;
  strideA?: number;
  strideB?: number;
  strideOut?: number;
  alpha?: number;
  bias?: ArrayLike<number> | null;
  /** Initial contents of out when accumulating. */
  accumulateInto?: ArrayLike<number> | null;
}

function strides(p: MatmulRefArgs): { sa: number; sb: number; so: number; batch: number } {
  return { sa: p.strideA ?? p.M * p.K, sb: p.strideB ?? p.K * p.N, so: p.strideOut ?? p.M * p.N, batch: p.batch ?? 1 };
}

/** Element index of opA[z, m, k] in A's storage. */
export function indexA(p: MatmulRefArgs, z: number, m: number, k: number): number {
  return z * strides(p).sa + (p.transA ? k * p.M + m : m * p.K + k);
}

/** Element index of opB[z, k, n] in B's storage. */
export function indexB(p: MatmulRefArgs, z: number, k: number, n: number): number {
  return z * strides(p).sb + (p.transB ? n * p.K + k : k * p.N + n);
}

/** out, sized to hold the last batch item at its stride. */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, p: MatmulRefArgs): Float64Array {
  const { sa, sb, so, batch } = strides(p);
  const size = (batch - 1) * so + p.M * p.N;
  const out = p.accumulateInto ? Float64Array.from(p.accumulateInto) : new Float64Array(size);
  const alpha = p.alpha ?? 1;
  // opA[z, m, k] = a[z * sa + m * amStep + k * akStep], likewise for B (same as indexA / indexB).
  const [amStep, akStep] = p.transA ? [1, p.M] : [p.K, 1];
  const [bkStep, bnStep] = p.transB ? [1, p.K] : [p.N, 1];
  for (let z = 0; z < batch; z++) {
    for (let m = 0; m < p.M; m++) {
      for (let n = 0; n < p.N; n++) {
        let s = 0;
        let ia = z * sa + m * amStep;
        let ib = z * sb + n * bnStep;
        for (let k = 0; k < p.K; k++, ia += akStep, ib += bkStep) s += a[ia] * b[ib];
        const v = alpha * s + (p.bias ? p.bias[n] : 0);
        const o = z * so + m * p.N + n;
        out[o] = p.accumulateInto ? out[o] + v : v;
      }
    }
  }
  return out;
}

/** Gradients of L given dL/dout, for contiguous-or-strided A and B (broadcast items sum). */
export function matmulBackwardRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dOut: ArrayLike<number>,
  p: MatmulRefArgs,
): { dA: Float64Array; dB: Float64Array; dBias: Float64Array } {
  const { so, batch } = strides(p);
  const alpha = p.alpha ?? 1;
  const dA = new Float64Array(a.length);
  const dB = new Float64Array(b.length);
  const dBias = new Float64Array(p.N);
  for (let z = 0; z < batch; z++) {
    for (let m = 0; m < p.M; m++) {
      for (let n = 0; n < p.N; n++) {
        const g = dOut[z * so + m * p.N + n];
        dBias[n] += g;
        for (let k = 0; k < p.K; k++) {
          dA[indexA(p, z, m, k)] += alpha * g * b[indexB(p, z, k, n)];
          dB[indexB(p, z, k, n)] += alpha * g * a[indexA(p, z, m, k)];
        }
      }
    }
  }
  return { dA, dB, dBias };
}

/** Rounds every value to the nearest f16 (what f16 storage holds), returned as float64. */
export function roundToF16(x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f16Bits2Float(float2F16Bits(x[i]));
  return out;
}

/** IEEE half bits of x, round to nearest even (via f32 first, as the GPU upload does). */
export function float2F16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h; // a carry into the exponent is the correct rounding (up to inf)
}

export function f16Bits2Float(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** f16 storage bits of x, for uploading A or B with aType/bType 'f16'. */
export function toF16Bits(x: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = float2F16Bits(x[i]);
  return out;
}
