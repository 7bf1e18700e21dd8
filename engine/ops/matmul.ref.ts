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
