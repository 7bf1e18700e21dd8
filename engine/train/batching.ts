// Turning examples into GPU batches: a seeded per-epoch shuffle (same seed => same order), micro-
// batches padded to their longest row (packed SFT rows, from data/packing.ts, carry their segments),
// DPO pairs laid out as [chosen rows..., rejected rows...].
import { seededUniform } from '../util/random.ts';
import { batchFromRows, type TokenBatch } from '../model/batch.ts';
import type { PreferenceExample, SftExample } from '../data/examples.ts';

/** Fisher-Yates permutation of [0, n) from (seed, epoch): reproducible across resumes. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const rand = seededUniform((seed * 2654435761 + epoch * 40503 + 1) >>> 0);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export function sftBatch(rows: SftExample[], padId: number): TokenBatch {
  return batchFromRows(rows, padId);
}

/** P pairs -> 2P rows: chosen 0..P-1 then rejected 0..P-1, padded to one length. */
export function dpoBatch(pairs: PreferenceExample[], padId: number): TokenBatch {
  return batchFromRows([...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], padId);
}
