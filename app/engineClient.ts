// The only file in app/ that talks to the engine: it starts workers/engine.worker.ts and wraps
// EngineApi with Comlink. Everything else in app/ calls the functions exported here.
//
// Engine failures arrive as plain ApiError objects ({ name, message, hint }); `callEngine` turns
// them into EngineError (a real Error with the same fields) and also fails every pending call if
// the worker itself dies, instead of leaving the UI waiting forever.
import * as Comlink from 'comlink';
import type { EngineApi } from '../engine/api.ts';
import { isApiError, type ApiError, type DeviceReport, type ProgressCallback } from '../engine/api/types.ts';

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
  api: Comlink.Remote<EngineApi>;
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
  connection = { worker, watchingLoss: false, api: Comlink.wrap<EngineApi>(worker), failed };
  return connection;
}

/** Runs one engine call, with engine failures as EngineError. */
export async function callEngine<T>(call: (api: Comlink.Remote<EngineApi>) => Promise<T>): Promise<T> {
  const { api, failed } = connect();
  try {
    return await Promise.race([call(api), failed]);
  } catch (e) {
    if (e instanceof EngineError) throw e;
    if (isApiError(e)) throw new EngineError(e);
    const err = e instanceof Error ? e : new Error(String(e));
    throw new EngineError({ name: err.name || 'Error', message: err.message, hint: 'This is unexpected; please report it with the message above.' });
  }
}

/** Wraps a progress callback so the worker can call it back across the boundary. */
export function progressProxy(callback: ProgressCallback): ProgressCallback & Comlink.ProxyMarked {
  return Comlink.proxy(callback);
}

/** Stops the worker (its GPU device goes with it). The next call starts a fresh one. */
export function terminateEngine(): void {
  if (!connection) return;
  connection.api[Comlink.releaseProxy]();
  connection.worker.terminate();
  connection = null;
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
