// EngineApi.train: recipe + dataset (+ a checkpoint to resume from) -> a LoRA adapter, with
// progress, logs, checkpoints and sample generations delivered to the page as they happen.
// The memory estimate is checked before anything is allocated; the first step runs inside an
// out-of-memory error scope; a lost device ends the run with GpuDeviceLost (the page re-acquires
// and calls train again with resumeFrom = the last checkpoint it received).
import { inspectDataset, loadTrainingExamples } from '../data/dataset.ts';
import { GpuOutOfMemory, WhetstoneError } from '../gpu/errors.ts';
import { MemorySource } from '../io/byteSource.ts';
import { CheckpointError } from '../io/errors.ts';
import { memoryFileSet } from '../io/fileSet.ts';
import { createLoraAdapter, destroyAdapter } from '../lora/adapter.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../lora/peft.ts';
import type { LoraAdapter } from '../lora/types.ts';
import { loadAdapter } from '../model/loadModel.ts';
import { LlamaModel } from '../model/model.ts';
import { decodeCheckpoint, type DecodedCheckpoint } from '../train/checkpointState.ts';
import { splitEval } from '../train/evalSplit.ts';
import type { TrainingExamples } from '../data/examples.ts';
import { loraConfigFromRecipe, resolveRecipe, type Recipe } from '../train/recipe.ts';
import { Trainer } from '../train/trainer.ts';
import { bytesOf, promptIds, streamAnswer } from './chat.ts';
import type { TrainCallbacks, TrainRequest, TrainSummary } from './contract.ts';
import { estimateTrainingMemory } from './memory.ts';
import { TrainingInProgress, type CurrentModel, type EngineRuntime } from './runtime.ts';
import { firstUserPrompt } from './samplePrompt.ts';
import { CallbackRunStore, deviceLost, FirstStepGuard, outOfMemory, pageCallbacks, toArrayBuffers, type TrainControl } from './trainControl.ts';
import { isApiError } from './types.ts';

export const SAMPLE_TOKENS = 24;

export async function train(runtime: EngineRuntime, control: TrainControl, request: TrainRequest, callbacks: TrainCallbacks): Promise<TrainSummary> {
  if (runtime.training) throw new TrainingInProgress('another run');
  runtime.training = true;
  control.reset();
  try {
    return await runPrepared(runtime, control, request, callbacks);
  } finally {
    runtime.training = false;
    control.reset();
  }
}

