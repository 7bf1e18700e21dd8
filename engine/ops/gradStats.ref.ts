// Float64 references for gradStats.ts: torch.nn.utils.clip_grad_norm_ (norm_type 2) over several
// gradient buffers, plus an isfinite check over the gradients and any extra values (the loss).

export interface GradStatsRef {
  sumSq: number;
  norm: number;
  /** torch: clamp(maxNorm / (norm + 1e-6), max=1); 1 when maxNorm <= 0 (clipping disabled). */
  clip: number;
  nonFinite: boolean;
}

/** sum(g^2) of one buffer in float64. */
export function sumSquaresRef(g: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return s;
}

/** The global L2 norm of several buffers: sqrt(sum over buffers of sum(g^2)). */
export function globalNormRef(grads: ArrayLike<number>[]): number {
  return Math.sqrt(grads.reduce((s, g) => s + sumSquaresRef(g), 0));
}

/** torch.nn.utils.clip_grad_norm_'s coefficient: the grads are multiplied by it. */
export function clipCoefficientRef(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) return 1;
  return Math.min(1, maxNorm / (norm + 1e-6));
}

export function gradStatsRef(grads: ArrayLike<number>[], maxNorm: number, extraValues: ArrayLike<number>[] = []): GradStatsRef {
  const sumSq = grads.reduce((s, g) => s + sumSquaresRef(g), 0);
  const norm = Math.sqrt(sumSq);
  const nonFinite = [...grads, ...extraValues].some((a) => Array.prototype.some.call(a, (x: number) => !Number.isFinite(x)));
  return { sumSq, norm, clip: nonFinite ? 0 : clipCoefficientRef(norm, maxNorm), nonFinite };
}
