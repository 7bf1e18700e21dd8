// Structural figures of a training step for the training section (issue 9 goals, any adapter):
//   dispatches_per_layer      the marginal dispatches of one more decoder layer in an optimizer step,
//                             measured: the same step with 1 and with 2 layers (goal: <= 40 for SFT)
//   dispatches_outside_layers embedding, final norm, LM head / cross-entropy, loss, optimizer
//   weight_bytes_per_param    bytes of the model's weight buffers per parameter (goal: 2)
//   planned_gpu_bytes         what the run should need: weights + LoRA (params, grads, AdamW moments)
//                             + saved activations + LM-head logits scratch; peak/planned goal <= 1.1
import { DEFAULT_LOGITS_BUDGET_BYTES } from '../../engine/ops/crossEntropy.ts';
import { parameterCount } from '../../engine/model/config.ts';
import { resolveRecipe } from '../../engine/train/recipe.ts';
import type { RunStore } from '../../engine/train/runStore.ts';
import { Trainer } from '../../engine/train/trainer.ts';
import type { TrainingExamples } from '../../engine/train/examples.ts';
import type { BenchEnv } from './env.ts';
import { benchModel, destroyBenchModel, randomTokens, type BenchModel } from './modelShapes.ts';

const nullStore: RunStore = { saveCheckpoint: async () => {}, saveFinal: async () => {}, appendMetrics: async () => {} };

/** One SFT row or DPO pair per step, `seq` tokens each, on a bench model. */
export function benchExamples(m: BenchModel, method: 'sft' | 'dpo', rows: number): TrainingExamples {
  const prompt = Math.floor(m.seq / 2);
  const row = (seed: number) => {
    const ids = randomTokens(m.seq, m.spec.vocabSize, seed);
    return { ids, trainMask: ids.map((_, i) => (method === 'sft' || i >= prompt ? 1 : 0)) };
  };
  return method === 'sft'
    ? { method, rows: Array.from({ length: rows }, (_, i) => row(i + 1)) }
    : { method, rows: Array.from({ length: rows }, (_, i) => ({ chosen: row(2 * i + 1), rejected: row(2 * i + 2) })) };
}

/** Dispatches of the second optimizer step (the first compiles and allocates) of a `layers`-layer model. */
async function stepDispatches(env: BenchEnv, method: 'sft' | 'dpo', layers: number): Promise<number> {
  const { ctx } = env;
  const m = benchModel(env, false, layers);
  const counts: number[] = [];
  const trainer = new Trainer({
    ctx,
    model: m.model,
    adapter: m.adapter,
    recipe: resolveRecipe({ method, max_steps: 2, per_device_train_batch_size: 1, lora_dropout: 0, save_steps: 10_000, logging_steps: 1 }),
    train: benchExamples(m, method, 2),
    padId: 0,
    store: nullStore,
    baseModel: 'random SmolLM2-135M shape',
    callbacks: { beforeStep: () => (counts.push(ctx.counters.dispatches), 'continue') },
  });
  await trainer.run();
  const last = ctx.counters.dispatches;
  trainer.destroy();
  destroyBenchModel(ctx, m);
  ctx.pool.trim();
  // counts[1] is taken before step 2; the final adapter save after step 2 reads back but dispatches nothing.
  return last - counts[1];
}

/** Marginal dispatches per decoder layer, and the rest of the step. */
export async function dispatchesPerLayer(env: BenchEnv, method: 'sft' | 'dpo'): Promise<{ dispatches_per_layer: number; dispatches_outside_layers: number }> {
  const one = await stepDispatches(env, method, 1);
  const two = await stepDispatches(env, method, 2);
  return { dispatches_per_layer: two - one, dispatches_outside_layers: one - (two - one) };
}

export function weightBytesPerParam(m: BenchModel): number {
  return +(m.weightBytes / parameterCount(m.spec)).toFixed(3);
}

/** What a step with `rows` sequences of m.seq tokens should need on the GPU (AdamW). */
export function plannedTrainingBytes(m: BenchModel, rows: number): number {
  const N = rows * m.seq;
  const loraWithMoments = m.loraBytes * 2; // params + grads, then AdamW's exp_avg + exp_avg_sq
  const logitsScratch = Math.min(DEFAULT_LOGITS_BUDGET_BYTES, N * m.spec.vocabSize * 4);
  return m.weightBytes + loraWithMoments + m.model.activationBytes(rows, m.seq, false) + logitsScratch;
}
