// Float64 references for embedding.ts. ids (T); table (rows, H) chunk starting at rowStart;
// out, dOut (T, H); dTable (rows, H).

/** out[t, :] = table[ids[t] - rowStart, :] where the chunk holds ids[t]; other rows keep `out`'s values. */
export function embeddingForwardRef(ids: ArrayLike<number>, table: ArrayLike<number>, out: Float64Array, H: number, rowStart: number, rows: number): Float64Array {
  const y = Float64Array.from(out);
  for (let t = 0; t < ids.length; t++) {
    const r = ids[t] - rowStart;
    if (r < 0 || r >= rows) continue;
    for (let c = 0; c < H; c++) y[t * H + c] = table[r * H + c];
  }
  return y;
}

/** Gradient of sum(out * dOut) with respect to the chunk: a scatter-add, token by token. */
export function embeddingBackwardRef(ids: ArrayLike<number>, dOut: ArrayLike<number>, H: number, rowStart: number, rows: number): Float64Array {
  const dTable = new Float64Array(rows * H);
  for (let t = 0; t < ids.length; t++) {
    const r = ids[t] - rowStart;
    if (r < 0 || r >= rows) continue;
    for (let c = 0; c < H; c++) dTable[r * H + c] += dOut[t * H + c];
  }
  return dTable;
}
