// Turns a flat count of workgroups into a 2-D dispatch that respects the per-dimension limit
// (65535 by default), so elementwise kernels work on tensors of any size.
import type { GpuContext } from '../gpu/context.ts';

export interface Grid {
  workgroups: [number, number];
  /** Workgroups per row of the grid: a kernel's flat workgroup index is wg.y * rowStride + wg.x. */
  rowStride: number;
}

export function flatGrid(ctx: GpuContext, count: number): Grid {
  const max = ctx.caps.maxComputeWorkgroupsPerDimension;
  if (count <= max) return { workgroups: [Math.max(count, 0), 1], rowStride: Math.max(count, 1) };
  const rows = Math.ceil(count / max);
  const perRow = Math.ceil(count / rows);
  return { workgroups: [perRow, rows], rowStride: perRow };
}
