// Turning examples into GPU batches: a seeded per-epoch shuffle (same seed => same order), micro-
// batches padded to their longest row, DPO pairs laid out as [chosen rows..., rejected rows...],
// and optional packing of short SFT rows into one sequence with segment ids (no cross-row attention).
import { seededUniform } from '../util/random.ts';
import { batchFromRows, type TokenBatch } from '../model/batch.ts';
import { IGNORE_INDEX } from '../util/labels.ts';
import type { PreferenceExample, TokenizedRow } from '../data/examples.ts';

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

export function sftBatch(rows: TokenizedRow[], padId: number): TokenBatch {
  return batchFromRows(rows, padId);
}

/** P pairs -> 2P rows: chosen 0..P-1 then rejected 0..P-1, padded to one length. */
export function dpoBatch(pairs: PreferenceExample[], padId: number): TokenBatch {
  return batchFromRows([...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], padId);
}

/**
 * Packs rows into sequences of at most maxLength tokens (first-fit in the given order). Each row
 * keeps its own positions (restarting at 0) and segment id, and its last token predicts nothing
 * of the next row, so packing changes no loss term.
 */
export function packRows(rows: TokenizedRow[], maxLength: number, padId: number): TokenBatch {
  const bins: TokenizedRow[][] = [];
  const used: number[] = [];
  for (const r of rows) {
    const len = Math.min(r.ids.length, maxLength);
    const i = used.findIndex((u) => u + len <= maxLength);
    if (i >= 0) {
      bins[i].push(r);
      used[i] += len;
    } else {
      bins.push([r]);
      used.push(len);
    }
  }
  const T = Math.max(1, ...used);
  const B = bins.length;
  const ids = new Uint32Array(B * T).fill(padId);
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  const positions = new Uint32Array(B * T);
  const segments = new Uint32Array(B * T).fill(0xffffffff);
  bins.forEach((bin, b) => {
    let at = 0;
    bin.forEach((r, s) => {
      const n = Math.min(r.ids.length, maxLength);
      for (let t = 0; t < n; t++) {
        ids[b * T + at + t] = r.ids[t];
        positions[b * T + at + t] = t;
        segments[b * T + at + t] = s;
        if (t + 1 < n && r.trainMask[t + 1]) labels[b * T + at + t] = r.ids[t + 1];
      }
      at += n;
    });
    for (let t = at; t < T; t++) {
      positions[b * T + t] = t - at;
      segments[b * T + t] = bin.length; // padding is its own segment
    }
  });
  return { B, T, ids, labels, positions, segments };
}
