// The pieces of EngineApi.train that are not the training itself: pause/resume/stop between
// steps, a RunStore that hands checkpoints to the page, the out-of-memory watch on the first step,
// and the errors the studio explains (GpuOutOfMemory, GpuDeviceLost).
import type { ApiError } from './types.ts';
import type { MemoryEstimate, TrainCallbacks } from './contract.ts';
import { formatBytes } from '../errors.ts';
import type { Recipe } from '../train/recipe.ts';
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
  lastCheckpointStep: number | null = null;

  constructor(private readonly onCheckpoint: (step: number, files: Record<string, ArrayBuffer>) => void | Promise<void>) {}

  async saveCheckpoint(step: number, files: FileMap): Promise<void> {
    await this.onCheckpoint(step, toArrayBuffers(files));
    this.lastCheckpointStep = step;
  }

  async saveFinal(files: FileMap): Promise<void> {
    this.final = files;
  }

  async appendMetrics(): Promise<void> {
    // The page gets every log entry through onLog and stores the metrics itself.
  }
}

/**
 * Watches the first training step (where activations are allocated) for allocation failures:
 * an out-of-memory error scope, with a validation scope under it to catch the follow-on errors
 * of using a buffer that failed to allocate.
 */
export class FirstStepGuard {
  private open = false;
  private verdict: Promise<(GPUError | null)[]> | null = null;

  constructor(private readonly device: GPUDevice) {}

  begin(): void {
    if (this.open || this.verdict) return;
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    this.open = true;
  }

  end(): void {
    if (!this.open) return;
    this.open = false;
    const oom = this.device.popErrorScope();
    const validation = this.device.popErrorScope();
    this.verdict = Promise.all([oom, validation]).catch(() => [null, null]); // a lost device rejects pops
  }

  /** Throws the out-of-memory (or validation) error the first step caused, if any. */
  async check(estimate: MemoryEstimate, recipe: Recipe): Promise<void> {
    this.end();
    if (!this.verdict) return;
    const [oom, validation] = await this.verdict;
    this.verdict = Promise.resolve([null, null]);
    if (oom) throw outOfMemory(estimate, recipe, oom.message);
    if (validation) throw { name: 'GpuValidationError', message: `GPU rejected the first training step: ${validation.message}`, hint: 'This is a bug in Whetstone; please report it with the message above.' } satisfies ApiError;
  }
}

/** What to lower when the estimate fit but the GPU still ran out. */
export function genericAdvice(recipe: Recipe): string {
  const tips = [`lower per_device_train_batch_size (now ${recipe.per_device_train_batch_size}) or max_length (now ${recipe.max_length})`];
  if (!recipe.gradient_checkpointing) tips.push('turn on gradient_checkpointing');
  tips.push(`use a smaller lora_r (now ${recipe.lora_r})`);
  const s = tips.join(', ');
  return `${s[0].toUpperCase()}${s.slice(1)}; or close other GPU-heavy tabs and apps.`;
}

/** The GpuOutOfMemory the studio explains: sizes in the message, what to change in the hint. */
export function outOfMemory(estimate: MemoryEstimate, recipe: Recipe, cause: string | null): ApiError {
  const need = `needs about ${formatBytes(estimate.totalBytes)} (weights ${formatBytes(estimate.weightsBytes)}, LoRA + optimizer ${formatBytes(estimate.loraBytes)}, activations ${formatBytes(estimate.activationBytes)})`;
  const message = cause
    ? `GPU out of memory at the first training step (${cause}). This run ${need}.`
    : `GPU out of memory: this run ${need}; about ${formatBytes(estimate.limitBytes)} is available.`;
  return {
    name: 'GpuOutOfMemory',
    message,
    hint: estimate.advice ?? genericAdvice(recipe),
    details: { requestedBytes: estimate.totalBytes, limitBytes: estimate.limitBytes, weightsBytes: estimate.weightsBytes, loraBytes: estimate.loraBytes, activationBytes: estimate.activationBytes },
  };
}

export function deviceLost(reason: string, lastCheckpointStep: number | null): ApiError {
  const where = lastCheckpointStep === null ? 'No checkpoint was saved yet: start the run again.' : `Resume from the checkpoint of step ${lastCheckpointStep}.`;
  const out: ApiError = {
    name: 'GpuDeviceLost',
    message: `The GPU device was lost during training (${reason}).`,
    hint: `The driver reset or the GPU was reclaimed. ${where}`,
  };
  if (lastCheckpointStep !== null) out.details = { lastCheckpointStep };
  return out;
}
