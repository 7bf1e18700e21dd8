// Float64 references for attention.ts: naive masked softmax attention and its analytic backward.
//   q is (B, Tq, nHeads, hd), k and v are (B, Tk, nKvHeads, hd), segments is (B, Tk) or null.
//   Query row i sits at position Tk - Tq + i and sees keys j <= that position with the same segment.
import type { AttentionShape } from './attention.ts';

export interface AttentionRefOut {
  out: Float64Array; // (B, Tq, nHeads, hd)
  lse: Float64Array; // (B, nHeads, Tq)
}

export interface AttentionRefGrads {
  dq: Float64Array; // (B, Tq, nHeads, hd)
  dk: Float64Array; // (B, Tk, nKvHeads, hd)
  dv: Float64Array; // (B, Tk, nKvHeads, hd)
}

function visible(s: AttentionShape, segments: ArrayLike<number> | null, b: number, i: number, j: number): boolean {
  const pos = s.Tk - s.Tq + i;
  if (j > pos) return false;
  return !segments || segments[b * s.Tk + j] === segments[b * s.Tk + pos];
}

/** P (Tk) of one (b, h, i) row, with its log-sum-exp; masked entries are 0. */
function probs(s: AttentionShape, q: ArrayLike<number>, k: ArrayLike<number>, segments: ArrayLike<number> | null, b: number, h: number, i: number): { p: Float64Array; lse: number } {
  const { Tq, Tk, nHeads, nKvHeads, headDim: hd } = s;
  const g = Math.floor(h / (nHeads / nKvHeads));
  const qi = ((b * Tq + i) * nHeads + h) * hd;
  const scores = new Float64Array(Tk).fill(-Infinity);
  let max = -Infinity;
  for (let j = 0; j < Tk; j++) {
    if (!visible(s, segments, b, i, j)) continue;
    const kj = ((b * Tk + j) * nKvHeads + g) * hd;
    let dot = 0;
    for (let d = 0; d < hd; d++) dot += q[qi + d] * k[kj + d];
    scores[j] = dot * s.scale;
    max = Math.max(max, scores[j]);
  }
  let sum = 0;
  for (let j = 0; j < Tk; j++) sum += scores[j] === -Infinity ? 0 : Math.exp(scores[j] - max);
  const p = scores.map((x) => (x === -Infinity ? 0 : Math.exp(x - max) / sum));
  return { p, lse: max + Math.log(sum) };
}

export function attentionRef(s: AttentionShape, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, segments: ArrayLike<number> | null = null): AttentionRefOut {
  const { B, Tq, Tk, nHeads, nKvHeads, headDim: hd } = s;
  const out = new Float64Array(B * Tq * nHeads * hd);
  const lse = new Float64Array(B * nHeads * Tq);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < nHeads; h++) {
      const g = Math.floor(h / (nHeads / nKvHeads));
      for (let i = 0; i < Tq; i++) {
        const r = probs(s, q, k, segments, b, h, i);
        lse[(b * nHeads + h) * Tq + i] = r.lse;
        const oi = ((b * Tq + i) * nHeads + h) * hd;
        for (let j = 0; j < Tk; j++) {
          if (r.p[j] === 0) continue;
          const vj = ((b * Tk + j) * nKvHeads + g) * hd;
          for (let d = 0; d < hd; d++) out[oi + d] += r.p[j] * v[vj + d];
        }
      }
    }
  return { out, lse };
}

/** Analytic backward of attentionRef's `out` given dOut (B, Tq, nHeads, hd). */
export function attentionBackwardRef(
  s: AttentionShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dOut: ArrayLike<number>,
  segments: ArrayLike<number> | null = null,
): AttentionRefGrads {
  const { B, Tq, Tk, nHeads, nKvHeads, headDim: hd } = s;
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < nHeads; h++) {
      const g = Math.floor(h / (nHeads / nKvHeads));
      for (let i = 0; i < Tq; i++) {
        const { p } = probs(s, q, k, segments, b, h, i);
        const qi = ((b * Tq + i) * nHeads + h) * hd;
        // dP_j = dO_i . v_j ; D = sum_j P_j dP_j (= rowsum(dO * out)); dS_j = P_j (dP_j - D)
        const dp = new Float64Array(Tk);
        let D = 0;
        for (let j = 0; j < Tk; j++) {
          if (p[j] === 0) continue;
          const vj = ((b * Tk + j) * nKvHeads + g) * hd;
          for (let d = 0; d < hd; d++) dp[j] += dOut[qi + d] * v[vj + d];
          D += p[j] * dp[j];
        }
        for (let j = 0; j < Tk; j++) {
          if (p[j] === 0) continue;
          const kj = ((b * Tk + j) * nKvHeads + g) * hd;
          const ds = p[j] * (dp[j] - D) * s.scale;
          for (let d = 0; d < hd; d++) {
            dv[kj + d] += p[j] * dOut[qi + d];
            dq[qi + d] += ds * k[kj + d];
            dk[kj + d] += ds * q[qi + d];
          }
        }
      }
    }
  return { dq, dk, dv };
}
