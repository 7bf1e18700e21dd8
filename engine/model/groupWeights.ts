// Building fused linear groups on the GPU from per-module weights (checkpoint loading, random
// benchmark models, tests): members' (out_i, in) matrices concatenated along out in the storage
// dtype, or their NF4 quantizations packed side by side (each keeps its own blocks), their biases
// concatenated in f32.
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { f32ToBf16, f32ToF16 } from '../io/dtype.ts';
import { packNf4Group } from '../quant/gpuLayout.ts';
import type { Nf4Weight } from '../quant/nf4Weight.ts';
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
  const bias = uploadBias(ctx, parts, starts, buffers, label);
  const w = upload(ctx.device, weight, undefined, `${label}.weight`);
  buffers.push(w);
  return { name, modules, weight: w, bias, starts, outFeatures: out, inFeatures, dtype };
}

/** The members' biases side by side (zeros for a member without one), or null when none has one. */
function uploadBias(ctx: GpuContext, parts: { bias: Float32Array | null }[], starts: number[], buffers: GPUBuffer[], label: string): GPUBuffer | null {
  if (!parts.some((p) => p.bias)) return null;
  const b = new Float32Array(starts[starts.length - 1]);
  parts.forEach((p, i) => p.bias && b.set(p.bias, starts[i]));
  const bias = upload(ctx.device, b, undefined, `${label}.bias`);
  buffers.push(bias);
  return bias;
}

/** One member of an NF4 group: its quantized (out, in) weight and its bias. */
export interface Nf4GroupPart {
  weight: Nf4Weight;
  bias: Float32Array | null;
}

/** Uploads group `name` as NF4 from its members' quantized weights (in LINEAR_GROUPS order). */
export function uploadNf4Group(ctx: GpuContext, name: GroupName, parts: Nf4GroupPart[], buffers: GPUBuffer[], label: string = name): LinearGroup {
  const modules = LINEAR_GROUPS[name];
  if (parts.length !== modules.length) throw new RangeError(`group ${name} has ${modules.length} members, got ${parts.length}`);
  const starts = [0];
  for (const p of parts) starts.push(starts[starts.length - 1] + p.weight.shape[0]);
  const bias = uploadBias(ctx, parts, starts, buffers, label);
  const w = upload(ctx.device, packNf4Group(parts.map((p) => p.weight)), undefined, `${label}.weight (nf4)`);
  buffers.push(w);
  return { name, modules, weight: w, bias, starts, outFeatures: starts[starts.length - 1], inFeatures: parts[0].weight.shape[1], dtype: 'nf4' };
}
