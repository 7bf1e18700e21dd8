// The optimizer over a LoRA adapter's A/B tensors (and a reward model's score head): global grad norm + clipping + non-finite check
// on the GPU, then one AdamW (or SGD) kernel per tensor, all recorded into the step's command
// buffer. The step counter t only advances for steps that were applied (a non-finite step is
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

interface ParamSlot {
  name: string;
  param: GPUBuffer;
  grad: GPUBuffer;
  n: number;
  m: GPUBuffer | null;
  v: GPUBuffer | null;
}

export class LoraOptimizer {
  /** (GRAD_STATS_FLOATS) f32: [sumsq, norm, clip, nonFinite]. */
  readonly stats: GPUBuffer;
  /** Applied steps so far (torch's state['step']). */
  t = 0;
  private readonly slots: ParamSlot[];

  constructor(
    readonly ctx: GpuContext,
    adapter: LoraAdapter,
    readonly hyper: OptimizerHyper,
  ) {
    this.stats = createBuffer(ctx.device, GRAD_STATS_FLOATS * 4, undefined, 'grad stats');
    const adam = hyper.optim === 'adamw_torch';
    this.slots = loraParameters(adapter).map(({ name, module, which }) => {
      const n = which === 'A' ? module.r * module.inFeatures : module.outFeatures * module.r;
      return {
        name,
        param: which === 'A' ? module.A : module.B,
        grad: which === 'A' ? module.dA : module.dB,
        n,
        m: adam ? createBuffer(ctx.device, n * 4, undefined, `${name}.exp_avg`) : null,
        v: adam ? createBuffer(ctx.device, n * 4, undefined, `${name}.exp_avg_sq`) : null,
      };
    });
    // A reward model's score head is trained in full, as one more tensor (named "score" in checkpoints).
    const score = adapter.score;
    if (score) {
      const n = score.size;
      const moment = (what: string) => (adam ? createBuffer(ctx.device, n * 4, undefined, `score.${what}`) : null);
      this.slots.push({ name: SCORE_MOMENTS, param: score.weight, grad: score.grad, n, m: moment('exp_avg'), v: moment('exp_avg_sq') });
    }
  }

  /** Number of trainable values. */
  get parameterCount(): number {
    return this.slots.reduce((s, p) => s + p.n, 0);
  }

  /**
   * Records: stats = (norm, clip, nonFinite) of every gradient and of `lossValues` (n floats),
   * then the update of every tensor with learning rate `lr` (skipped on the GPU when non-finite).
   */
  step(lr: number, lossValues: { buffer: GPUBuffer; n: number }): void {
    const { ctx, stats, hyper } = this;
    gradStatsReset(ctx, stats);
    gradStatsCheckValues(ctx, { values: lossValues.buffer, n: lossValues.n, stats });
    for (const s of this.slots) gradStatsAccumulate(ctx, { grad: s.grad, n: s.n, stats });
    gradStatsFinalize(ctx, { stats, maxNorm: hyper.maxGradNorm });
    const t = this.t + 1;
    for (const s of this.slots) {
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
    for (const s of this.slots) {
      if (!s.m || !s.v) continue;
      moments.set(s.name, { m: await this.ctx.readF32(s.m, s.n), v: await this.ctx.readF32(s.v, s.n) });
    }
    return { t: this.t, moments };
  }

  importState(state: { t: number; moments: Map<string, { m: Float32Array; v: Float32Array }> }): void {
    this.t = state.t;
    this.ctx.flush(); // queue writes land after everything recorded so far
    for (const s of this.slots) {
      const mv = state.moments.get(s.name);
      if (!s.m || !s.v || !mv) continue;
      this.ctx.device.queue.writeBuffer(s.m, 0, mv.m as Float32Array<ArrayBuffer>);
      this.ctx.device.queue.writeBuffer(s.v, 0, mv.v as Float32Array<ArrayBuffer>);
    }
  }

  destroy(): void {
    this.stats.destroy();
    for (const s of this.slots) {
      s.m?.destroy();
      s.v?.destroy();
    }
  }
}
