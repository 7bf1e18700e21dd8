// A batch of token sequences on the GPU: B rows of T tokens (right-padded), with labels already
// shifted the way Hugging Face shifts them (labels[t] is the token that logits at t must predict;
// -100 where the loss ignores it), RoPE positions, and packed-row segment ids when rows are packed.
import type { GpuContext } from '../gpu/context.ts';
import { IGNORE_INDEX } from '../util/labels.ts';

export interface TokenBatch {
  B: number;
  T: number;
  ids: Uint32Array; // (B·T)
  labels: Int32Array; // (B·T)
  positions: Uint32Array; // (B·T)
  /** (B·T) packed-row id of each token; omit when each row is one example. */
  segments?: Uint32Array;
}

export interface GpuBatch {
  B: number;
  T: number;
  ids: GPUBuffer;
  labels: GPUBuffer;
  positions: GPUBuffer;
  segments: GPUBuffer | null;
  /** Tokens the loss counts (labels != -100). */
  countedTokens: number;
  cpu: TokenBatch;
  destroy(): void;
}

/**
 * Puts a batch on the GPU in pooled buffers (so a step of the same shape as the last one binds the
 * same buffers and reuses its bind groups); destroy() returns them to the pool.
 */
export function uploadBatch(ctx: GpuContext, b: TokenBatch): GpuBatch {
  const put = (data: Uint32Array | Int32Array, label: string): GPUBuffer => {
    const buffer = ctx.pool.acquire(data.byteLength, undefined, label);
    ctx.write(buffer, data);
    return buffer;
  };
  const ids = put(b.ids, 'ids');
  const labels = put(b.labels, 'labels');
  const positions = put(b.positions, 'positions');
  const segments = b.segments ? put(b.segments, 'segments') : null;
  let counted = 0;
  for (const l of b.labels) if (l !== IGNORE_INDEX) counted++;
  return {
    B: b.B,
    T: b.T,
    ids,
    labels,
    positions,
    segments,
    countedTokens: counted,
    cpu: b,
    destroy() {
      for (const buffer of [ids, labels, positions, segments]) if (buffer) ctx.pool.release(buffer);
    },
  };
}

/** A row of a batch: tokens, the mask of trained tokens, and (packed rows) the lengths of the examples in it. */
export interface BatchRow {
  ids: ArrayLike<number>;
  trainMask: ArrayLike<number>;
  /** Packed rows: lengths of the examples packed into this row, in order (TRL's seq_lengths). */
  seqLengths?: readonly number[];
}

/**
 * Builds a right-padded batch from rows of (ids, trainMask): labels[t] = ids[t+1] where
 * trainMask[t+1] is 1, else -100 (so the loss counts exactly the masked tokens, shifted by one).
 * When a row is packed (seqLengths), every example in it is its own segment: positions restart
 * at 0, attention stays inside it, and its last token predicts nothing; padding is one more
 * segment. Without packed rows there are no segments (plain causal attention).
 */
export function batchFromRows(rows: BatchRow[], padId: number, T?: number): TokenBatch {
  const B = rows.length;
  const len = T ?? Math.max(1, ...rows.map((r) => r.ids.length));
  const ids = new Uint32Array(B * len).fill(padId);
  const labels = new Int32Array(B * len).fill(IGNORE_INDEX);
  const positions = new Uint32Array(B * len);
  const packed = rows.some((r) => r.seqLengths);
  const segments = packed ? new Uint32Array(B * len) : undefined;
  rows.forEach((r, b) => {
    const n = Math.min(r.ids.length, len);
    const pieces = r.seqLengths ?? [r.ids.length];
    let start = 0;
    pieces.forEach((pieceLength, s) => {
      const end = Math.min(n, start + pieceLength);
      for (let t = start; t < end; t++) {
        ids[b * len + t] = r.ids[t];
        positions[b * len + t] = t - start;
        if (segments) segments[b * len + t] = s;
        if (t + 1 < end && r.trainMask[t + 1]) labels[b * len + t] = r.ids[t + 1];
      }
      start = end;
    });
    for (let t = start; t < len; t++) {
      positions[b * len + t] = segments ? t - start : t;
      if (segments) segments[b * len + t] = pieces.length; // padding is its own segment
    }
  });
  return segments ? { B, T: len, ids, labels, positions, segments } : { B, T: len, ids, labels, positions };
}
