// EngineApi: everything the studio can ask of the engine. In the browser it runs inside
// workers/engine.worker.ts (Comlink.expose) and the page reaches it only through
// app/engineClient.ts (Comlink.wrap). In Node: `new EngineApi(() => acquireNodeDevice())`.
// What a run, an evaluation or a chat needs is assembled in engine/session/, which the CLI uses
// too; engine/api/ holds only the worker's side (requests, page callbacks, pause/stop, errors).
//
// Pattern for new methods (loadModel, inspectDataset, train, generate, export, ...):
//   - put the work in engine/session/ (or the engine folder it belongs to) so the CLI can use it,
//     and the worker's side in a small module under engine/api/, taking `this.session` for the
//     GPU device and plain serialisable arguments;
//   - add a one-line method here that delegates inside `reportErrors(...)`, so failures reach the
//     page as plain `ApiError` objects ({ name, message, hint });
//   - arguments and results are structured-clone data (types in engine/api/types.ts); long calls
//     take a `ProgressCallback` (the page wraps it in `Comlink.proxy`) and return when done;
//   - large binary results (adapter files, checkpoints) go back as ArrayBuffers, ideally with
//     `Comlink.transfer(result, [buffers])` so they are moved, not copied.
import * as Comlink from 'comlink';
import { acquireDevice } from './gpu/device.ts';
import { chat, chatBestOfN, type BestOfNOptions, type ChatOptions } from './api/chat.ts';
import type { BestOfNResult, DatasetReport, EngineContract, MemoryEstimate, Method, ModelInfo, ModelSource, RecipeJson, TrainCallbacks, TrainRequest, TrainSummary } from './api/contract.ts';
import { datasetPrompts } from './api/datasetPrompts.ts';
import { datasetReport } from './api/datasetReport.ts';
import { reportErrors, toApiError } from './api/errors.ts';
import { exportMerged } from './api/exportMerged.ts';
import { estimateTrainingMemory } from './session/memory.ts';
import { loadModelFromSource } from './api/modelSource.ts';
import { probe } from './api/probe.ts';
import { EngineRuntime, type EngineOptions } from './api/runtime.ts';
import { DeviceSession, type AcquireFn } from './api/deviceSession.ts';
import { TrainControl } from './api/trainControl.ts';
import { train } from './api/training.ts';
import type { ApiError, DeviceReport, ProgressCallback } from './api/types.ts';
import { resolveRecipe } from './recipe/schema.ts';

/** In a browser or worker: WebGPU from `navigator.gpu` (undefined where there is none). */
const acquireBrowserDevice: AcquireFn = () => acquireDevice((globalThis.navigator as Navigator | undefined)?.gpu);

/** Every ArrayBuffer of a files record, to move (not copy) across postMessage. */
function transferFiles<T extends object>(result: T, files: Record<string, ArrayBuffer>): T {
  return Comlink.transfer(result, Object.values(files));
}

export class EngineApi implements EngineContract {
  /** The GPU device, shared by all methods. */
  protected readonly session: DeviceSession;
  /** The GpuContext, the loaded model and the cached adapter (engine/api/runtime.ts). */
  protected readonly runtime: EngineRuntime;
  private readonly control = new TrainControl();

  /** options: demoModelUrl / hubUrl / fetch (tests point them at a local server). */
  constructor(acquire: AcquireFn = acquireBrowserDevice, options: EngineOptions = {}) {
    this.session = new DeviceSession(acquire);
    this.runtime = new EngineRuntime(this.session, options);
  }

  /** Acquires the GPU (once) and reports the adapter, its features and limits. */
  probe(): Promise<DeviceReport> {
    return reportErrors(() => probe(this.session));
  }

  /**
   * Calls `onLost` (a Comlink.proxy callback from the page) each time the GPU device is lost
   * (driver reset, GPU reclaimed), with a GpuDeviceLost error saying what to do.
   */
  watchDeviceLoss(onLost: (error: ApiError) => void): void {
    this.session.onLost((reason) => onLost(toApiError(reason)));
  }

  /** Destroys the GPU device (the next call acquires a new one). */
  releaseDevice(): Promise<void> {
    return reportErrors(() => this.session.release());
  }

  /** Loads the demo, a hub model or a dropped folder (replacing the current model). Progress: "download", then "upload" (bytes). */
  loadModel(source: ModelSource, onProgress: ProgressCallback): Promise<ModelInfo> {
    return reportErrors(() => loadModelFromSource(this.runtime, source, onProgress));
  }

  /** Format, valid rows, errors by line and a preview; with a model loaded also the loss mask of one example and token statistics. */
  inspectDataset(file: { name: string; data: ArrayBuffer }, method: Method | null, options: { maxLength?: number } = {}): Promise<DatasetReport> {
    return reportErrors(() => datasetReport(file, method, this.runtime.tokenizer(), options));
  }

  /** The user prompts of the dataset's first rows, for the classroom's labelling and arena (no model needed). */
  datasetPrompts(file: { name: string; data: ArrayBuffer }, limit?: number): Promise<string[]> {
    return reportErrors(() => datasetPrompts(file, limit));
  }

  /** GPU memory the recipe needs with the loaded model, against what the device allows. */
  estimateMemory(recipe: RecipeJson): Promise<MemoryEstimate> {
    return reportErrors(async () => {
      const { ctx, loaded } = await this.runtime.model('a memory estimate');
      return estimateTrainingMemory(loaded, ctx.caps, resolveRecipe(recipe));
    });
  }

  /** Trains a LoRA adapter (any method; a reward model's adapter has a score head) on the loaded model; resolves when done or stopped. */
  train(request: TrainRequest, callbacks: TrainCallbacks): Promise<TrainSummary> {
    return reportErrors(async () => {
      const summary = await train(this.runtime, this.control, request, callbacks);
      return transferFiles(summary, summary.adapter);
    });
  }

  /** Holds the run before its next step. */
  pauseTraining(): void {
    this.control.pause();
  }

  resumeTraining(): void {
    this.control.resume();
  }

  /** Ends the run after the current step; train() then resolves with the adapter so far. */
  stopTraining(): void {
    this.control.stop();
  }

  /** One user message -> the answer, streamed as text so far; adapter null = the base model. */
  generate(prompt: string, options: ChatOptions, onToken: (textSoFar: string) => void): Promise<string> {
    return reportErrors(() => chat(this.runtime, prompt, options, onToken));
  }

  /** Best-of-N: `n` sampled answers scored by a reward model's adapter; all of them with their rewards, and the best one's index. */
  bestOfN(prompt: string, options: BestOfNOptions, onCandidate?: (index: number, text: string) => void): Promise<BestOfNResult> {
    return reportErrors(() => chatBestOfN(this.runtime, prompt, options, onCandidate));
  }

  /** The loaded model with the adapter merged in, as HF checkpoint files (progress phase "export", bytes). */
  exportMerged(adapter: Record<string, ArrayBuffer>, onProgress?: ProgressCallback): Promise<Record<string, ArrayBuffer>> {
    return reportErrors(async () => {
      const files = await exportMerged(this.runtime, adapter, onProgress);
      return transferFiles(files, files);
    });
  }
}
