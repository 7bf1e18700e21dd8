// Inverted dropout (PyTorch nn.Dropout in training mode) with a counter-based hash RNG: the mask
// is a pure function of (seed, element index), so the backward recomputes it and no mask buffer
// is stored. Use a new seed per step and per dropout site.
//   dropoutForward:  y  = x  * keep / (1 - p)     x, y: (n) f32
//   dropoutBackward: dx = dy * keep / (1 - p)     dy, dx: (n) f32, the forward's (p, seed)
// y may be x (and dx may be dy): then it runs in place. Naive equivalent: dropout.ref.ts.
import type { Binding, GpuContext } from '../gpu/context.ts';
import { GpuValidationError } from '../gpu/errors.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/dropout.wgsl?raw';
import hash from '../wgsl/dropoutHash.wgsl?raw';
import { flatGrid } from './grid.ts';

const SOURCE: KernelSource = { name: 'dropout', code: `${hash}\n${code}` };

export interface DropoutForwardArgs {
  x: Binding; // (n) f32
  y: Binding; // (n) f32; may be x itself
  n: number;
  p: number; // drop probability in [0, 1]
  seed: number; // u32
}

export interface DropoutBackwardArgs {
  dy: Binding; // (n) f32
  dx: Binding; // (n) f32; may be dy itself
  n: number;
  p: number; // the forward's
  seed: number; // the forward's
}

/** P(drop) = threshold / 2^32; elements whose 32-bit hash is below it are dropped. */
export function dropoutThreshold(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new GpuValidationError('dropout', `p must be in [0, 1], got ${p}`);
  return Math.min(Math.round(p * 2 ** 32), 2 ** 32 - 1);
}

/** The scale kept elements get: 1 / (1 - p), and 0 at p = 1 (everything dropped). */
export function dropoutScale(p: number): number {
  return p >= 1 ? 0 : 1 / (1 - p);
}

function range(b: Binding): { buffer: GPUBuffer; offset: number; size: number } {
  return 'buffer' in b ? b : { buffer: b, offset: 0, size: b.size };
}

function launch(ctx: GpuContext, entry: 'dropout_forward' | 'dropout_backward', src: Binding, dst: Binding, n: number, p: number, seed: number): void {
  const s = range(src);
  const d = range(dst);
  const inPlace = s.buffer === d.buffer && s.offset === d.offset;
  if (s.buffer === d.buffer && !inPlace && s.offset < d.offset + d.size && d.offset < s.offset + s.size) {
    throw new GpuValidationError(entry, 'input and output overlap without being the same range');
  }
  const grid = flatGrid(ctx, Math.ceil(n / 256));
  // p = 1 drops everything: threshold 2^32 - 1 would keep the one hash equal to it, so scale 0 decides.
  const params = dropoutParams(n, p, seed, grid.rowStride, 0);
  const buffers = inPlace ? [null, dst] : [src, dst];
  ctx.dispatch({ source: SOURCE, entryPoint: inPlace ? `${entry}_inplace` : entry }, buffers, params, grid.workgroups);
}

function dropoutParams(n: number, p: number, seed: number, rowStride: number, items: number): Params {
  return new Params().u32({ n, seed: seed >>> 0, threshold: dropoutThreshold(p) }).f32({ scale: dropoutScale(p) }).u32({ row_stride: rowStride, items });
}

/**
 * dx (n) += sum over z < items of parts[z] (items x n, f32) * keep(dropout_seed(seed, z), i) / (1 - p):
 * the LoRA input gradient of a fused group whose members each drop the shared input with their own mask.
 */
export function dropoutBackwardSum(ctx: GpuContext, a: { parts: Binding; dx: Binding; n: number; items: number; p: number; seed: number }): void {
  const grid = flatGrid(ctx, Math.ceil(a.n / 256));
  ctx.dispatch({ source: SOURCE, entryPoint: 'dropout_backward_sum' }, [a.parts, a.dx], dropoutParams(a.n, a.p, a.seed, grid.rowStride, a.items), grid.workgroups);
}

/** y = x * keep / (1 - p), keep from hash(seed, i). */
export function dropoutForward(ctx: GpuContext, a: DropoutForwardArgs): void {
  launch(ctx, 'dropout_forward', a.x, a.y, a.n, a.p, a.seed);
}

/** dx = dy * keep / (1 - p), with the forward's mask (same p and seed). */
export function dropoutBackward(ctx: GpuContext, a: DropoutBackwardArgs): void {
  launch(ctx, 'dropout_backward', a.dy, a.dx, a.n, a.p, a.seed);
}
