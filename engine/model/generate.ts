// Autoregressive generation with a KV cache. The prompt is run once (prefill, Tq = prompt length),
// then one token at a time (Tq = 1) attending to every cached key: the same block ops as training
// (rmsnorm, linear + LoRA, rope, GQA attention with Tq < Tk, SwiGLU) without saving activations.
import { createBuffer, upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { attentionForward } from '../ops/attention.ts';
import { axpy } from '../ops/elementwise.ts';
import { embeddingForward } from '../ops/embedding.ts';
import { matmul } from '../ops/matmul.ts';
import { rmsnormForward } from '../ops/rmsnorm.ts';
import { ropeForward } from '../ops/rope.ts';
import { swigluForward } from '../ops/swiglu.ts';
import type { LoraAdapter } from './loraTypes.ts';
import { linearForward, type LoraRuntime } from './linear.ts';
import type { LlamaModel } from './model.ts';
import { Sampler, type SamplingOptions } from './sampling.ts';
import type { ModuleName } from './weights.ts';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Stop when one of these is generated (it is included in the output, as transformers does). */
  eosTokenIds: number[];
  lora: LoraAdapter | null;
  /** Called with each new token id as soon as it is known (streaming). */
  onToken?: (id: number) => void;
  /** Checked between tokens; generation stops early when it returns true. */
  shouldStop?: () => boolean;
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
      if (opts.eosTokenIds.includes(id) || i + 1 === opts.maxNewTokens || opts.shouldStop?.()) break;
      logits = await decodeStep(model, cache, [id], opts.lora);
    }
  } finally {
    cache.destroy();
  }
  return out;
}

/** Runs `tokens` at positions cache.length.. through the model; returns the last token's logits (V). */
export async function decodeStep(model: LlamaModel, cache: KvCache, tokens: number[], lora: LoraAdapter | null): Promise<Float32Array> {
  const { ctx, spec, weights } = model;
  const Tq = tokens.length;
  const p0 = cache.length;
  if (p0 + Tq > cache.maxT) throw new RangeError(`KV cache holds ${cache.maxT} tokens; asked for ${p0 + Tq}`);
  const H = spec.hiddenSize;
  const qd = spec.numHeads * spec.headDim;
  const kd = spec.numKvHeads * spec.headDim;
  const I = spec.intermediateSize;
  const buf = (n: number, label: string) => ctx.pool.acquire(n * 4, undefined, label);
  const ids = upload(ctx.device, Uint32Array.from(tokens), undefined, 'decode ids');
  const positions = upload(ctx.device, Uint32Array.from(tokens, (_, i) => p0 + i), undefined, 'decode positions');
  const x = buf(Tq * H, 'x');
  const n = buf(Tq * H, 'n');
  const rstd = buf(Tq * spec.numHeads, 'rstd');
  const q = buf(Tq * qd, 'q');
  const qPre = buf(Tq * qd, 'qPre');
  const k = buf(Tq * kd, 'k');
  const kPre = buf(Tq * kd, 'kPre');
  const v = buf(Tq * kd, 'v');
  const attn = buf(Tq * qd, 'attn');
  const lse = buf(spec.numHeads * Tq, 'lse');
  const t = buf(Tq * H, 't');
  const gate = buf(Tq * I, 'gate');
  const up = buf(Tq * I, 'up');
  const h = buf(Tq * I, 'h');
  const eps = spec.rmsNormEps;

  for (const c of weights.embed) embeddingForward(ctx, { ids, table: c.weight, out: x, T: Tq, H, rowStart: c.rowStart, rows: c.rows, tableType: weights.embedDtype });
  for (let l = 0; l < spec.numLayers; l++) {
    const w = weights.layers[l];
    const L = w.linears;
    const lr = (m: ModuleName): LoraRuntime | null => {
      const module = lora?.layers[l]?.[m];
      return module ? { module, dropout: 0, seed: 0 } : null;
    };
    rmsnormForward(ctx, { x, weight: w.inputNorm, y: n, rstd, rows: Tq, dim: H, eps });
    linearForward(ctx, L.q_proj, n, spec.qkNorm ? qPre : q, Tq, lr('q_proj'));
    linearForward(ctx, L.k_proj, n, spec.qkNorm ? kPre : k, Tq, lr('k_proj'));
    linearForward(ctx, L.v_proj, n, v, Tq, lr('v_proj'));
    if (spec.qkNorm) {
      rmsnormForward(ctx, { x: qPre, weight: w.qNorm!, y: q, rstd, rows: Tq * spec.numHeads, dim: spec.headDim, eps });
      rmsnormForward(ctx, { x: kPre, weight: w.kNorm!, y: k, rstd, rows: Tq * spec.numKvHeads, dim: spec.headDim, eps });
    }
    ropeForward(ctx, { x: q, positions, invFreq: model.invFreq, tokens: Tq, nHeads: spec.numHeads, headDim: spec.headDim });
    ropeForward(ctx, { x: k, positions, invFreq: model.invFreq, tokens: Tq, nHeads: spec.numKvHeads, headDim: spec.headDim });
    ctx.copy(k, 0, cache.k[l], p0 * kd * 4, Tq * kd * 4);
    ctx.copy(v, 0, cache.v[l], p0 * kd * 4, Tq * kd * 4);
    attentionForward(ctx, {
      B: 1,
      Tq,
      Tk: p0 + Tq,
      nHeads: spec.numHeads,
      nKvHeads: spec.numKvHeads,
      headDim: spec.headDim,
      scale: 1 / Math.sqrt(spec.headDim),
      q,
      k: cache.k[l],
      v: cache.v[l],
      out: attn,
      lse,
    });
    linearForward(ctx, L.o_proj, attn, t, Tq, lr('o_proj'));
    axpy(ctx, 1, t, x, Tq * H);
    rmsnormForward(ctx, { x, weight: w.postNorm, y: n, rstd, rows: Tq, dim: H, eps });
    linearForward(ctx, L.gate_proj, n, gate, Tq, lr('gate_proj'));
    linearForward(ctx, L.up_proj, n, up, Tq, lr('up_proj'));
    swigluForward(ctx, { gate, up, h, n: Tq * I });
    linearForward(ctx, L.down_proj, h, t, Tq, lr('down_proj'));
    axpy(ctx, 1, t, x, Tq * H);
  }
  // Final norm and LM head on the last token only.
  const last = buf(H, 'last');
  ctx.copy(x, (Tq - 1) * H * 4, last, 0, H * 4);
  rmsnormForward(ctx, { x: last, weight: weights.finalNorm, y: n, rstd, rows: 1, dim: H, eps });
  const logits = buf(spec.vocabSize, 'logits');
  for (const c of weights.lmHead) {
    const part = buf(c.rows, 'logits part');
    matmul(ctx, { a: n, b: c.weight, out: part, M: 1, N: c.rows, K: H, transB: true, bType: weights.lmHeadDtype });
    ctx.copy(part, 0, logits, c.rowStart * 4, c.rows * 4);
    ctx.pool.release(part);
  }
  const result = await ctx.readF32(logits, spec.vocabSize);
  for (const b of [x, n, rstd, q, qPre, k, kPre, v, attn, lse, t, gate, up, h, last, logits]) ctx.pool.release(b);
  ids.destroy();
  positions.destroy();
  cache.length = p0 + Tq;
  return result;
}
