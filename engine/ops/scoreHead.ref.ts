// Float64 reference of the score head (wgsl/scoreHead.wgsl): rewards[b] = hidden[b·T + pos[b]] · w.

export function scoreHeadRef(hidden: ArrayLike<number>, w: ArrayLike<number>, pos: ArrayLike<number>, B: number, T: number, H: number): Float64Array {
  const out = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const base = (b * T + pos[b]) * H;
    for (let h = 0; h < H; h++) out[b] += hidden[base + h] * w[h];
  }
  return out;
}

/** Gradients of dot(rewards, dRewards) w.r.t. hidden (B·T, H) and w (H). */
export function scoreHeadBackwardRef(
  hidden: ArrayLike<number>,
  w: ArrayLike<number>,
  pos: ArrayLike<number>,
  dRewards: ArrayLike<number>,
  B: number,
  T: number,
  H: number,
): { dHidden: Float64Array; dWeight: Float64Array } {
  const dHidden = new Float64Array(B * T * H);
  const dWeight = new Float64Array(H);
  for (let b = 0; b < B; b++) {
    const base = (b * T + pos[b]) * H;
    for (let h = 0; h < H; h++) {
      dHidden[base + h] = dRewards[b] * w[h];
      dWeight[h] += dRewards[b] * hidden[base + h];
    }
  }
  return { dHidden, dWeight };
}
