// Residual add, axpy (y += alpha·x) and scale over flat f32 buffers of n elements.
// Backward: add -> both inputs receive dout; scale -> dx = alpha·dy (scale again); axpy is itself
// the accumulation used by backward passes.
import type { GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/elementwise.wgsl?raw';
import { flatGrid } from './grid.ts';

const SOURCE: KernelSource = { name: 'elementwise', code };

function launch(ctx: GpuContext, entryPoint: string, n: number, alpha: number, buffers: (GPUBuffer | null)[]): void {
  const grid = flatGrid(ctx, Math.ceil(n / 256));
  ctx.dispatch({ source: SOURCE, entryPoint }, buffers, new Params().u32({ n }).f32({ alpha }).u32({ row_stride: grid.rowStride }), grid.workgroups);
}

/** out = a + b, each (n). */
export function add(ctx: GpuContext, a: GPUBuffer, b: GPUBuffer, out: GPUBuffer, n: number): void {
  launch(ctx, 'add_forward', n, 0, [a, b, out]);
}

/** y += alpha · x, each (n). */
export function axpy(ctx: GpuContext, alpha: number, x: GPUBuffer, y: GPUBuffer, n: number): void {
  launch(ctx, 'axpy_forward', n, alpha, [x, null, y]);
}

/** out = alpha · x, each (n). Also its own backward. */
export function scale(ctx: GpuContext, alpha: number, x: GPUBuffer, out: GPUBuffer, n: number): void {
  launch(ctx, 'scale_forward', n, alpha, [x, null, out]);
}
