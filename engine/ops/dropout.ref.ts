// Float64 reference for dropout.ts: the same hash as engine/wgsl/dropoutHash.wgsl, in 32-bit integer
// arithmetic (Math.imul), so the mask is bit-for-bit the GPU's.
import { dropoutScale, dropoutThreshold } from './dropout.ts';

function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** keep[i] in {0, 1} for elements 0 .. n-1. */
export function dropoutMaskRef(n: number, p: number, seed: number): Uint8Array {
  const threshold = dropoutThreshold(p);
  const s = seed >>> 0;
  const hs = pcg(s);
  const keep = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const h = pcg((pcg((i ^ hs) >>> 0) + s) >>> 0);
    keep[i] = h >= threshold && p < 1 ? 1 : 0;
  }
  return keep;
}

/** The seed of item z of a fused group (dropout_seed in dropoutHash.wgsl). */
export function dropoutSeedRef(base: number, z: number): number {
  return (base + Math.imul(z, 0x9e3779b9)) >>> 0;
}

/** y = x * keep / (1 - p). Linear in x, so it is also the backward: dx = dy * keep / (1 - p). */
export function dropoutRef(x: ArrayLike<number>, p: number, seed: number): Float64Array {
  const keep = dropoutMaskRef(x.length, p, seed);
  const scale = dropoutScale(p);
  return Float64Array.from(x, (v, i) => v * keep[i] * scale);
}

/** dx + sum over z of parts[z] * keep(seed of item z) / (1 - p): dropoutBackwardSum's naive equivalent. */
export function dropoutBackwardSumRef(dx: ArrayLike<number>, parts: ArrayLike<number>, items: number, p: number, seed: number): Float64Array {
  const n = dx.length;
  const out = Float64Array.from(dx);
  for (let z = 0; z < items; z++) {
    const masked = dropoutRef(Array.from({ length: n }, (_, i) => parts[z * n + i]), p, dropoutSeedRef(seed, z));
    for (let i = 0; i < n; i++) out[i] += masked[i];
  }
  return out;
}
