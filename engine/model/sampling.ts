// Next-token sampling on the CPU from one row of logits (V): greedy at temperature 0, else
// temperature -> top-k -> top-p (nucleus) -> a draw from a seeded generator, like transformers'
// TemperatureLogitsWarper / TopKLogitsWarper / TopPLogitsWarper order.
import { WhetstoneError } from '../errors.ts';
import { seededUniform } from '../util/random.ts';

export interface SamplingOptions {
  temperature: number; // 0 = greedy
  topK?: number; // 0 or undefined = off
  topP?: number; // 1 or undefined = off
  seed?: number;
}

export class Sampler {
  private readonly rand: () => number;
  constructor(readonly options: SamplingOptions) {
    this.rand = seededUniform(options.seed ?? 0);
  }

  next(logits: Float32Array): number {
    const { temperature, topK = 0, topP = 1 } = this.options;
    // NaN logits would pick token 0 for ever (argmax of NaNs) and print garbage: refuse them.
    for (let i = 0; i < logits.length; i++) {
      if (Number.isNaN(logits[i])) {
        throw new WhetstoneError(
          `The model produced NaN logits (vocabulary entry ${i}): its weights or the adapter hold NaN/Inf values`,
          'Check the adapter (a run whose loss went NaN saves NaN weights) or download the model again.',
        );
      }
    }
    if (!(temperature > 0)) return argmax(logits);
    let ids = Array.from(logits.keys());
    const scaled = (i: number) => logits[i] / temperature;
    ids.sort((a, b) => scaled(b) - scaled(a));
    if (topK > 0 && topK < ids.length) ids = ids.slice(0, topK);
    const max = scaled(ids[0]);
    let probs = ids.map((i) => Math.exp(scaled(i) - max));
    let sum = probs.reduce((s, p) => s + p, 0);
    probs = probs.map((p) => p / sum);
    if (topP < 1) {
      // Keep the smallest prefix whose mass reaches top_p (always at least one token).
      let cum = 0;
      let keep = 0;
      while (keep < probs.length && (keep === 0 || cum < topP)) cum += probs[keep++];
      ids = ids.slice(0, keep);
      probs = probs.slice(0, keep);
      sum = probs.reduce((s, p) => s + p, 0);
      probs = probs.map((p) => p / sum);
    }
    let u = this.rand();
    for (let i = 0; i < ids.length; i++) {
      u -= probs[i];
      if (u <= 0) return ids[i];
    }
    return ids[ids.length - 1];
  }
}

/** Index of the largest value; the lowest index wins ties (like torch.argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
