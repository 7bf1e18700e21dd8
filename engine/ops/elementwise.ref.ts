// Float64 references for elementwise.ts.
export function addRef(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]);
}

export function axpyRef(alpha: number, x: Float64Array, y: Float64Array): Float64Array {
  return y.map((v, i) => v + alpha * x[i]);
}

export function scaleRef(alpha: number, x: Float64Array): Float64Array {
  return x.map((v) => alpha * v);
}
