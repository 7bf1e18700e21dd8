// The only file in app/ that talks to the engine: it starts workers/engine.worker.ts and wraps
// EngineApi with Comlink. Everything else in app/ calls the functions exported here.
//
// Engine failures arrive as plain ApiError objects ({ name, message, hint }); `callEngine` turns
// them into EngineError (a real Error with the same fields) and also fails every pending call if
// the worker itself dies, instead of leaving the UI waiting forever.
import * as Comlink from 'comlink';
import type { EngineApi } from '../engine/api.ts';
import type {
  BestOfNResult,
  DatasetReport,
  EngineContract,
  MemoryEstimate,
  Method,
  ModelInfo,
  ModelSource,
  RecipeJson,
  TrainCallbacks,
  TrainRequest,
  TrainSummary,
} from '../engine/api/contract.ts';
import { isApiError, type ApiError, type DeviceReport, type ProgressCallback } from '../engine/api/types.ts';

/** The worker's API as the page sees it: EngineApi implements EngineContract (engine/api/contract.ts). */
type Engine = EngineApi & EngineContract;

export class EngineError extends Error implements ApiError {
  readonly hint: string;
  readonly details?: ApiError['details'];
  constructor(e: ApiError) {
    super(e.message);
    this.name = e.name;
    this.hint = e.hint;
    if (e.details) this.details = e.details;
  }
}

interface Connection {
  worker: Worker;
  /** Whether this worker already reports device loss to `deviceLostListeners`. */
  watchingLoss: boolean;
  api: Comlink.Remote<Engine>;
  /** Rejects (never resolves) when the worker fails to load or crashes. */
  failed: Promise<never>;
}

let connection: Connection | null = null;

function connect(): Connection {
  if (connection) return connection;
  const worker = new Worker(new URL('../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'whetstone-engine' });
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      connection = null;
      reject(
        new EngineError({
          name: 'EngineWorkerFailed',
          message: `The engine worker stopped: ${event.message || 'it failed to load'}`,
          hint: 'Reload the page. If it happens again, please report it with the browser console output.',
        }),
      );
    });
  });
  failed.catch(() => {}); // observed by callEngine; avoid an unhandled rejection when idle
  connection = { worker, watchingLoss: false, api: Comlink.wrap<Engine>(worker), failed };
  return connection;
}

/**
 * The one normaliser of engine failures: an ApiError from the worker (or anything else thrown on
 * the way) as an EngineError with name, message and hint. app/store/problems.ts builds on it.
 */
export function toEngineError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  if (isApiError(e)) return new EngineError(e);
  const err = e instanceof Error ? e : new Error(String(e));
  return new EngineError({ name: err.name || 'Error', message: err.message, hint: 'This is unexpected; reload the page and try again.' });
}

/** Runs one engine call, with engine failures as EngineError. */
export async function callEngine<T>(call: (api: Comlink.Remote<Engine>) => Promise<T>): Promise<T> {
  const { api, failed } = connect();
  try {
    return await Promise.race([call(api), failed]);
  } catch (e) {
    throw toEngineError(e);
  }
}

/** Wraps a progress callback so the worker can call it back across the boundary. */
export function progressProxy(callback: ProgressCallback): ProgressCallback & Comlink.ProxyMarked {
  return Comlink.proxy(callback);
}

// --- EngineApi methods, one small function each -------------------------------------------

const deviceLostListeners = new Set<(error: ApiError) => void>();

/** Calls `listener` whenever the worker's GPU device is lost (a GpuDeviceLost ApiError). Returns an unsubscribe. */
export function onDeviceLost(listener: (error: ApiError) => void): () => void {
  deviceLostListeners.add(listener);
  return () => deviceLostListeners.delete(listener);
}

/**
 * Acquires the GPU in the worker and reports the adapter; throws EngineError (WebGpuUnavailable, ...).
 * From then on the worker reports device loss to the `onDeviceLost` listeners.
 */
export async function probeDevice(): Promise<DeviceReport> {
  const report = await callEngine((api) => api.probe());
  const conn = connect();
  if (!conn.watchingLoss) {
    conn.watchingLoss = true;
    const forward = Comlink.proxy((error: ApiError) => deviceLostListeners.forEach((listener) => listener(error)));
    await callEngine((api) => api.watchDeviceLoss(forward));
  }
  return report;
}

// --- Model, dataset, training, chat and export (engine/api/contract.ts) -------------------

/** Loads the base model (demo, hub or a picked folder), reporting download/upload progress. */
export function loadModel(source: ModelSource, onProgress: ProgressCallback): Promise<ModelInfo> {
  return callEngine((api) => api.loadModel(source, progressProxy(onProgress)));
}

/** Detects the format, validates every row and (with a model loaded) previews the loss mask. */
export function inspectDataset(file: { name: string; data: ArrayBuffer }, method: Method | null, options?: { maxLength?: number }): Promise<DatasetReport> {
  // A copy goes to the worker: the page keeps its bytes for training and for the run record.
  return callEngine((api) => api.inspectDataset({ name: file.name, data: file.data.slice(0) }, method, options));
}

/** The user prompts of a dataset's first rows (for labelling and the arena). */
export function datasetPrompts(file: { name: string; data: ArrayBuffer }, limit?: number): Promise<string[]> {
  return callEngine((api) => api.datasetPrompts({ name: file.name, data: file.data.slice(0) }, limit));
}

export function estimateMemory(recipe: RecipeJson): Promise<MemoryEstimate> {
  return callEngine((api) => api.estimateMemory(recipe));
}

/** Trains until done, stopped or failed; callbacks run in the page (Comlink.proxy). */
export function train(request: TrainRequest, callbacks: TrainCallbacks): Promise<TrainSummary> {
  return callEngine((api) => api.train(request, Comlink.proxy(callbacks)));
}

export function pauseTraining(): Promise<void> {
  return callEngine((api) => api.pauseTraining());
}

export function resumeTraining(): Promise<void> {
  return callEngine((api) => api.resumeTraining());
}

export function stopTraining(): Promise<void> {
  return callEngine((api) => api.stopTraining());
}

/** Streams the answer to `prompt`, from the base model (adapter null) or with an adapter's files. */
export function generate(
  prompt: string,
  options: { adapter: Record<string, ArrayBuffer> | null; maxNewTokens?: number; temperature?: number; topP?: number; seed?: number },
  onToken: (textSoFar: string) => void,
): Promise<string> {
  return callEngine((api) => api.generate(prompt, options, Comlink.proxy(onToken)));
}

/** Best-of-N: `n` answers sampled with `adapter` (or the base), each scored by the reward model's adapter. */
export function bestOfN(
  prompt: string,
  options: { adapter: Record<string, ArrayBuffer> | null; rewardAdapter: Record<string, ArrayBuffer>; n: number; maxNewTokens?: number; temperature?: number; seed?: number },
  onCandidate: (index: number, text: string) => void,
): Promise<BestOfNResult> {
  return callEngine((api) => api.bestOfN(prompt, options, Comlink.proxy(onCandidate)));
}

/** The base model with the adapter merged in, as HF checkpoint files. */
export function exportMerged(adapter: Record<string, ArrayBuffer>): Promise<Record<string, ArrayBuffer>> {
  return callEngine((api) => api.exportMerged(adapter));
}
