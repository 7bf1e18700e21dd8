// Holds out a seeded fraction of the training rows for evaluation (at least one row each side).
import { epochOrder } from './batching.ts';
import type { TrainingExamples } from '../data/examples.ts';

export function splitEval(set: TrainingExamples, fraction: number, seed: number): [TrainingExamples, TrainingExamples] {
  const n = set.rows.length;
  const held = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const order = epochOrder(n, seed, -1);
  const evalIdx = new Set(order.slice(0, held));
  const pick = <T,>(rows: T[], inEval: boolean) => rows.filter((_, i) => evalIdx.has(i) === inEval);
  if (set.method === 'sft') return [{ method: 'sft', rows: pick(set.rows, false) }, { method: 'sft', rows: pick(set.rows, true) }];
  return [{ method: 'dpo', rows: pick(set.rows, false) }, { method: 'dpo', rows: pick(set.rows, true) }];
}
