// Float64 references for the fused matmul's operand kinds and epilogues (matmul.ts, operands.ts):
// each builds the dense matrix a fetch kind describes (or applies an epilogue to a dense result),
// so the naive equivalent of any fused call is matmulRef on these plus elementwise sums:
//   dual-K     out = alpha * op(A) op(B) + alpha2 * A2 op(B2) + bias (+ residual | + out)
//   lora_bd    loraBdDense: the (rows, S·r) block-diagonal matrix of stacked LoRA B rows
//   dropout    dropoutRows: x * mask(dropout_seed(seed, z), r * ld + c)
//   split2     splitJoin / splitParts: one (rows, cols) matrix as two buffers split at a column
import type { LoraSegments } from './matmul.ts';
import { dropoutMaskRef, dropoutSeedRef } from './dropout.ref.ts';
import { dropoutScale } from './dropout.ts';

function segmentOf(seg: LoraSegments, row: number): number {
  return seg.ends.findIndex((e) => row < e);
}

/** The virtual lora_bd matrix (rows = last segment end, cols) from B rows stacked at `offset`. */
export function loraBdDense(stacked: ArrayLike<number>, offset: number, seg: LoraSegments, cols: number): Float64Array {
  const rows = seg.ends[seg.ends.length - 1];
  const out = new Float64Array(rows * cols);
  for (let n = 0; n < rows; n++) {
    const s = segmentOf(seg, n);
    const blk = seg.blocks[s];
    if (blk === null) continue;
    const start = s === 0 ? 0 : seg.ends[s - 1];
    for (let k = 0; k < seg.r; k++) out[n * cols + blk * seg.r + k] = stacked[offset + (n - start + seg.bases[s]) * seg.r + k];
  }
  return out;
}

/** The lora_bd output: dB (stacked rows at `offset`) += the block diagonal of C (rows, cols). */
export function loraBdAccumulate(dB: Float64Array, offset: number, C: ArrayLike<number>, seg: LoraSegments, cols: number): Float64Array {
  const out = Float64Array.from(dB);
  const rows = seg.ends[seg.ends.length - 1];
  for (let n = 0; n < rows; n++) {
    const s = segmentOf(seg, n);
    const blk = seg.blocks[s];
    if (blk === null) continue;
    const start = s === 0 ? 0 : seg.ends[s - 1];
    for (let k = 0; k < seg.r; k++) out[offset + (n - start + seg.bases[s]) * seg.r + k] += C[n * cols + blk * seg.r + k];
  }
  return out;
}

/** x (rows, cols, row stride ld) with item z's dropout mask applied: what a dropout operand reads. */
export function dropoutRows(x: ArrayLike<number>, rows: number, cols: number, ld: number, p: number, seed: number, z: number): Float64Array {
  const keep = dropoutMaskRef(rows * ld, p, dropoutSeedRef(seed, z));
  const scale = dropoutScale(p);
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = x[r * ld + c] * keep[r * ld + c] * scale;
  return out;
}

/** (rows, cols) from its columns [0, split) and [split, cols) held as two row-major buffers. */
export function splitJoin(lo: ArrayLike<number>, hi: ArrayLike<number>, rows: number, split: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = c < split ? lo[r * split + c] : hi[r * (cols - split) + c - split];
  }
  return out;
}

/** The two buffers a split2 output writes for a (rows, cols) result. */
export function splitParts(x: ArrayLike<number>, rows: number, split: number, cols: number): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(rows * split);
  const hi = new Float64Array(rows * (cols - split));
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (c < split) lo[r * split + c] = x[r * cols + c];
      else hi[r * (cols - split) + c - split] = x[r * cols + c];
    }
  }
  return { lo, hi };
}

/** Elementwise a + b (+ c) of equal lengths. */
export function addAll(...xs: ArrayLike<number>[]): Float64Array {
  return Float64Array.from(xs[0], (_, i) => xs.reduce((s, x) => s + x[i], 0));
}
