// Building fused linear groups on the GPU from per-module weights (checkpoint loading, random
// benchmark models, tests): members' (out_i, in) matrices concatenated along out in the storage
// dtype, their biases concatenated in f32.
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { f32ToBf16, f32ToF16 } from '../io/dtype.ts';
import { LINEAR_GROUPS, type GroupName, type LinearGroup, type WeightType } from './weights.ts';

/** Values in a storage dtype: f32 as is, f16 / bf16 as 16-bit bits (uploaded as packed pairs). */
export type StorageArray = Float32Array | Uint16Array;

export function toStorage(values: Float32Array, dtype: WeightType): StorageArray {
  if (dtype === 'f16') return f32ToF16(values);
  if (dtype === 'bf16') return f32ToBf16(values);
  return values;
}

/** One member of a group: its weight (out, in) already in the storage dtype, and its bias. */
export interface GroupPart {
  weight: StorageArray;
  outFeatures: number;
  bias: Float32Array | null;
}

/** Uploads group `name` from its members' parts (in LINEAR_GROUPS order). */
export function uploadGroup(ctx: GpuContext, name: GroupName, parts: GroupPart[], inFeatures: number, dtype: WeightType, buffers: GPUBuffer[], label: string = name): LinearGroup {
  const modules = LINEAR_GROUPS[name];
  if (parts.length !== modules.length) throw new RangeError(`group ${name} has ${modules.length} members, got ${parts.length}`);
  const starts = [0];
  for (const p of parts) starts.push(starts[starts.length - 1] + p.outFeatures);
  const out = starts[starts.length - 1];
  const weight = dtype === 'f32' ? new Float32Array(out * inFeatures) : new Uint16Array(out * inFeatures);
  parts.forEach((p, i) => {
    if (p.weight.length !== p.outFeatures * inFeatures) throw new RangeError(`${modules[i]}: ${p.weight.length} values, expected ${p.outFeatures} x ${inFeatures}`);
    if ((dtype === 'f32') !== p.weight instanceof Float32Array) throw new TypeError(`${modules[i]}: weight array does not hold ${dtype}`);
    weight.set(p.weight as never, starts[i] * inFeatures);
  });
  const hasBias = parts.some((p) => p.bias);
  let bias: GPUBuffer | null = null;
  if (hasBias) {
    const b = new Float32Array(out);
    parts.forEach((p, i) => p.bias && b.set(p.bias, starts[i]));
    bias = upload(ctx.device, b, undefined, `${label}.bias`);
    buffers.push(bias);
  }
  const w = upload(ctx.device, weight, undefined, `${label}.weight`);
  buffers.push(w);
  return { name, modules, weight: w, bias, starts, outFeatures: out, inFeatures, dtype };
}
