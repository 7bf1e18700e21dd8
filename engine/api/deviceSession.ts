// The one GPU device an EngineApi holds, acquired on first use and shared by every method
// (probe, loadModel, train, generate, ...). If the device is lost, the next call acquires a new one.
// How to acquire is injected: navigator.gpu in the worker, Dawn (engine/gpu/nodeGpu.ts) in Node.
import type { AcquiredDevice } from '../gpu/device.ts';

export type AcquireFn = () => Promise<AcquiredDevice>;

export class DeviceSession {
  private current: Promise<AcquiredDevice> | null = null;
  private lostListeners = new Set<(reason: Error) => void>();

  constructor(private readonly acquireFn: AcquireFn) {}

  /** The device, acquiring it the first time (or again after a loss or a failed attempt). */
  acquire(): Promise<AcquiredDevice> {
    if (!this.current) {
      const attempt = this.acquireFn();
      this.current = attempt;
      attempt.then(
        (acquired) => {
          void acquired.lost.then((lost) => {
            if (this.current === attempt) this.current = null;
            for (const listener of this.lostListeners) listener(lost);
          });
        },
        () => {
          // A failed acquisition is not cached: the user may enable WebGPU and retry.
          if (this.current === attempt) this.current = null;
        },
      );
    }
    return this.current;
  }

  /** Calls `listener` with a GpuDeviceLost each time the current device is lost. Returns an unsubscribe. */
  onLost(listener: (reason: Error) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Destroys the device (if any); the next call acquires a fresh one. */
  async release(): Promise<void> {
    const current = this.current;
    this.current = null;
    if (!current) return;
    try {
      (await current).device.destroy();
    } catch {
      // Acquisition had failed: nothing to release.
    }
  }
}
