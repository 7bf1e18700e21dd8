// Float64 references for rmsnorm.ts: the naive row-by-row formulas. x, y, dy, dx: (rows, dim).

export interface RmsnormRef {
  y: Float64Array; // (rows, dim)
  rstd: Float64Array; // (rows)
}

/** y = x * rsqrt(mean(x^2) + eps) * weight, row by row. */
export function rmsnormForwardRef(x: Float64Array, weight: ArrayLike<number>, rows: number, dim: number, eps: number): RmsnormRef {
  const y = new Float64Array(rows * dim);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += x[r * dim + j] ** 2;
    const s = 1 / Math.sqrt(ss / dim + eps);
    rstd[r] = s;
    for (let j = 0; j < dim; j++) y[r * dim + j] = x[r * dim + j] * s * weight[j];
  }
  return { y, rstd };
}

export interface RmsnormGradRef {
  dx: Float64Array; // (rows, dim)
  dWeight: Float64Array; // (dim)
}

/** Gradients of sum(y * dy) with respect to x and weight (rstd recomputed from x). */
export function rmsnormBackwardRef(x: Float64Array, weight: ArrayLike<number>, dy: ArrayLike<number>, rows: number, dim: number, eps: number): RmsnormGradRef {
  const { rstd } = rmsnormForwardRef(x, weight, rows, dim, eps);
  const dx = new Float64Array(rows * dim);
  const dWeight = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const s = rstd[r];
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += dy[r * dim + j] * weight[j] * x[r * dim + j];
    const c = (dot / dim) * s * s;
    for (let j = 0; j < dim; j++) {
      const i = r * dim + j;
      dx[i] = s * (dy[i] * weight[j] - x[i] * c);
      dWeight[j] += dy[i] * x[i] * s;
    }
  }
  return { dx, dWeight };
}
