// Holds out a seeded fraction of the training rows for evaluation (at least one row each side).
import type { TrainingExamples } from '../data/examples.ts';
import { epochOrder } from './batching.ts';

export function splitEval(set: TrainingExamples, fraction: number, seed: number): [TrainingExamples, TrainingExamples] {
  const n = set.rows.length;
  const held = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const order = epochOrder(n, seed, -1);
  const evalIdx = new Set(order.slice(0, held));
  const pick = (inEval: boolean) => ({ ...set, rows: (set.rows as unknown[]).filter((_, i) => evalIdx.has(i) === inEval) }) as TrainingExamples;
  return [pick(false), pick(true)];
}
