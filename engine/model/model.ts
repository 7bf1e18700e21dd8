// The whole network, forward and backward, as explicit per-layer ops (DESIGN.md example 1):
//   x = embed(ids); for each layer: x = block(x); h = rmsnorm(x); loss = CE(h W_lm^T, labels)
// The backward is the forward reversed. Only LoRA weights receive gradients. With gradient
// checkpointing each layer saves only its input and is recomputed just before its backward.
import { createBuffer, upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { lmHeadCrossEntropyBackward, lmHeadCrossEntropyForward, maskedTokenMean, sequenceLogprobSums } from '../ops/crossEntropy.ts';
import { embeddingForward } from '../ops/embedding.ts';
import { matmul } from '../ops/matmul.ts';
import { rmsnormBackward, rmsnormForward } from '../ops/rmsnorm.ts';
import { ropeInvFreq } from '../ops/rope.ts';
import type { LoraAdapter } from './loraTypes.ts';
import { activationBytes, allocateActivations, destroyActivations, type BlockDims, type LayerActivations } from './activations.ts';
import type { GpuBatch } from './batch.ts';
import { blockBackward, blockForward, releaseSaved, type KvSink, type LayerLora, type LayerSaved, type SequenceInputs } from './block.ts';
import type { ModelSpec } from './config.ts';
import type { ModelWeights } from './weights.ts';

export interface ForwardOptions {
  /** null = base model (adapter switched off, e.g. DPO's reference pass). */
  lora: LoraAdapter | null;
  /** Keep activations for a backward pass. */
  train: boolean;
  /** lora_dropout probability, applied only when training (default 0). */
  dropout?: number;
  /** Seeds this micro-batch's dropout masks (the backward regenerates the same masks). */
  dropoutSeed?: number;
}

/** Per-token outputs of a forward pass, on the GPU (valid until the next forward). */
export interface ForwardResult {
  lossPerToken: GPUBuffer; // (N) f32: -log p(label) (0 where ignored)
  lse: GPUBuffer; // (N) f32
}

export class LlamaModel {
  readonly invFreq: GPUBuffer;
  private capacity = { B: 0, T: 0 };
  private acts: LayerActivations[] = [];
  private shared: LayerActivations | null = null; // the one recomputed layer under checkpointing
  private finalIn: GPUBuffer | null = null; // (N, H) residual stream after the last layer
  private finalNormed: GPUBuffer | null = null; // (N, H)
  private finalRstd: GPUBuffer | null = null; // (N)
  private dStream: GPUBuffer | null = null; // (N, H)
  /** (N, H): softmax(logits) @ W_lm of the last training forward, then dHidden in place (backward). */
  private softmaxWeight: GPUBuffer | null = null;
  private softmaxWeightReady = false;
  private out: ForwardResult | null = null;
  private seq: SequenceInputs | null = null;
  private lastLora: LayerLora[] = [];
  private saved: LayerSaved[] = []; // per layer: the LoRA t buffers of the last training forward
  private decodeActs: { acts: LayerActivations; streams: [GPUBuffer, GPUBuffer]; normed: GPUBuffer; rstd: GPUBuffer; capacity: number } | null = null;

  constructor(
    readonly ctx: GpuContext,
    readonly spec: ModelSpec,
    readonly weights: ModelWeights,
    readonly options: { gradientCheckpointing: boolean } = { gradientCheckpointing: false },
  ) {
    this.invFreq = upload(ctx.device, ropeInvFreq(spec.headDim, spec.ropeTheta, spec.ropeScaling), undefined, 'invFreq');
  }

  dims(B: number, T: number): BlockDims {
    const s = this.spec;
    return { B, T, H: s.hiddenSize, I: s.intermediateSize, nHeads: s.numHeads, nKvHeads: s.numKvHeads, headDim: s.headDim, eps: s.rmsNormEps, qkNorm: s.qkNorm };
  }

  /** Bytes of activations a (B, T) batch needs, with or without checkpointing. */
  activationBytes(B: number, T: number, checkpointing = this.options.gradientCheckpointing): number {
    const d = this.dims(B, T);
    const N = B * T;
    const stream = 4 * N * this.spec.hiddenSize;
    const perLayer = activationBytes(d);
    const layers = checkpointing ? perLayer + stream * this.spec.numLayers : perLayer * this.spec.numLayers;
    // + finalIn, finalNormed, dStream, softmaxWeight / dHidden; rstd, lossPerToken, lse and dLoss.
    return layers + stream * 4 + 4 * N * 4;
  }

  /** Runs the forward pass and the fused LM-head cross-entropy for every token of the batch. */
  forward(batch: GpuBatch, opts: ForwardOptions): ForwardResult {
    const { ctx, spec, weights } = this;
    const hidden = this.forwardHidden(batch, opts);
    const out = this.out!;
    this.softmaxWeightReady = opts.train;
    lmHeadCrossEntropyForward(ctx, {
      hidden,
      chunks: weights.lmHead,
      weightType: weights.lmHeadDtype,
      N: batch.B * batch.T,
      H: spec.hiddenSize,
      V: spec.vocabSize,
      labels: batch.labels,
      lossPerToken: out.lossPerToken,
      lse: out.lse,
      softmaxWeight: opts.train ? this.softmaxWeight! : undefined,
    });
    return out;
  }

  /**
   * The forward pass up to the final RMSNorm, without the LM head: the (N, H) f32 hidden states
   * (valid until the next forward). A reward model's score head reads them (backwardFromHidden
   * is its backward).
   */
  forwardHidden(batch: GpuBatch, opts: ForwardOptions): GPUBuffer {
    const { ctx, spec, weights } = this;
    this.ensureCapacity(batch.B, batch.T);
    const d = this.dims(batch.B, batch.T);
    const N = batch.B * batch.T;
    const H = spec.hiddenSize;
    this.seq = { positions: batch.positions, invFreq: this.invFreq, segments: batch.segments };
    this.lastLora = layerLora(opts.lora, spec.numLayers, opts.train ? (opts.dropout ?? 0) : 0, opts.dropoutSeed ?? 0);
    this.releaseSaved();

    const x0 = this.layerInput(0);
    for (const c of weights.embed) {
      embeddingForward(ctx, { ids: batch.ids, table: c.weight, out: x0, T: N, H, rowStart: c.rowStart, rows: c.rows, tableType: weights.embedDtype });
    }
    for (let l = 0; l < spec.numLayers; l++) {
      const acts = this.layerActs(l);
      const xOut = l + 1 < spec.numLayers ? this.layerInput(l + 1) : this.finalIn!;
      const saved = blockForward(ctx, d, weights.layers[l], acts, this.seq, xOut, this.lastLora[l]);
      // Without a backward to come (or with checkpointing, which recomputes them) t is not kept.
      if (opts.train && !this.options.gradientCheckpointing) this.saved[l] = saved;
      else releaseSaved(ctx, saved);
    }
    rmsnormForward(ctx, { x: this.finalIn!, weight: weights.finalNorm, y: this.finalNormed!, rstd: this.finalRstd!, rows: N, dim: H, eps: spec.rmsNormEps });
    return this.finalNormed!;
  }

  /** Mean loss over counted tokens into out[0] (GPU, no readback). */
  meanLoss(batch: GpuBatch, out: GPUBuffer): void {
    maskedTokenMean(this.ctx, { lossPerToken: this.out!.lossPerToken, labels: batch.labels, N: batch.B * batch.T, out });
  }

  /** Summed completion log-probs of each row into out (B) (for DPO). */
  sequenceLogprobs(batch: GpuBatch, out: GPUBuffer): void {
    sequenceLogprobSums(this.ctx, { lossPerToken: this.out!.lossPerToken, labels: batch.labels, S: batch.B, T: batch.T, out });
  }

  /**
   * Backward of the last forward (which must have had train: true). dLoss (N) is dL/dlossPerToken
   * (e.g. 1/count for a token mean). LoRA gradients accumulate into the adapter's dA/dB.
   */
  backward(batch: GpuBatch, dLoss: GPUBuffer): void {
    const { ctx, spec, weights } = this;
    if (!this.softmaxWeightReady) throw new Error('LlamaModel.backward needs a forward with train: true just before it');
    this.softmaxWeightReady = false; // the backward turns it into dHidden
    const dHidden = this.softmaxWeight!;
    lmHeadCrossEntropyBackward(ctx, {
      chunks: weights.lmHead,
      weightType: weights.lmHeadDtype,
      N: batch.B * batch.T,
      H: spec.hiddenSize,
      V: spec.vocabSize,
      labels: batch.labels,
      dLoss,
      softmaxWeight: dHidden,
    });
    this.backwardFromHidden(batch, dHidden);
  }

  /**
   * Backward from dL/d(hidden states) (N, H) f32 of the last forward (or forwardHidden, with
   * train: true): through the final RMSNorm and every layer. LoRA gradients accumulate into dA/dB.
   */
  backwardFromHidden(batch: GpuBatch, dHidden: GPUBuffer): void {
    const { ctx, spec, weights } = this;
    const d = this.dims(batch.B, batch.T);
    const N = batch.B * batch.T;
    const H = spec.hiddenSize;
    const dx = this.dStream!;
    rmsnormBackward(ctx, { x: this.finalIn!, weight: weights.finalNorm, rstd: this.finalRstd!, dy: dHidden, dx, rows: N, dim: H });
    for (let l = spec.numLayers - 1; l >= 0; l--) {
      const acts = this.layerActs(l);
      let saved = this.saved[l] ?? {};
      if (this.options.gradientCheckpointing) {
        const xOut = ctx.pool.acquire(N * H * 4, undefined, 'recompute xOut');
        saved = blockForward(ctx, d, weights.layers[l], acts, this.seq!, xOut, this.lastLora[l]);
        ctx.pool.release(xOut);
      }
      blockBackward(ctx, d, weights.layers[l], acts, this.seq!, dx, this.lastLora[l], saved);
      releaseSaved(ctx, saved);
      this.saved[l] = {};
    }
  }

  /**
   * Generation: runs `ids` (at positions cache.length..) through every layer with the same block
   * forward as training, writing their k/v into the cache; returns the last token's logits (V) on
   * the GPU (valid until the next call). The caller advances cache.length.
   */
  decode(ids: GPUBuffer, positions: GPUBuffer, T: number, cache: { k: GPUBuffer[]; v: GPUBuffer[]; length: number }, lora: LoraAdapter | null): GPUBuffer {
    const { ctx, spec, weights } = this;
    const H = spec.hiddenSize;
    const dec = this.decodeActivations(T);
    const d = this.dims(1, T);
    const layerLoras = layerLora(lora, spec.numLayers, 0, 0);
    const seq: SequenceInputs = { positions, invFreq: this.invFreq, segments: null };
    let [x, next] = dec.streams;
    for (const c of weights.embed) {
      embeddingForward(ctx, { ids, table: c.weight, out: x, T, H, rowStart: c.rowStart, rows: c.rows, tableType: weights.embedDtype });
    }
    for (let l = 0; l < spec.numLayers; l++) {
      dec.acts.xIn = x;
      const sink: KvSink = { k: cache.k[l], v: cache.v[l], position: cache.length };
      releaseSaved(ctx, blockForward(ctx, d, weights.layers[l], dec.acts, seq, next, layerLoras[l], sink));
      [x, next] = [next, x];
    }
    // Final norm and LM head on the last token only (row T - 1 of x and of normed).
    const last = (T - 1) * H;
    rmsnormForward(ctx, { x, weight: weights.finalNorm, y: dec.normed, rstd: dec.rstd, rows: 1, dim: H, eps: spec.rmsNormEps, layout: { rows: 1, stride: H, offset: last } });
    const logits = ctx.pool.acquire(spec.vocabSize * 4, undefined, 'logits');
    for (const c of weights.lmHead) {
      matmul(ctx, { a: { data: dec.normed, offset: last }, b: { data: c.weight, kind: weights.lmHeadDtype }, out: { data: logits, offset: c.rowStart }, M: 1, N: c.rows, K: H, transB: true });
    }
    return logits;
  }

  destroy(): void {
    this.freeActivations();
    this.freeDecode();
    this.invFreq.destroy();
  }

  private releaseSaved(): void {
    for (const s of this.saved) if (s) releaseSaved(this.ctx, s);
    this.saved = [];
  }

  /** One layer's activations for generation (shared by all layers), grown to T tokens when needed. */
  private decodeActivations(T: number) {
    if (this.decodeActs && this.decodeActs.capacity >= T) return this.decodeActs;
    this.freeDecode();
    const dev = this.ctx.device;
    const H = this.spec.hiddenSize;
    const capacity = Math.max(T, 16);
    const acts = allocateActivations(dev, this.dims(1, capacity));
    this.decodeActs = {
      acts,
      streams: [acts.xIn, createBuffer(dev, capacity * H * 4, undefined, 'decode x')],
      normed: createBuffer(dev, capacity * H * 4, undefined, 'decode normed'),
      rstd: createBuffer(dev, 4, undefined, 'decode rstd'),
      capacity,
    };
    return this.decodeActs;
  }

  private freeDecode(): void {
    const dec = this.decodeActs;
    if (!dec) return;
    destroyActivations(dec.acts, true); // xIn is one of the two streams
    for (const b of [...dec.streams, dec.normed, dec.rstd]) b.destroy();
    this.decodeActs = null;
  }

  private layerInput(l: number): GPUBuffer {
    return this.acts[l].xIn;
  }

  private layerActs(l: number): LayerActivations {
    if (!this.options.gradientCheckpointing) return this.acts[l];
    this.shared!.xIn = this.acts[l].xIn;
    return this.shared!;
  }

  private ensureCapacity(B: number, T: number): void {
    if (B * T <= this.capacity.B * this.capacity.T && B <= this.capacity.B && T <= this.capacity.T) return;
    this.freeActivations();
    const d = this.dims(B, T);
    const dev = this.ctx.device;
    const N = B * T;
    const H = this.spec.hiddenSize;
    if (this.options.gradientCheckpointing) {
      // Only each layer's input is kept; `shared` holds the rest for the layer being processed.
      this.acts = Array.from({ length: this.spec.numLayers }, () => ({ xIn: createBuffer(dev, N * H * 4, undefined, 'xIn') }) as LayerActivations);
      this.shared = allocateActivations(dev, d, this.acts[0].xIn);
    } else {
      this.acts = Array.from({ length: this.spec.numLayers }, () => allocateActivations(dev, d));
    }
    this.finalIn = createBuffer(dev, N * H * 4, undefined, 'finalIn');
    this.finalNormed = createBuffer(dev, N * H * 4, undefined, 'finalNormed');
    this.finalRstd = createBuffer(dev, N * 4, undefined, 'finalRstd');
    this.dStream = createBuffer(dev, N * H * 4, undefined, 'dStream');
    this.softmaxWeight = createBuffer(dev, N * H * 4, undefined, 'softmaxWeight / dHidden');
    this.softmaxWeightReady = false;
    this.out = { lossPerToken: createBuffer(dev, N * 4, undefined, 'lossPerToken'), lse: createBuffer(dev, N * 4, undefined, 'lse') };
    this.capacity = { B, T };
  }

  private freeActivations(): void {
    this.releaseSaved();
    if (this.options.gradientCheckpointing) {
      for (const a of this.acts) a.xIn.destroy();
      if (this.shared) destroyActivations(this.shared, true);
    } else {
      for (const a of this.acts) destroyActivations(a);
    }
    this.acts = [];
    this.shared = null;
    for (const b of [this.finalIn, this.finalNormed, this.finalRstd, this.dStream, this.softmaxWeight, this.out?.lossPerToken, this.out?.lse]) b?.destroy();
    this.finalIn = this.finalNormed = this.finalRstd = this.dStream = this.softmaxWeight = null;
    this.softmaxWeightReady = false;
    this.out = null;
    this.capacity = { B: 0, T: 0 };
  }
}

/** The per-layer LoRA runtime (module, dropout, seed) for one micro-batch; empty maps when off. */
function layerLora(adapter: LoraAdapter | null, numLayers: number, dropout: number, seed: number): LayerLora[] {
  return Array.from({ length: numLayers }, (_, l) => {
    const out: LayerLora = {};
    if (!adapter) return out;
    adapter.config.targetModules.forEach((m, mi) => {
      const module = adapter.layers[l]?.[m];
      if (module) out[m] = { module, dropout, seed: (seed * 1_000_003 + l * 131 + mi * 7919) >>> 0 };
    });
    return out;
  });
}
