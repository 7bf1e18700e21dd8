// Creating LoRA adapters on the GPU: shapes per module from the model spec, PEFT's initialisation
// (A ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0), and reading them back.
//
// Storage: every A and B lives in one flat f32 buffer (a chunk), and every gradient at the same
// offset of a twin buffer, so the optimizer and the gradient norm run over a whole chunk in one
// dispatch each. Within a layer the layout follows the fused groups (model/weights.ts):
//   for each group (qkv, o, gateUp, down): [A of each targeted member][B of each targeted member]
// so a group's A rows (S·r, in) and B rows (sum of outs, r) are contiguous: one GEMM reads them
// all. Group blocks start at multiples of 4 floats (vec4 loads). Layers go to one chunk until it
// would pass the storage binding limit, then to the next.
import { createBuffer, upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import type { ModelSpec } from '../model/config.ts';
import { moduleShape, type ModuleName } from '../model/modules.ts';
import { GROUP_NAMES, LINEAR_GROUPS } from '../model/weights.ts';
import { seededUniform } from '../util/random.ts';
import { WhetstoneError } from '../errors.ts';
import { loraScale, type LoraAdapter, type LoraChunk, type LoraConfig, type LoraModule } from './types.ts';

export interface InitialWeights {
  A: Float32Array;
  B: Float32Array;
}

/** A fresh adapter: A Kaiming-uniform (same seed => same weights), B zero. */
export function createLoraAdapter(ctx: GpuContext, spec: ModelSpec, config: LoraConfig, seed: number): LoraAdapter {
  const rand = seededUniform(seed);
  return buildAdapter(ctx, spec, config, (_layer, _m, inF, outF) => {
    const bound = 1 / Math.sqrt(inF);
    const A = new Float32Array(config.r * inF);
    for (let i = 0; i < A.length; i++) A[i] = (rand() * 2 - 1) * bound;
    return { A, B: new Float32Array(outF * config.r) };
  });
}

const align4 = (n: number) => Math.ceil(n / 4) * 4;

/** Element offsets of every targeted module's A and B within its layer, and the layer's size. */
function layerLayout(spec: ModelSpec, config: LoraConfig): { offsets: Map<ModuleName, { a: number; b: number }>; size: number } {
  const targeted = new Set(config.targetModules);
  const offsets = new Map<ModuleName, { a: number; b: number }>();
  let at = 0;
  for (const g of GROUP_NAMES) {
    const members = LINEAR_GROUPS[g].filter((m) => targeted.has(m));
    if (members.length === 0) continue;
    at = align4(at);
    const aStart = at;
    for (const m of members) at += config.r * moduleShape(spec, m).inFeatures;
    at = align4(at);
    let b = at;
    let a = aStart;
    for (const m of members) {
      const { inFeatures, outFeatures } = moduleShape(spec, m);
      offsets.set(m, { a, b });
      a += config.r * inFeatures;
      b += outFeatures * config.r;
    }
    at = b;
  }
  return { offsets, size: align4(at) };
}

/** Builds an adapter whose A/B come from `init` (fresh, or loaded from a PEFT file). */
export function buildAdapter(
  ctx: GpuContext,
  spec: ModelSpec,
  config: LoraConfig,
  init: (layer: number, m: ModuleName, inFeatures: number, outFeatures: number) => InitialWeights,
): LoraAdapter {
  const scale = loraScale(config);
  const { offsets, size } = layerLayout(spec, config);
  const maxElements = Math.floor(Math.min(ctx.caps.maxStorageBufferBindingSize, ctx.caps.maxBufferSize) / 4);
  if (size > maxElements) {
    throw new WhetstoneError(`one layer's LoRA tensors (${size} floats) do not fit one GPU binding`, 'Use a smaller lora_r.');
  }
  const perChunk = Math.max(1, Math.floor(maxElements / Math.max(size, 1)));
  const chunks: LoraChunk[] = [];
  const hostChunks: Float32Array[] = [];
  for (let l = 0; l < spec.numLayers; l += perChunk) {
    const layers = Math.min(perChunk, spec.numLayers - l);
    hostChunks.push(new Float32Array(layers * size));
  }
  // Init is called in (layer, config.targetModules) order, so a seed gives the same weights as ever.
  const placed: { l: number; m: ModuleName; inFeatures: number; outFeatures: number; at: { a: number; b: number } }[] = [];
  for (let l = 0; l < spec.numLayers; l++) {
    for (const m of config.targetModules) {
      const { inFeatures, outFeatures } = moduleShape(spec, m);
      const w = init(l, m, inFeatures, outFeatures);
      const base = (l % perChunk) * size;
      const at = { a: base + offsets.get(m)!.a, b: base + offsets.get(m)!.b };
      hostChunks[Math.floor(l / perChunk)].set(w.A, at.a);
      hostChunks[Math.floor(l / perChunk)].set(w.B, at.b);
      placed.push({ l, m, inFeatures, outFeatures, at });
    }
  }
  hostChunks.forEach((host, i) => {
    const params = createBuffer(ctx.device, host.length * 4, undefined, `lora params ${i}`);
    ctx.device.queue.writeBuffer(params, 0, host as Float32Array<ArrayBuffer>);
    // WebGPU zero-initialises new buffers: the gradients start at 0.
    chunks.push({ params, grads: createBuffer(ctx.device, host.length * 4, undefined, `lora grads ${i}`), size: host.length });
  });
  const layers: Partial<Record<ModuleName, LoraModule>>[] = Array.from({ length: spec.numLayers }, () => ({}));
  for (const p of placed) {
    const chunk = chunks[Math.floor(p.l / perChunk)];
    layers[p.l][p.m] = { params: chunk.params, grads: chunk.grads, aOffset: p.at.a, bOffset: p.at.b, r: config.r, inFeatures: p.inFeatures, outFeatures: p.outFeatures, scale };
  }
  return { config, layers, chunks };
}

/** Gives the adapter a score head with these weights (H): a reward model (PEFT SEQ_CLS). */
export function attachScoreHead(ctx: GpuContext, adapter: LoraAdapter, weight: Float32Array): void {
  adapter.score?.weight.destroy();
  adapter.score?.grad.destroy();
  // WebGPU zero-initialises new buffers: the gradient starts at 0.
  adapter.score = { weight: upload(ctx.device, weight, undefined, 'score.weight'), grad: createBuffer(ctx.device, weight.length * 4, undefined, 'score.grad'), size: weight.length };
}

/** Zeroes every dA/dB (one clear per chunk), and a reward model's score-head gradient (start of an optimizer step). */
export function zeroLoraGrads(ctx: GpuContext, adapter: LoraAdapter): void {
  for (const c of adapter.chunks) ctx.clear(c.grads);
  if (adapter.score) ctx.clear(adapter.score.grad);
}

/** Reads every A and B back: name `${layer}.${module}` -> {A (r,in), B (out,r)}. One readback per chunk. */
export async function readLoraWeights(ctx: GpuContext, adapter: LoraAdapter, which: 'weights' | 'grads' = 'weights'): Promise<Map<string, InitialWeights>> {
  const host = new Map<GPUBuffer, Float32Array>();
  for (const c of adapter.chunks) {
    const buffer = which === 'weights' ? c.params : c.grads;
    host.set(buffer, await ctx.readF32(buffer, c.size));
  }
  const out = new Map<string, InitialWeights>();
  for (let l = 0; l < adapter.layers.length; l++) {
    for (const m of adapter.config.targetModules) {
      const mod = adapter.layers[l][m];
      if (!mod) continue;
      const data = host.get(which === 'weights' ? mod.params : mod.grads)!;
      out.set(`${l}.${m}`, {
        A: data.slice(mod.aOffset, mod.aOffset + mod.r * mod.inFeatures),
        B: data.slice(mod.bOffset, mod.bOffset + mod.outFeatures * mod.r),
      });
    }
  }
  return out;
}

export function destroyAdapter(adapter: LoraAdapter): void {
  for (const c of adapter.chunks) {
    c.params.destroy();
    c.grads.destroy();
  }
  adapter.score?.weight.destroy();
  adapter.score?.grad.destroy();
}
