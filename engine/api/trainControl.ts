// The pieces of EngineApi.train that belong to the worker, not to the training session:
// pause/resume/stop between steps, the page's callbacks made safe to call, and a RunStore that
// hands checkpoints to the page.
import type { TrainCallbacks } from './contract.ts';
import type { FileMap, RunStore } from '../train/runStore.ts';

/** Pause, resume and stop, checked by the trainer before every step. */
export class TrainControl {
  private paused = false;
  private stopRequested = false;
  private wake: (() => void) | null = null;

  /** A new run starts unpaused and not stopped. */
  reset(): void {
    this.paused = false;
    this.stopRequested = false;
    this.wake = null;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
  }

  /** Ends the run after the current step; its adapter (and a checkpoint) are kept. */
  stop(): void {
    this.stopRequested = true;
    this.wake?.();
  }

  get isPaused(): boolean {
    return this.paused && !this.stopRequested;
  }

  /** Waits while paused; says whether to run the next step. */
  async gate(): Promise<'continue' | 'stop'> {
    while (this.paused && !this.stopRequested) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = null;
    return this.stopRequested ? 'stop' : 'continue';
  }
}

/**
 * The page's callbacks made safe to call from the training loop: in the studio they are one
 * Comlink.proxy object, so each call returns a promise (a page-side failure must not become an
 * unhandled rejection in the worker). Only onCheckpoint is awaited: a checkpoint the page could
 * not store (storage full) ends the run with that error.
 */
export function pageCallbacks(c: TrainCallbacks): Required<TrainCallbacks> {
  const fire = <A extends unknown[]>(f: ((...args: A) => unknown) | undefined) => (...args: A): void => {
    try {
      void Promise.resolve(f?.(...args)).catch(() => {});
    } catch {
      // a page callback that throws synchronously (Node tests) does not stop training
    }
  };
  return {
    onProgress: fire(c.onProgress),
    onLog: fire(c.onLog),
    onCheckpoint: (step, files) => c.onCheckpoint(step, files),
    onSample: fire(c.onSample),
    onWarning: fire(c.onWarning),
  };
}

/** Copies each file into its own ArrayBuffer (transferable, no views into shared memory). */
export function toArrayBuffers(files: FileMap): Record<string, ArrayBuffer> {
  const out: Record<string, ArrayBuffer> = {};
  for (const [name, bytes] of Object.entries(files)) out[name] = bytes.slice().buffer as ArrayBuffer;
  return out;
}

/** Checkpoints go to the page (which keeps them in IndexedDB); the final adapter is kept for the summary. */
export class CallbackRunStore implements RunStore {
  final: FileMap | null = null;

  constructor(private readonly onCheckpoint: (step: number, files: Record<string, ArrayBuffer>) => void | Promise<void>) {}

  async saveCheckpoint(step: number, files: FileMap): Promise<void> {
    await this.onCheckpoint(step, toArrayBuffers(files));
  }

  async saveFinal(files: FileMap): Promise<void> {
    this.final = files;
  }

  async appendMetrics(): Promise<void> {
    // The page gets every log entry through onLog and stores the metrics itself.
  }
}
