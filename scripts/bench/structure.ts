// Structural figures of a training step for the training section (issue 9 goals, any adapter):
//   dispatches_per_layer      the marginal dispatches of one more decoder layer in an optimizer step,
//                             measured: the same step with 1 and with 2 layers (goal: <= 40 for SFT)
//   dispatches_outside_layers embedding, final norm, LM head / cross-entropy, loss, optimizer
//   weight_bytes_per_param    bytes of the model's weight buffers per parameter (goal: 2)
//   planned_gpu_bytes         what the run should need: weights + LoRA (params, grads, AdamW moments)
//                             + saved activations + LM-head scratch (logits block, split-K partial
//                             sums where the GPU splits); peak/planned goal <= 1.1
import { lmHeadScratchBytes } from '../../engine/ops/crossEntropy.ts';
import { parameterCount } from '../../engine/model/config.ts';
import type { BenchEnv } from './env.ts';
import { benchModel, destroyBenchModel, type BenchModel } from './modelShapes.ts';
import { runTrainerSteps } from './trainerRun.ts';

/** Dispatches of the second optimizer step (the first compiles and allocates) of a `layers`-layer model. */
async function stepDispatches(env: BenchEnv, method: 'sft' | 'dpo', layers: number): Promise<number> {
  const m = benchModel(env, false, layers);
  try {
    const run = await runTrainerSteps(env, m, { method, rows: 1, seq: m.seq, steps: 2 });
    return run.steps[1].dispatches;
  } finally {
    destroyBenchModel(env.ctx, m);
    env.ctx.pool.trim();
  }
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
  const logitsScratch = lmHeadScratchBytes(m.model.ctx, N, m.spec.hiddenSize, m.spec.vocabSize, m.dtype);
  return m.weightBytes + loraWithMoments + m.model.activationBytes(rows, m.seq, false) + logitsScratch;
}
