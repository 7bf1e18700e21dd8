// Packing as TRL's SFTTrainer does it (trl/data_utils.py pack_dataset), once, when the dataset is
// loaded: whole tokenized examples are packed into sequences of at most max_length tokens across
// the dataset, so an epoch has far fewer (and fuller) rows. The trainer then sees packed rows as
// any other rows. Strategies (SFTConfig.packing_strategy):
//   bfd        best-fit decreasing: examples sorted by length (longest first, ties in file order),
//              each into the fullest sequence it still fits (a new one when none); an example
//              longer than max_length is truncated to it
//   bfd_split  the same, but a long example is split into max_length pieces, each packed alone
//   wrapped    every example in file order as one stream, cut every max_length tokens: examples
//              are split at the cuts and see each other (one segment per sequence), as in TRL
// A packed row keeps TRL's seq_lengths: the lengths of its pieces in order. Batching restarts
// positions at each piece and lets no piece attend to another, so a piece's loss terms are
// exactly those of the example run alone.
import type { PackingStrategy } from '../recipe/fields.ts';
import type { SftExample } from './examples.ts';

export interface PackingStats {
  strategy: PackingStrategy;
  maxLength: number;
  /** Examples packed. */
  examples: number;
  /** Packed sequences (the rows an epoch now has). */
  sequences: number;
  /** Tokens in the packed sequences. */
  tokens: number;
  /** tokens / (sequences x max_length): 1 is no padding at all. */
  efficiency: number;
  /** Examples longer than max_length: truncated (bfd) or split (bfd_split, wrapped). */
  long: number;
}

export interface PackedExamples {
  rows: SftExample[];
  stats: PackingStats;
}

/** A piece of an example: [start, start + length) of example `index`. */
interface Piece {
  index: number;
  start: number;
  length: number;
}

/** Packs SFT examples into rows of at most maxLength tokens (see the file comment). */
export function packExamples(examples: SftExample[], maxLength: number, strategy: PackingStrategy): PackedExamples {
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new RangeError(`packExamples: maxLength must be a positive integer, got ${maxLength}`);
  const long = examples.filter((e) => e.ids.length > maxLength).length;
  const rows = strategy === 'wrapped' ? packWrapped(examples, maxLength) : packBestFit(examples, maxLength, strategy === 'bfd_split');
  const tokens = rows.reduce((s, r) => s + r.ids.length, 0);
  return {
    rows,
    stats: { strategy, maxLength, examples: examples.length, sequences: rows.length, tokens, efficiency: rows.length ? tokens / (rows.length * maxLength) : 0, long },
  };
}

/** Best-fit decreasing over the examples (or their max_length pieces when `split`). */
function packBestFit(examples: SftExample[], maxLength: number, split: boolean): SftExample[] {
  const pieces: Piece[] = [];
  examples.forEach((e, index) => {
    for (let start = 0; start < e.ids.length; start += maxLength) {
      pieces.push({ index, start, length: Math.min(maxLength, e.ids.length - start) });
      if (!split) break; // bfd keeps the first max_length tokens only
    }
  });
  // Longest first; equal lengths keep their order (a stable sort, as TRL's arrow sort).
  const order = pieces.map((_, i) => i).sort((a, b) => pieces[b].length - pieces[a].length || a - b);
  const bins: Piece[][] = [];
  const free = new FreeSpace(maxLength);
  for (const i of order) {
    const piece = pieces[i];
    const bin = free.takeBestFit(piece.length) ?? bins[bins.push([]) - 1];
    bin.push(piece);
    const left = maxLength - bin.reduce((s, p) => s + p.length, 0);
    if (left > 0) free.put(left, bin);
  }
  return bins.map((bin) => joinPieces(examples, bin));
}

/** Every example in order as one stream, cut every maxLength tokens (one segment per row). */
function packWrapped(examples: SftExample[], maxLength: number): SftExample[] {
  const ids: number[] = [];
  const mask: number[] = [];
  for (const e of examples) {
    for (let t = 0; t < e.ids.length; t++) {
      ids.push(e.ids[t]);
      mask.push(e.trainMask[t] ? 1 : 0);
    }
  }
  const rows: SftExample[] = [];
  for (let at = 0; at < ids.length; at += maxLength) {
    const n = Math.min(maxLength, ids.length - at);
    rows.push({ ids: ids.slice(at, at + n), trainMask: Uint8Array.from(mask.slice(at, at + n)), seqLengths: [n] });
  }
  return rows;
}

function joinPieces(examples: SftExample[], bin: Piece[]): SftExample {
  const total = bin.reduce((s, p) => s + p.length, 0);
  const ids: number[] = new Array(total);
  const trainMask = new Uint8Array(total);
  let at = 0;
  for (const p of bin) {
    const e = examples[p.index];
    for (let t = 0; t < p.length; t++) {
      ids[at + t] = e.ids[p.start + t];
      trainMask[at + t] = e.trainMask[p.start + t] ? 1 : 0;
    }
    at += p.length;
  }
  return { ids, trainMask, seqLengths: bin.map((p) => p.length) };
}

/**
 * Open sequences by free space (1..maxLength-1), the best fit for a length found in O(log max):
 * a segment tree over the free amounts answers "the smallest free space >= n", and sequences
 * with the same free space are taken first-in first-out (as TRL's deque).
 */
class FreeSpace {
  private readonly size: number;
  private readonly count: Int32Array; // segment tree of how many sequences have each free space
  private readonly bySpace = new Map<number, SftBin[]>();

  constructor(private readonly maxLength: number) {
    let size = 1;
    while (size < maxLength + 1) size *= 2;
    this.size = size;
    this.count = new Int32Array(2 * size);
  }

  put(space: number, bin: SftBin): void {
    const list = this.bySpace.get(space);
    if (list) list.push(bin);
    else this.bySpace.set(space, [bin]);
    this.add(space, 1);
  }

  /** The open sequence with the least free space that still holds `length` tokens, removed; null when none does. */
  takeBestFit(length: number): SftBin | null {
    const space = this.firstAtLeast(length);
    if (space === null) return null;
    const list = this.bySpace.get(space)!;
    const bin = list.shift()!;
    if (list.length === 0) this.bySpace.delete(space);
    this.add(space, -1);
    return bin;
  }

  private add(space: number, delta: number): void {
    for (let i = space + this.size; i >= 1; i >>= 1) this.count[i] += delta;
  }

  /** The smallest space in [lo, maxLength] with an open sequence. */
  private firstAtLeast(lo: number): number | null {
    const find = (node: number, left: number, right: number): number | null => {
      if (right < lo || left > this.maxLength || this.count[node] === 0) return null;
      if (left === right) return left;
      const mid = (left + right) >> 1;
      return find(2 * node, left, mid) ?? find(2 * node + 1, mid + 1, right);
    };
    return find(1, 0, this.size - 1);
  }
}

type SftBin = Piece[];
