// Test helpers shared by every op test: seeded random data, the closeness check
// |gpu - ref| <= atol + rtol * |ref|, and central finite differences of float64 references.
import { expect } from 'vitest';
import { seededUniform } from '../util/random.ts';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export const rng = seededUniform;

/** Uniform values in [-scale, scale). */
export function randomArray(n: number, seed: number, scale = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

export function toF32(a: ArrayLike<number>): Float32Array {
  return Float32Array.from(a);
}

export function toF64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a);
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Asserts |actual - expected| <= atol + rtol * |expected| elementwise, reporting the worst index. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, what = 'values'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (!(excess <= 0)) {
      bad++;
      if (worst < 0 || !(excess <= worstExcess)) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad > 0) {
    expect.fail(`${what}: ${bad}/${expected.length} outside atol=${tol.atol} rtol=${tol.rtol}; worst at ${worst}: got ${actual[worst]}, want ${expected[worst]}`);
  }
}

/**
 * Central finite differences of a scalar function f(x) at x, for the listed indices (all when
 * omitted). Used to check every float64 reference backward: dL/dx_i ~ (f(x+h e_i) - f(x-h e_i)) / 2h.
 */
export function finiteDifference(f: (x: Float64Array) => number, x: Float64Array, indices?: number[], h = 1e-6): Float64Array {
  const idx = indices ?? Array.from(x, (_, i) => i);
  const grad = new Float64Array(idx.length);
  idx.forEach((i, k) => {
    const saved = x[i];
    x[i] = saved + h;
    const up = f(x);
    x[i] = saved - h;
    const down = f(x);
    x[i] = saved;
    grad[k] = (up - down) / (2 * h);
  });
  return grad;
}

/** A loss L = sum(y * w) with fixed random w, whose gradient dL/dy = w: turns any op into a scalar. */
export function dotWith(y: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * w[i];
  return s;
}

/** Evenly spread sample of indices in [0, n), for finite differences on big tensors. */
export function sampleIndices(n: number, count: number, seed = 7): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const r = rng(seed);
  return Array.from({ length: count }, () => Math.floor(r() * n));
}
