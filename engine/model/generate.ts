// Autoregressive generation with a KV cache. The prompt is run once (prefill, Tq = prompt length),
// then one token at a time (Tq = 1) attending to every cached key, through the same decoder layer
// as training (LlamaModel.decode -> blockForward with a KV-cache sink); this file only feeds ids,
// samples, and reads one row of logits per step.
import { createBuffer } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import type { LoraAdapter } from './loraTypes.ts';
import type { LlamaModel } from './model.ts';
import { Sampler, type SamplingOptions } from './sampling.ts';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Stop when one of these is generated (it is included in the output, as transformers does). */
  eosTokenIds: number[];
  lora: LoraAdapter | null;
  /** Called with each new token id as soon as it is known (streaming). */
  onToken?: (id: number) => void;
}

export class KvCache {
  readonly k: GPUBuffer[]; // per layer (maxT, nKv·hd)
  readonly v: GPUBuffer[];
  length = 0;
  constructor(
    ctx: GpuContext,
    readonly model: LlamaModel,
    readonly maxT: number,
  ) {
    const s = model.spec;
    const bytes = maxT * s.numKvHeads * s.headDim * 4;
    this.k = Array.from({ length: s.numLayers }, () => createBuffer(ctx.device, bytes, undefined, 'kcache'));
    this.v = Array.from({ length: s.numLayers }, () => createBuffer(ctx.device, bytes, undefined, 'vcache'));
  }
  destroy(): void {
    for (const b of [...this.k, ...this.v]) b.destroy();
  }
}

/** Generates up to maxNewTokens after `promptIds`; returns only the new ids. */
export async function generate(model: LlamaModel, promptIds: number[], opts: GenerateOptions): Promise<number[]> {
  const maxT = promptIds.length + opts.maxNewTokens;
  const cache = new KvCache(model.ctx, model, maxT);
  const sampler = new Sampler(opts);
  const out: number[] = [];
  try {
    let logits = await decodeStep(model, cache, promptIds, opts.lora);
    for (let i = 0; i < opts.maxNewTokens; i++) {
      const id = sampler.next(logits);
      out.push(id);
      opts.onToken?.(id);
      if (opts.eosTokenIds.includes(id) || i + 1 === opts.maxNewTokens) break;
      logits = await decodeStep(model, cache, [id], opts.lora);
    }
  } finally {
    cache.destroy();
  }
  return out;
}

/** Runs `tokens` at positions cache.length.. through the model; returns the last token's logits (V). */
export async function decodeStep(model: LlamaModel, cache: KvCache, tokens: number[], lora: LoraAdapter | null): Promise<Float32Array> {
  const { ctx, spec } = model;
  const T = tokens.length;
  const p0 = cache.length;
  if (p0 + T > cache.maxT) throw new RangeError(`KV cache holds ${cache.maxT} tokens; asked for ${p0 + T}`);
  const ids = ctx.pool.acquire(T * 4, undefined, 'decode ids');
  const positions = ctx.pool.acquire(T * 4, undefined, 'decode positions');
  ctx.write(ids, Uint32Array.from(tokens));
  ctx.write(positions, Uint32Array.from(tokens, (_, i) => p0 + i));
  const logits = model.decode(ids, positions, T, cache, lora);
  const result = await ctx.readF32(logits, spec.vocabSize);
  for (const b of [ids, positions, logits]) ctx.pool.release(b);
  cache.length = p0 + T;
  return result;
}
