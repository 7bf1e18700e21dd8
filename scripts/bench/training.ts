// Training section: SFT and DPO optimizer steps (AdamW, LoRA r=8 on all linear layers) on the
// SmolLM2-135M-shaped random model through the real Trainer: tokens/s, GPU submits and readbacks
// per optimizer step (the design aims at one readback per step), and peak GPU bytes against the
// planned bytes; dispatches per decoder layer and weight bytes per parameter (structure.ts).
import { trackDeviceMemory } from '../../engine/gpu/memoryTracker.ts';
import { resolveRecipe } from '../../engine/recipe/schema.ts';
import type { RunStore } from '../../engine/train/runStore.ts';
import { Trainer } from '../../engine/train/trainer.ts';
import type { TrainingExamples } from '../../engine/data/examples.ts';
import type { BenchSection } from './env.ts';
import { benchModel, destroyBenchModel, randomTokens } from './modelShapes.ts';
import { median } from './timing.ts';
import { dispatchesPerLayer, plannedTrainingBytes, weightBytesPerParam } from './structure.ts';

const nullStore: RunStore = { saveCheckpoint: async () => {}, saveFinal: async () => {}, appendMetrics: async () => {} };

export const benchTraining: BenchSection = async (env) => {
  const { ctx, options, log } = env;
  const tracker = trackDeviceMemory(ctx.device);
  const out: Record<string, unknown> = {};
  for (const method of ['sft', 'dpo'] as const) {
    const baseline = tracker.liveBytes;
    tracker.resetPeak();
    const m = benchModel(env);
    const prompt = Math.floor(m.seq / 2);
    const row = (seed: number) => {
      const ids = randomTokens(m.seq, m.spec.vocabSize, seed);
      return { ids, trainMask: ids.map((_, i) => (method === 'sft' || i >= prompt ? 1 : 0)) };
    };
    const rows = 4;
    const train: TrainingExamples =
      method === 'sft'
        ? { method, rows: Array.from({ length: rows }, (_, i) => row(i + 1)) }
        : { method, rows: Array.from({ length: rows }, (_, i) => ({ chosen: row(2 * i + 1), rejected: row(2 * i + 2) })) };
    const steps = (options.repeats ?? (ctx.caps.isCpu ? 2 : 5)) + 1;
    const recipe = resolveRecipe({ method, max_steps: steps, per_device_train_batch_size: 1, lora_dropout: 0, save_steps: 10_000, logging_steps: 1 });
    const marks: { t: number; submits: number; readbacks: number; dispatches: number }[] = [];
    const mark = () => marks.push({ t: performance.now(), ...ctx.counters });
    const trainer = new Trainer({
      ctx,
      model: m.model,
      adapter: m.adapter,
      recipe,
      train,
      padId: 0,
      store: nullStore,
      baseModel: 'random SmolLM2-135M shape',
      callbacks: { beforeStep: () => (mark(), 'continue') },
    });
    await trainer.run();
    // marks[i] is taken before step i; step i spans marks[i] .. marks[i+1]; skip step 0 (warm-up).
    const per = marks.slice(1, -1).map((a, i) => {
      const b = marks[i + 2];
      return { ms: b.t - a.t, submits: b.submits - a.submits, readbacks: b.readbacks - a.readbacks, dispatches: b.dispatches - a.dispatches };
    });
    const tokensPerStep = method === 'sft' ? m.seq : 2 * m.seq;
    const ms = median(per.map((p) => p.ms));
    const planned = plannedTrainingBytes(m, method === 'sft' ? 1 : 2);
    out.weight_bytes_per_param = weightBytesPerParam(m);
    out[method] = {
      model: m.layersNote,
      weight_dtype: m.dtype,
      tokens_per_step: tokensPerStep,
      step_ms: +ms.toFixed(1),
      tokens_per_second: +((tokensPerStep / ms) * 1000).toFixed(1),
      submits_per_step: median(per.map((p) => p.submits)),
      readbacks_per_step: median(per.map((p) => p.readbacks)),
      dispatches_per_step: median(per.map((p) => p.dispatches)),
      peak_gpu_bytes: tracker.peakBytes - baseline,
      planned_gpu_bytes: planned,
      peak_over_planned: +((tracker.peakBytes - baseline) / planned).toFixed(3),
    };
    log(`${method} step: ${ms.toFixed(0)} ms, ${(out[method] as { readbacks_per_step: number }).readbacks_per_step} readback(s)/step`);
    trainer.destroy();
    destroyBenchModel(ctx, m);
    ctx.pool.trim();
    Object.assign(out[method] as object, await dispatchesPerLayer(env, method));
    log(`${method}: ${(out[method] as { dispatches_per_layer: number }).dispatches_per_layer} dispatches per layer`);
  }
  return out;
};
