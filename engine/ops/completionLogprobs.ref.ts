// Float64 references of wgsl/completionLogprobs.wgsl (rows (S, T), labels already shifted).
import { IGNORE_INDEX } from './crossEntropy.ref.ts';

/** Per row: sum of -loss and count over counted positions t with t + 1 >= starts[s]. */
export function completionLogprobSumsRef(loss: ArrayLike<number>, labels: ArrayLike<number>, starts: ArrayLike<number>, S: number, T: number): { sums: Float64Array; counts: Float64Array } {
  const sums = new Float64Array(S);
  const counts = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    for (let t = 0; t < T; t++) {
      if (labels[s * T + t] === IGNORE_INDEX || t + 1 < starts[s]) continue;
      sums[s] -= loss[s * T + t];
      counts[s]++;
    }
  }
  return { sums, counts };
}

/** Token mean of loss over counted positions of rows [0, rows) (ORPO/SimPO's NLL), and the count. */
export function leadingRowsTokenMeanRef(loss: ArrayLike<number>, labels: ArrayLike<number>, rows: number, T: number): [number, number] {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < rows * T; i++) {
    if (labels[i] === IGNORE_INDEX) continue;
    sum += loss[i];
    count++;
  }
  return [count > 0 ? sum / count : 0, count];
}

/** d(dot(sums, dSums) + nllScale · leadingRowsTokenMean) / d loss, per token. */
export function completionNllBackwardRef(
  labels: ArrayLike<number>,
  starts: ArrayLike<number>,
  dSums: ArrayLike<number>,
  S: number,
  T: number,
  nllRows: number,
  nllScale: number,
): Float64Array {
  const out = new Float64Array(S * T);
  const count = leadingRowsTokenMeanRef(new Float64Array(S * T), labels, nllRows, T)[1];
  for (let s = 0; s < S; s++) {
    for (let t = 0; t < T; t++) {
      const i = s * T + t;
      if (labels[i] === IGNORE_INDEX) continue;
      if (t + 1 >= starts[s]) out[i] -= dSums[s];
      if (s < nllRows && count > 0) out[i] += nllScale / count;
    }
  }
  return out;
}
