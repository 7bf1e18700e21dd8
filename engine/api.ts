// EngineApi: everything the studio (and the CLI) can ask of the engine. In the browser it runs
// inside workers/engine.worker.ts (Comlink.expose) and the page reaches it only through
// app/engineClient.ts (Comlink.wrap). In Node: `new EngineApi(() => acquireNodeDevice())`.
//
// Pattern for new methods (loadModel, inspectDataset, train, generate, export, ...):
//   - put the work in a small module under engine/api/ (or the engine folder it belongs to),
//     taking `this.session` for the GPU device and plain serialisable arguments;
//   - add a one-line method here that delegates inside `reportErrors(...)`, so failures reach the
//     page as plain `ApiError` objects ({ name, message, hint });
//   - arguments and results are structured-clone data (types in engine/api/types.ts); long calls
//     take a `ProgressCallback` (the page wraps it in `Comlink.proxy`) and return when done;
//   - large binary results (adapter files, checkpoints) go back as ArrayBuffers, ideally with
//     `Comlink.transfer(result, [buffers])` so they are moved, not copied.
import { acquireDevice } from './gpu/device.ts';
import { reportErrors, toApiError } from './api/errors.ts';
import { probe } from './api/probe.ts';
import { DeviceSession, type AcquireFn } from './api/session.ts';
import type { ApiError, DeviceReport } from './api/types.ts';

/** In a browser or worker: WebGPU from `navigator.gpu` (undefined where there is none). */
const acquireBrowserDevice: AcquireFn = () => acquireDevice((globalThis.navigator as Navigator | undefined)?.gpu);

export class EngineApi {
  /** The GPU device, shared by all methods. */
  protected readonly session: DeviceSession;

  constructor(acquire: AcquireFn = acquireBrowserDevice) {
    this.session = new DeviceSession(acquire);
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
}