async function runPrepared(runtime: EngineRuntime, control: TrainControl, request: TrainRequest, page: TrainCallbacks): Promise<TrainSummary> {
  const callbacks = pageCallbacks(page);
  const wantsSamples = Boolean(page.onSample);
  const recipe = resolveRecipe(request.recipe);
  const current = await runtime.model('training');
  const { ctx, loaded } = current;
  const acquired = await runtime.session.acquire();
  const estimate = estimateTrainingMemory(loaded, ctx.caps, recipe);
  if (!estimate.fits) throw outOfMemory(estimate, recipe, null);

  const src = new MemorySource(request.dataset.name, new Uint8Array(request.dataset.data));
  const data = await loadTrainingExamples(src, loaded.tokenizer, {
    method: recipe.method,
    maxLength: recipe.max_length,
    dropLongRows: recipe.drop_long_rows,
    completionOnlyLoss: recipe.completion_only_loss,
    skipInvalidRows: recipe.skip_invalid_rows,
  });
  for (const w of data.warnings) callbacks.onWarning(w);
  let trainSet: TrainingExamples = data.examples;
  let evalSet: TrainingExamples | null = null;
  if (recipe.eval_split > 0 && trainSet.rows.length > 1) [trainSet, evalSet] = splitEval(trainSet, recipe.eval_split, recipe.seed);
  const samplePrompt = request.samplePrompt?.trim() || firstUserPrompt((await inspectDataset(src, { method: recipe.method })).preview[0]);

  const resume = request.resumeFrom ? await decodeCheckpoint(bytesOf(request.resumeFrom), 'the checkpoint to resume from') : null;
  if (resume && resume.state.method !== recipe.method) {
    throw new CheckpointError('', `the checkpoint is from a ${resume.state.method.toUpperCase()} run, the recipe says ${recipe.method.toUpperCase()}`, 'Resume with the recipe the run was started with.');
  }
  const adapter = resume ? await resumedAdapter(current, resume) : createLoraAdapter(ctx, loaded.spec, loraConfigFromRecipe(recipe), recipe.seed);
  const model = new LlamaModel(ctx, loaded.spec, loaded.model.weights, { gradientCheckpointing: recipe.gradient_checkpointing });
  const store = new CallbackRunStore(callbacks.onCheckpoint);
  const guard = new FirstStepGuard(ctx.device);
  const loss: { error: WhetstoneError | null } = { error: null };
  void acquired.lost.then((e) => (loss.error = e));

  let trainer: Trainer | null = null;
  try {
    const every = { n: 1, sampledAt: resume?.state.global_step ?? -1, lastStep: resume?.state.global_step ?? 0, lastLoss: null as number | null };
    const sample = async (step: number) => {
      if (!wantsSamples || !samplePrompt || every.sampledAt === step) return;
      every.sampledAt = step;
      const text = await streamAnswer(model, loaded.tokenizer, promptIds(loaded.tokenizer, samplePrompt), adapter, { maxNewTokens: SAMPLE_TOKENS, temperature: 0, topP: 1, seed: 0 });
      callbacks.onSample(step, samplePrompt, text);
    };
    trainer = new Trainer({
      ctx,
      model,
      adapter,
      recipe,
      train: trainSet,
      eval: evalSet,
      padId: loaded.tokenizer.padTokenId ?? loaded.tokenizer.eosTokenId ?? 0,
      store,
      baseModel: loaded.name,
      callbacks: {
        beforeStep: async () => {
          await guard.check(estimate, recipe); // the first step's allocations succeeded
          if (every.lastStep > 0 && every.lastStep % every.n === 0) await sample(every.lastStep);
          const go = await control.gate();
          if (go === 'continue') guard.begin();
          return go;
        },
        onProgress: (p) => {
          guard.end();
          every.lastStep = p.step;
          every.lastLoss = p.loss;
          callbacks.onProgress({ phase: 'train', done: p.step, total: p.total, metrics: { loss: p.loss, tokens_per_second: p.tokensPerSecond, eta_seconds: p.etaSeconds } });
        },
        onLog: (entry) => callbacks.onLog(entry),
        onWarning: (w) => callbacks.onWarning(w),
      },
    });
    if (resume) trainer.restore(resume);
    every.n = Math.max(1, Math.floor(trainer.total / 5));
    callbacks.onProgress({ phase: 'train', done: every.lastStep, total: trainer.total });
    const running = trainer.run();
    running.catch(() => {}); // when the device is lost first, the race below has already answered
    const result = await raceDeviceLoss(running, acquired.lost);
    await guard.check(estimate, recipe);
    if (result.steps > 0 && (result.steps % every.n === 0 || result.steps === trainer.total)) await sample(result.steps);
    return {
      steps: result.steps,
      totalSteps: trainer.total,
      stopped: result.stopped,
      finalLoss: every.lastLoss ?? result.lastLog?.loss ?? null,
      lastLog: result.lastLog,
      adapter: toArrayBuffers(store.final ?? {}),
    };
  } catch (e) {
    guard.end();
    const lostNow = loss.error ?? (await settledLoss(acquired.lost));
    if (lostNow) throw deviceLost((lostNow as WhetstoneError & { reason?: string }).reason ?? lostNow.message, store.lastCheckpointStep);
    if (e instanceof GpuOutOfMemory) throw outOfMemory(estimate, recipe, e.message);
    if (isApiError(e) || e instanceof Error) throw e;
    throw new WhetstoneError(String(e), 'This is unexpected; please report it with the message above.');
  } finally {
    trainer?.destroy();
    model.destroy();
    destroyAdapter(adapter);
    ctx.pool.trim();
  }
}

async function resumedAdapter(current: CurrentModel, resume: DecodedCheckpoint): Promise<LoraAdapter> {
  const files = memoryFileSet('the checkpoint', { [ADAPTER_CONFIG]: new TextEncoder().encode(resume.adapterConfig), [ADAPTER_WEIGHTS]: resume.adapterWeights });
  return loadAdapter(current.ctx, current.loaded.spec, files);
}

/** The run's result, or GpuDeviceLost as soon as the device goes (a lost device can leave readbacks pending forever). */
function raceDeviceLoss<T>(run: Promise<T>, lost: Promise<WhetstoneError>): Promise<T> {
  return Promise.race([run, lost.then((e) => Promise.reject(e))]);
}

/** The device-loss error if the device is lost now or within a moment (errors of a dying device come first). */
async function settledLoss(lost: Promise<WhetstoneError>): Promise<WhetstoneError | null> {
  return Promise.race([lost, new Promise<null>((r) => setTimeout(() => r(null), 100))]);
}

export type { Recipe };
