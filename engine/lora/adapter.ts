// Creating LoRA adapters on the GPU: shapes per module from the model spec, PEFT's initialisation
// (A ~ kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0), and reading them back.
import { createBuffer, upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import type { ModelSpec } from '../model/config.ts';
import { moduleShape, type ModuleName } from '../model/modules.ts';
import { seededUniform } from '../util/random.ts';
import { loraScale, type LoraAdapter, type LoraConfig, type LoraModule } from './types.ts';

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

/** Builds an adapter whose A/B come from `init` (fresh, or loaded from a PEFT file). */
export function buildAdapter(
  ctx: GpuContext,
  spec: ModelSpec,
  config: LoraConfig,
  init: (layer: number, m: ModuleName, inFeatures: number, outFeatures: number) => InitialWeights,
): LoraAdapter {
  const scale = loraScale(config);
  const layers = Array.from({ length: spec.numLayers }, (_, l) => {
    const mods: Partial<Record<ModuleName, LoraModule>> = {};
    for (const m of config.targetModules) {
      const { inFeatures, outFeatures } = moduleShape(spec, m);
      const w = init(l, m, inFeatures, outFeatures);
      const label = `lora ${l}.${m}`;
      mods[m] = {
        A: upload(ctx.device, w.A, undefined, `${label}.A`),
        B: upload(ctx.device, w.B, undefined, `${label}.B`),
        dA: zeroBuffer(ctx, config.r * inFeatures, `${label}.dA`),
        dB: zeroBuffer(ctx, outFeatures * config.r, `${label}.dB`),
        r: config.r,
        inFeatures,
        outFeatures,
        scale,
      };
    }
    return mods;
  });
  return { config, layers };
}

function zeroBuffer(ctx: GpuContext, n: number, label: string): GPUBuffer {
  return createBuffer(ctx.device, n * 4, undefined, label); // WebGPU zero-initialises new buffers
}

/** Zeroes every dA/dB (start of an optimizer step). */
export function zeroLoraGrads(ctx: GpuContext, adapter: LoraAdapter): void {
  for (const mods of adapter.layers) for (const m of Object.values(mods)) {
    ctx.clear(m!.dA);
    ctx.clear(m!.dB);
  }
}

/** Reads every A and B back: name `${layer}.${module}` -> {A (r,in), B (out,r)}. */
export async function readLoraWeights(ctx: GpuContext, adapter: LoraAdapter, which: 'weights' | 'grads' = 'weights'): Promise<Map<string, InitialWeights>> {
  const out = new Map<string, InitialWeights>();
  for (let l = 0; l < adapter.layers.length; l++) {
    for (const m of adapter.config.targetModules) {
      const mod = adapter.layers[l][m];
      if (!mod) continue;
      const A = await ctx.readF32(which === 'weights' ? mod.A : mod.dA, mod.r * mod.inFeatures);
      const B = await ctx.readF32(which === 'weights' ? mod.B : mod.dB, mod.outFeatures * mod.r);
      out.set(`${l}.${m}`, { A, B });
    }
  }
  return out;
}

export function destroyAdapter(adapter: LoraAdapter): void {
  for (const mods of adapter.layers) for (const m of Object.values(mods)) {
    for (const b of [m!.A, m!.B, m!.dA, m!.dB]) b.destroy();
  }
}
