// Float64 references for rope.ts. x, dy: (tokens, nHeads, headDim); positions: (tokens);
// invFreq: (headDim / 2).

/**
 * HF's angle: position * inv_freq computed as one f32 product (transformers builds
 * `inv_freq_expanded.float() @ position_ids_expanded.float()` in f32), then float64 cos/sin.
 */
function angle(position: number, invFreq: number): number {
  return Math.fround(position * invFreq);
}

function rotate(x: ArrayLike<number>, positions: ArrayLike<number>, invFreq: ArrayLike<number>, tokens: number, nHeads: number, headDim: number, sign: number): Float64Array {
  const half = headDim / 2;
  const out = new Float64Array(tokens * nHeads * headDim);
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < nHeads; h++) {
      const base = (t * nHeads + h) * headDim;
      // Naive rotate-half: out = x * cos + rotate_half(x) * sin, with cos/sin over all headDim.
      for (let d = 0; d < headDim; d++) {
        const a = angle(positions[t], invFreq[d % half]);
        const rotated = d < half ? -x[base + d + half] : x[base + d - half];
        out[base + d] = x[base + d] * Math.cos(a) + rotated * sign * Math.sin(a);
      }
    }
  }
  return out;
}

export function ropeForwardRef(x: ArrayLike<number>, positions: ArrayLike<number>, invFreq: ArrayLike<number>, tokens: number, nHeads: number, headDim: number): Float64Array {
  return rotate(x, positions, invFreq, tokens, nHeads, headDim, 1);
}

/** dL/dx for dL/dout = dy: the transpose of each rotation, i.e. the rotation by -angle. */
export function ropeBackwardRef(dy: ArrayLike<number>, positions: ArrayLike<number>, invFreq: ArrayLike<number>, tokens: number, nHeads: number, headDim: number): Float64Array {
  return rotate(dy, positions, invFreq, tokens, nHeads, headDim, -1);
}

/** theta^(-2i/d) in float64 (no f32 steps), i = 0 .. d/2 - 1. */
export function defaultInvFreqRef(headDim: number, theta: number): Float64Array {
  return Float64Array.from({ length: headDim / 2 }, (_, i) => theta ** (-(2 * i) / headDim));
}

/**
 * transformers' _compute_llama3_parameters, written out in float64 on the default frequencies:
 *   wavelen = 2 pi / inv_freq
 *   wavelen > original_max / low_freq_factor  -> inv_freq / factor
 *   wavelen < original_max / high_freq_factor -> inv_freq
 *   otherwise smooth = (original_max / wavelen - low) / (high - low),
 *             inv = (1 - smooth) * inv_freq / factor + smooth * inv_freq
 */
export function llama3InvFreqRef(baseInvFreq: ArrayLike<number>, factor: number, low: number, high: number, originalMax: number): Float64Array {
  const lowFreqWavelen = originalMax / low;
  const highFreqWavelen = originalMax / high;
  return Float64Array.from(baseInvFreq, (v) => {
    const wavelen = (2 * Math.PI) / v;
    if (wavelen < highFreqWavelen) return v;
    if (wavelen > lowFreqWavelen) return v / factor;
    const smooth = (originalMax / wavelen - low) / (high - low);
    return ((1 - smooth) * v) / factor + smooth * v;
  });
}

/** Columns [offset, offset + width) of every row of a (tokens, stride) matrix. */
function columns(x: ArrayLike<number>, tokens: number, stride: number, offset: number, width: number): Float64Array {
  const out = new Float64Array(tokens * width);
  for (let t = 0; t < tokens; t++) for (let c = 0; c < width; c++) out[t * width + c] = x[t * stride + offset + c];
  return out;
}

export interface RopeQKRefArgs {
  tokens: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  stride: number;
  qOffset: number;
  kOffset: number;
  vOffset: number;
}

/**
 * ropeQKForward's naive equivalent on fused rows x (tokens, stride): the q heads and the k heads
 * rotated (ropeForwardRef on each), the rest of each row unchanged; and the cache sink's rows:
 * k (after RoPE) and v of token t, (tokens, nKv * headDim) each, for rows position + t.
 */
export function ropeQKForwardRef(x: ArrayLike<number>, positions: ArrayLike<number>, invFreq: ArrayLike<number>, a: RopeQKRefArgs): { x: Float64Array; k: Float64Array; v: Float64Array } {
  const qd = a.nHeads * a.headDim;
  const kd = a.nKvHeads * a.headDim;
  const q = ropeForwardRef(columns(x, a.tokens, a.stride, a.qOffset, qd), positions, invFreq, a.tokens, a.nHeads, a.headDim);
  const k = ropeForwardRef(columns(x, a.tokens, a.stride, a.kOffset, kd), positions, invFreq, a.tokens, a.nKvHeads, a.headDim);
  const out = Float64Array.from(x);
  for (let t = 0; t < a.tokens; t++) {
    for (let c = 0; c < qd; c++) out[t * a.stride + a.qOffset + c] = q[t * qd + c];
    for (let c = 0; c < kd; c++) out[t * a.stride + a.kOffset + c] = k[t * kd + c];
  }
  return { x: out, k, v: columns(x, a.tokens, a.stride, a.vOffset, kd) };
}
