// The optimizer over a LoRA adapter's A/B tensors (and a reward model's score head): global grad
// norm + clipping + non-finite check on the GPU, then one multi-tensor AdamW (or SGD) dispatch over
// each flat chunk of parameters (every A and B of many layers, lora/adapter.ts; the score head is a
// chunk of its own), all recorded into the step's command buffer. AdamW is elementwise, so one
// dispatch over the chunk is exactly one per tensor. The step counter t only advances for steps that were applied (a non-finite step is
// skipped on the GPU and not counted, as torch's GradScaler does).
import { createBuffer } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { GRAD_STATS_FLOATS, gradStatsAccumulate, gradStatsCheckValues, gradStatsFinalize, gradStatsReset } from '../ops/gradStats.ts';
import { adamwStep, sgdStep } from '../ops/optimizer.ts';
import { loraParameters, type LoraAdapter } from '../lora/types.ts';
import { SCORE_MOMENTS } from './checkpointCheck.ts';

export interface OptimizerHyper {
  optim: 'adamw_torch' | 'sgd';
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
}

/** One chunk: params, grads and moments of `n` floats. */
interface ChunkSlot {
  param: GPUBuffer;
  grad: GPUBuffer;
  n: number;
  m: GPUBuffer | null;
  v: GPUBuffer | null;
}

/** A named tensor (PEFT order and names, for checkpoints) inside a chunk. */
interface TensorSlot {
  name: string;
  chunk: ChunkSlot;
  offset: number;
  n: number;
}

export class LoraOptimizer {
  /** (GRAD_STATS_FLOATS) f32: [sumsq, norm, clip, nonFinite]. */
  readonly stats: GPUBuffer;
  /** Applied steps so far (torch's state['step']). */
  t = 0;
  private readonly chunks: ChunkSlot[];
  private readonly tensors: TensorSlot[];

  constructor(
    readonly ctx: GpuContext,
    adapter: LoraAdapter,
    readonly hyper: OptimizerHyper,
  ) {
    this.stats = createBuffer(ctx.device, GRAD_STATS_FLOATS * 4, undefined, 'grad stats');
    const adam = hyper.optim === 'adamw_torch';
    this.chunks = adapter.chunks.map((c, i) => ({
      param: c.params,
      grad: c.grads,
      n: c.size,
      m: adam ? createBuffer(ctx.device, c.size * 4, undefined, `lora exp_avg ${i}`) : null,
      v: adam ? createBuffer(ctx.device, c.size * 4, undefined, `lora exp_avg_sq ${i}`) : null,
    }));
    this.tensors = loraParameters(adapter).map(({ name, module, which }) => ({
      name,
      chunk: this.chunks[adapter.chunks.findIndex((c) => c.params === module.params)],
      offset: which === 'A' ? module.aOffset : module.bOffset,
      n: which === 'A' ? module.r * module.inFeatures : module.outFeatures * module.r,
    }));
    // A reward model's score head is trained in full, as one more tensor (named "score" in checkpoints).
    const score = adapter.score;
    if (score) {
      const n = score.size;
      const moment = (what: string) => (adam ? createBuffer(ctx.device, n * 4, undefined, `score.${what}`) : null);
      const chunk: ChunkSlot = { param: score.weight, grad: score.grad, n, m: moment('exp_avg'), v: moment('exp_avg_sq') };
      this.chunks.push(chunk);
      this.tensors.push({ name: SCORE_MOMENTS, chunk, offset: 0, n });
    }
  }

  /** Number of trainable values. */
  get parameterCount(): number {
    return this.tensors.reduce((s, p) => s + p.n, 0);
  }

  /**
   * Records: stats = (norm, clip, nonFinite) of every gradient and of `lossValues` (n floats),
   * then the update of every tensor with learning rate `lr` (skipped on the GPU when non-finite).
   */
  step(lr: number, lossValues: { buffer: GPUBuffer; n: number }): void {
    const { ctx, stats, hyper } = this;
    gradStatsReset(ctx, stats);
    gradStatsCheckValues(ctx, { values: lossValues.buffer, n: lossValues.n, stats });
    // Alignment padding between tensors holds zeros in the gradients, so it adds nothing to the norm.
    for (const s of this.chunks) gradStatsAccumulate(ctx, { grad: s.grad, n: s.n, stats });
    gradStatsFinalize(ctx, { stats, maxNorm: hyper.maxGradNorm });
    const t = this.t + 1;
    for (const s of this.chunks) {
      if (hyper.optim === 'sgd') sgdStep(ctx, { param: s.param, grad: s.grad, n: s.n, stats, lr });
      else adamwStep(ctx, { param: s.param, grad: s.grad, m: s.m!, v: s.v!, n: s.n, stats, lr, beta1: hyper.beta1, beta2: hyper.beta2, eps: hyper.eps, weightDecay: hyper.weightDecay, step: t });
    }
  }

  /** After reading stats back: count the step only if it was applied. */
  commit(applied: boolean): void {
    if (applied) this.t++;
  }

  /** Moments for a checkpoint: name -> {exp_avg, exp_avg_sq}. */
  async exportState(): Promise<{ t: number; moments: Map<string, { m: Float32Array; v: Float32Array }> }> {
    const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
    const host = new Map<ChunkSlot, { m: Float32Array; v: Float32Array }>();
    for (const c of this.chunks) {
      if (c.m && c.v) host.set(c, { m: await this.ctx.readF32(c.m, c.n), v: await this.ctx.readF32(c.v, c.n) });
    }
    for (const s of this.tensors) {
      const h = host.get(s.chunk);
      if (h) moments.set(s.name, { m: h.m.slice(s.offset, s.offset + s.n), v: h.v.slice(s.offset, s.offset + s.n) });
    }
    return { t: this.t, moments };
  }

  importState(state: { t: number; moments: Map<string, { m: Float32Array; v: Float32Array }> }): void {
    this.t = state.t;
    this.ctx.flush(); // queue writes land after everything recorded so far
    for (const s of this.tensors) {
      const mv = state.moments.get(s.name);
      if (!s.chunk.m || !s.chunk.v || !mv) continue;
      this.ctx.device.queue.writeBuffer(s.chunk.m, s.offset * 4, mv.m as Float32Array<ArrayBuffer>, 0, s.n);
      this.ctx.device.queue.writeBuffer(s.chunk.v, s.offset * 4, mv.v as Float32Array<ArrayBuffer>, 0, s.n);
    }
  }

  destroy(): void {
    this.stats.destroy();
    for (const s of this.chunks) {
      s.m?.destroy();
      s.v?.destroy();
    }
  }
}
