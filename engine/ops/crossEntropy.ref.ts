// Float64 references for crossEntropy.ts and lossReduce.ts: the naive, unfused computations with
// the full (N, V) logits held at once.
//   logits = hidden @ W^T                      hidden is (N, H), W is (V, H), logits is (N, V)
//   lse[i] = log sum_v exp(logits[i, v])
//   loss[i] = lse[i] - logits[i, label[i]]     (0 where label[i] == -100)
import { IGNORE_INDEX } from '../util/labels.ts';

export { IGNORE_INDEX };

export interface CrossEntropyRef {
  logits: Float64Array; // (N, V)
  lse: Float64Array; // (N)
  loss: Float64Array; // (N)
}

/** hidden is (N, H), weight is (V, H), labels is (N). */
export function lmHeadCrossEntropyRef(hidden: Float64Array, weight: Float64Array, labels: ArrayLike<number>, N: number, H: number, V: number): CrossEntropyRef {
  const logits = new Float64Array(N * V);
  const lse = new Float64Array(N);
  const loss = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let h = 0; h < H; h++) s += hidden[i * H + h] * weight[v * H + h];
      logits[i * V + v] = s;
      max = Math.max(max, s);
    }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[i * V + v] - max);
    lse[i] = max + Math.log(sum);
    const label = labels[i];
    loss[i] = label === IGNORE_INDEX ? 0 : lse[i] - logits[i * V + label];
  }
  return { logits, lse, loss };
}

/**
 * dHidden (N, H) of L = sum_i dLoss[i] * loss[i]:
 *   dlogits[i, v] = (softmax[i, v] - [v == label[i]]) * dLoss[i]   (0 for ignored rows)
 *   dHidden = dlogits @ W
 */
export function lmHeadCrossEntropyBackwardRef(
  hidden: Float64Array,
  weight: Float64Array,
  labels: ArrayLike<number>,
  dLoss: ArrayLike<number>,
  N: number,
  H: number,
  V: number,
): Float64Array {
  return backwardFromLogits(lmHeadCrossEntropyRef(hidden, weight, labels, N, H, V), weight, labels, dLoss, N, H, V);
}

/** lmHeadCrossEntropyBackwardRef given the forward's logits (N, V) and lse (N). */
export function backwardFromLogits(
  fwd: Pick<CrossEntropyRef, 'logits' | 'lse'>,
  weight: Float64Array,
  labels: ArrayLike<number>,
  dLoss: ArrayLike<number>,
  N: number,
  H: number,
  V: number,
): Float64Array {
  const { logits, lse } = fwd;
  const dHidden = new Float64Array(N * H);
  for (let i = 0; i < N; i++) {
    if (labels[i] === IGNORE_INDEX) continue;
    for (let v = 0; v < V; v++) {
      const g = (Math.exp(logits[i * V + v] - lse[i]) - (v === labels[i] ? 1 : 0)) * dLoss[i];
      for (let h = 0; h < H; h++) dHidden[i * H + h] += g * weight[v * H + h];
    }
  }
  return dHidden;
}

/** E (N, H) = softmax(logits) @ W: what a training forward keeps for the backward. */
export function softmaxWeightRef(fwd: Pick<CrossEntropyRef, 'logits' | 'lse'>, weight: Float64Array, N: number, H: number, V: number): Float64Array {
  const E = new Float64Array(N * H);
  for (let i = 0; i < N; i++) {
    for (let v = 0; v < V; v++) {
      const p = Math.exp(fwd.logits[i * V + v] - fwd.lse[i]);
      for (let h = 0; h < H; h++) E[i * H + h] += p * weight[v * H + h];
    }
  }
  return E;
}

/** The backward from E: dHidden[i] = dLoss[i] * (E[i] - W[label[i]]), 0 for ignored rows. */
export function backwardFromSoftmaxWeightRef(E: Float64Array, weight: Float64Array, labels: ArrayLike<number>, dLoss: ArrayLike<number>, N: number, H: number): Float64Array {
  const dHidden = new Float64Array(N * H);
  for (let i = 0; i < N; i++) {
    if (labels[i] === IGNORE_INDEX) continue;
    for (let h = 0; h < H; h++) dHidden[i * H + h] = dLoss[i] * (E[i * H + h] - weight[labels[i] * H + h]);
  }
  return dHidden;
}

/** sum(loss) / count(labels != -100), 0 when nothing is counted. Returns [mean, count]. */
export function maskedTokenMeanRef(loss: ArrayLike<number>, labels: ArrayLike<number>): [number, number] {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === IGNORE_INDEX) continue;
    sum += loss[i];
    count++;
  }
  return [count > 0 ? sum / count : 0, count];
}

/** dLoss[i] = dMean / count for counted rows, 0 elsewhere (the backward of maskedTokenMeanRef). */
export function maskedTokenMeanBackwardRef(labels: ArrayLike<number>, dMean: number): Float64Array {
  const count = Array.from(labels).filter((l) => l !== IGNORE_INDEX).length;
  return Float64Array.from(labels, (l) => (l === IGNORE_INDEX || count === 0 ? 0 : dMean / count));
}

/** out[s] = sum over counted rows i of sequence s of -loss[i]; rows are (S, T). */
export function sequenceLogprobSumsRef(loss: ArrayLike<number>, labels: ArrayLike<number>, S: number, T: number): Float64Array {
  const out = new Float64Array(S);
  for (let s = 0; s < S; s++) for (let t = 0; t < T; t++) if (labels[s * T + t] !== IGNORE_INDEX) out[s] -= loss[s * T + t];
  return out;
}

/** dLoss[i] = -dSums[s] for counted rows i of sequence s, 0 elsewhere. */
export function sequenceLogprobSumsBackwardRef(labels: ArrayLike<number>, dSums: ArrayLike<number>, S: number, T: number): Float64Array {
  const out = new Float64Array(S * T);
  for (let s = 0; s < S; s++) for (let t = 0; t < T; t++) if (labels[s * T + t] !== IGNORE_INDEX) out[s * T + t] = -dSums[s];
  return out;
}
