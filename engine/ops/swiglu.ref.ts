// Float64 references for swiglu.ts, all (n).

function sigmoid(g: number): number {
  return 1 / (1 + Math.exp(-g));
}

/** h = silu(gate) * up = gate * sigmoid(gate) * up. */
export function swigluForwardRef(gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  return Float64Array.from(gate, (g, i) => g * sigmoid(g) * up[i]);
}

/** Gradients of sum(h * dh) with respect to gate and up. */
export function swigluBackwardRef(gate: ArrayLike<number>, up: ArrayLike<number>, dh: ArrayLike<number>): { dGate: Float64Array; dUp: Float64Array } {
  const dGate = Float64Array.from(gate, (g, i) => {
    const s = sigmoid(g);
    return dh[i] * up[i] * s * (1 + g * (1 - s));
  });
  const dUp = Float64Array.from(gate, (g, i) => dh[i] * g * sigmoid(g));
  return { dGate, dUp };
}
