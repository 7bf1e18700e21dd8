// Float64 references for optimizer.ts: torch.optim.AdamW (amsgrad=False) and plain SGD, written out
// as torch's _single_tensor_adamw computes them, with the gradient pre-multiplied by the clip
// coefficient (torch.nn.utils.clip_grad_norm_ scales the grads in place before optimizer.step()).

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface AdamWState {
  param: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** One AdamW step at 1-based step t; returns the new state (inputs untouched). Skipped if nonFinite. */
export function adamwRef(s: AdamWState, grad: ArrayLike<number>, h: AdamWHyper, t: number, clip = 1, nonFinite = false): AdamWState {
  if (nonFinite) return { param: s.param.slice(), m: s.m.slice(), v: s.v.slice() };
  const bc1 = 1 - h.beta1 ** t;
  const bc2 = 1 - h.beta2 ** t;
  const param = new Float64Array(s.param.length);
  const m = new Float64Array(s.m.length);
  const v = new Float64Array(s.v.length);
  for (let i = 0; i < param.length; i++) {
    const g = grad[i] * clip;
    const p = s.param[i] * (1 - h.lr * h.weightDecay);
    m[i] = h.beta1 * s.m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * s.v[i] + (1 - h.beta2) * g * g;
    const mhat = m[i] / bc1;
    const vhat = v[i] / bc2;
    param[i] = p - (h.lr * mhat) / (Math.sqrt(vhat) + h.eps);
  }
  return { param, m, v };
}

/** p - lr * grad * clip; skipped if nonFinite. */
export function sgdRef(param: Float64Array, grad: ArrayLike<number>, lr: number, clip = 1, nonFinite = false): Float64Array {
  if (nonFinite) return param.slice();
  return param.map((p, i) => p - lr * grad[i] * clip);
}
