// NaN/Inf in base weights: a damaged or badly converted checkpoint. Found at load (naming the
// tensor and the first bad element) instead of as a NaN loss on every step.
import { CheckpointError } from './errors.ts';

/**
 * Throws a CheckpointError when `values` (a chunk of tensor `tensor`, starting at element
 * `offset`) holds NaN or ±Inf. One multiply-add per element: x*0 is 0 for every finite x and NaN
 * otherwise, so the sum is 0 exactly when all are finite.
 */
export function assertFiniteWeights(values: Float32Array, tensor: string, file: string, offset = 0): void {
  let acc = 0;
  for (let i = 0; i < values.length; i++) acc += values[i] * 0;
  if (acc === 0) return;
  let at = 0;
  while (at < values.length && Number.isFinite(values[at])) at++;
  throw new CheckpointError(
    file,
    `tensor ${tensor} holds ${values[at]} at element ${offset + at}: the weights are damaged (NaN/Inf)`,
    'Download the model again, or check the conversion that produced it (an overflow to float16 gives Inf).',
  );
}
