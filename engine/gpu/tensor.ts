// A view of GPU memory with a shape. Row-major, contiguous. `dtype` is the storage type;
// kernels always accumulate in f32.
export type DType = 'f32' | 'f16' | 'i32' | 'u32';

export interface Tensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export const BYTES_PER_ELEMENT: Record<DType, number> = { f32: 4, f16: 2, i32: 4, u32: 4 };

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function byteSize(shape: readonly number[], dtype: DType): number {
  return numel(shape) * BYTES_PER_ELEMENT[dtype];
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
