// EngineApi: everything the studio can ask of the engine. It runs inside workers/engine.worker.ts
// (Comlink.expose) and is reached from the page only through app/engineClient.ts (Comlink.wrap).
//
// Pattern for new methods (loadModel, inspectDataset, train, generate, export, ...):
//   - put the work in a small module under engine/api/ (or the engine folder it belongs to),
//     taking `this.session` for the GPU device and plain serialisable arguments;
//   - add a one-line method here that delegates inside `reportErrors(...)`, so failures reach the
//     page as plain `ApiError` objects ({ name, message, hint });
//   - arguments and results are structured-clone data (types in engine/api/types.ts); long calls
//     take a `ProgressCallback` that the page wraps in `Comlink.proxy`;
//   - large binary results (adapter files, checkpoints) go back as ArrayBuffers, ideally with
//     `Comlink.transfer(result, [buffers])` so they are moved, not copied.
import { reportErrors } from './api/errors.ts';
import { probe } from './api/probe.ts';
import { DeviceSession } from './api/session.ts';
import type { DeviceReport } from './api/types.ts';

export class EngineApi {
  /** The worker's GPU device, shared by all methods. `navigator.gpu` is the worker's own. */
  protected readonly session: DeviceSession;

  constructor(gpu: () => GPU | undefined = () => (globalThis.navigator as Navigator | undefined)?.gpu) {
    this.session = new DeviceSession(gpu);
  }

  /** Acquires the GPU (once) and reports the adapter, its features and limits. */
  probe(): Promise<DeviceReport> {
    return reportErrors(() => probe(this.session));
  }
}
