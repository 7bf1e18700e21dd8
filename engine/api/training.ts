// EngineApi.train: the studio's face of the engine's training session (engine/session/
// training.ts, the same run `whetstone train` assembles). This file is what is the worker's own:
// the page's request and callbacks (one Comlink proxy), pause/resume/stop, the device of the
// runtime, checkpoints handed to the page, and the summary posted back. A lost device ends the
// run with GpuDeviceLost (the page re-acquires and calls train again with resumeFrom = the last
// checkpoint it received).
import { MemorySource } from '../io/byteSource.ts';
import { resolveRecipe } from '../recipe/schema.ts';
import { prepareTraining } from '../session/training.ts';
import { bytesOf } from './chat.ts';
import type { TrainCallbacks, TrainRequest, TrainSummary } from './contract.ts';
import { TrainingInProgress, type EngineRuntime } from './runtime.ts';
import { CallbackRunStore, pageCallbacks, toArrayBuffers, type TrainControl } from './trainControl.ts';
import { fourBitOptions } from '../quant/loadNf4.ts';

export async function train(runtime: EngineRuntime, control: TrainControl, request: TrainRequest, callbacks: TrainCallbacks): Promise<TrainSummary> {
  if (runtime.training) throw new TrainingInProgress('another run');
  runtime.training = true;
  control.reset();
  try {
    // A generation the page asked for before the run (a label sample, an arena answer) finishes
    // first; those asked for from now on are refused (EngineRuntime.use).
    await runtime.idle();
    return await runPrepared(runtime, control, request, callbacks);
  } finally {
    runtime.training = false;
    control.reset();
  }
}

async function runPrepared(runtime: EngineRuntime, control: TrainControl, request: TrainRequest, page: TrainCallbacks): Promise<TrainSummary> {
  const callbacks = pageCallbacks(page);
  const recipe = resolveRecipe(request.recipe);
  // A recipe asking for the other precision (load_in_4bit) reloads the model first (phase "upload").
  const { ctx, loaded } = await runtime.model('training', fourBitOptions(recipe), page.onProgress);
  const acquired = await runtime.session.acquire();
  const store = new CallbackRunStore(callbacks.onCheckpoint);
  const session = await prepareTraining({
    ctx,
    loaded,
    recipe,
    data: new MemorySource(request.dataset.name, new Uint8Array(request.dataset.data)),
    // The page resumes a run with the recipe it was started with: its LoRA shape must match too.
    resumeFrom: request.resumeFrom
      ? {
          name: 'the checkpoint to resume from',
          files: bytesOf(request.resumeFrom),
          expected: { lora_r: recipe.lora_r, lora_alpha: recipe.lora_alpha, lora_dropout: recipe.lora_dropout, lora_target_modules: recipe.lora_target_modules, use_rslora: recipe.use_rslora },
        }
      : null,
    store,
    baseModel: loaded.name,
    memoryPolicy: 'refuse',
    samples: page.onSample ? { prompt: request.samplePrompt } : null,
    deviceLost: acquired.lost,
    callbacks: {
      beforeStep: () => control.gate(),
      onProgress: (p) => callbacks.onProgress({ phase: 'train', done: p.step, total: p.total, metrics: { loss: p.loss, tokens_per_second: p.tokensPerSecond, eta_seconds: p.etaSeconds } }),
      onLog: (entry) => callbacks.onLog(entry),
      onWarning: (w) => callbacks.onWarning(w),
      onSample: (step, prompt, text) => callbacks.onSample(step, prompt, text),
    },
  });
  callbacks.onProgress({ phase: 'train', done: session.startStep, total: session.total });
  const result = await session.run();
  return {
    steps: result.steps,
    totalSteps: result.total,
    stopped: result.stopped,
    finalLoss: result.finalLoss,
    lastLog: result.lastLog,
    adapter: toArrayBuffers(store.final ?? {}),
    rewardScores: result.rewardScores,
  };
}
