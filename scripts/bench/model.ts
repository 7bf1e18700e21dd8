// Model section: forward + backward (LoRA r=8 on every linear layer) of a SmolLM2-135M-shaped
// random model: tokens/s, and peak GPU bytes against what the design needs (weights + LoRA with
// gradients + saved activations + the LM-head logits scratch).
import { uploadBatch, batchFromRows } from '../../engine/model/batch.ts';
import { trackDeviceMemory } from '../../engine/gpu/memoryTracker.ts';
import { maskedTokenMeanBackward } from '../../engine/ops/lossReduce.ts';
import { lmHeadScratchBytes } from '../../engine/ops/crossEntropy.ts';
import type { BenchSection } from './env.ts';
import { benchModel, destroyBenchModel, randomTokens } from './modelShapes.ts';
import { median } from './timing.ts';

export const benchModelStep: BenchSection = async (env) => {
  const { ctx, options, log } = env;
  const tracker = trackDeviceMemory(ctx.device);
  const results: Record<string, unknown> = {};
  for (const checkpointing of [false, true]) {
    const baseline = tracker.liveBytes;
    tracker.resetPeak();
    const m = benchModel(env, checkpointing);
    const B = 1;
    const ids = randomTokens(m.seq, m.spec.vocabSize, 7);
    const batch = uploadBatch(ctx, batchFromRows([{ ids, trainMask: ids.map(() => 1) }], 0));
    const N = B * m.seq;
    const dLoss = ctx.pool.acquire(N * 4);
    maskedTokenMeanBackward(ctx, { labels: batch.labels, N, dMean: 1, dLoss });
    const step = async () => {
      m.model.forward(batch, { lora: m.adapter, train: true });
      m.model.backward(batch, dLoss);
      await ctx.sync();
    };
    await step(); // warm-up: pipelines compile, activations allocate
    const repeats = options.repeats ?? (ctx.caps.isCpu ? 2 : 5);
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await step();
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    const peak = tracker.peakBytes - baseline;
    const logitsScratch = lmHeadScratchBytes(ctx, N, m.spec.hiddenSize, m.spec.vocabSize, m.dtype);
    const activations = m.model.activationBytes(B, m.seq, checkpointing);
    const design = m.weightBytes + m.loraBytes + activations + logitsScratch;
    const key = checkpointing ? 'gradient_checkpointing' : 'saved_activations';
    results[key] = {
      model: m.layersNote,
      weight_dtype: m.dtype,
      tokens: N,
      fwd_bwd_ms: +ms.toFixed(2),
      tokens_per_second: +((N / ms) * 1000).toFixed(1),
      peak_gpu_bytes: peak,
      design_bytes: design,
      design_breakdown: { weights: m.weightBytes, lora_with_grads: m.loraBytes, activations, logits_scratch: logitsScratch },
      peak_over_design_ratio: +(peak / design).toFixed(3),
    };
    log(`model fwd+bwd (${key}): ${ms.toFixed(1)} ms for ${N} tokens; peak ${(peak / 2 ** 20).toFixed(1)} MiB vs design ${(design / 2 ** 20).toFixed(1)} MiB`);
    batch.destroy();
    ctx.pool.release(dLoss);
    destroyBenchModel(ctx, m);
    ctx.pool.trim();
  }
  return results;
};
