// The GPU's typed errors (WhetstoneError subclasses, engine/errors.ts): no WebGPU, out of memory,
// a lost device, a command the GPU rejected.
import { formatBytes, WhetstoneError } from '../errors.ts';

export class WebGpuUnavailable extends WhetstoneError {
  constructor(detail: string, hint: string) {
    super(`WebGPU is not available: ${detail}`, hint);
  }
}

/** Sizes a GpuOutOfMemory carries, in bytes; with the memory estimate's breakdown when it came from one. */
export interface MemorySizes {
  requestedBytes: number;
  limitBytes: number;
  weightsBytes?: number;
  loraBytes?: number;
  activationBytes?: number;
}

export class GpuOutOfMemory extends WhetstoneError {
  readonly requestedBytes: number;
  readonly limitBytes: number;
  readonly weightsBytes?: number;
  readonly loraBytes?: number;
  readonly activationBytes?: number;
  constructor(message: string, hint: string, sizes: MemorySizes) {
    super(message, hint);
    this.requestedBytes = sizes.requestedBytes;
    this.limitBytes = sizes.limitBytes;
    if (sizes.weightsBytes !== undefined) this.weightsBytes = sizes.weightsBytes;
    if (sizes.loraBytes !== undefined) this.loraBytes = sizes.loraBytes;
    if (sizes.activationBytes !== undefined) this.activationBytes = sizes.activationBytes;
  }

  /** One allocation larger than the device allows. */
  static allocating(what: string, requestedBytes: number, limitBytes: number): GpuOutOfMemory {
    return new GpuOutOfMemory(
      `GPU out of memory allocating ${what}: asked for ${formatBytes(requestedBytes)}, the device allows ${formatBytes(limitBytes)}`,
      'Lower per_device_train_batch_size or max_length, use a smaller lora_r, or pick a smaller model.',
      { requestedBytes, limitBytes },
    );
  }
}

export class GpuDeviceLost extends WhetstoneError {
  readonly reason: string;
  /** Set when the device was lost during training and a checkpoint had been saved: its step. */
  readonly lastCheckpointStep?: number;
  /** training: the device went during a training run (lastCheckpointStep null: no checkpoint yet). */
  constructor(reason: string, detail: string, training?: { lastCheckpointStep: number | null }) {
    if (!training) {
      super(
        `The GPU device was lost (${reason}${detail ? `: ${detail}` : ''})`,
        'The driver reset or the GPU was reclaimed. Work is kept; acquire the device again and resume from the last checkpoint.',
      );
    } else {
      const step = training.lastCheckpointStep;
      const where = step === null ? 'No checkpoint was saved yet: start the run again.' : `Resume from the checkpoint of step ${step}.`;
      super(`The GPU device was lost during training (${reason}).`, `The driver reset or the GPU was reclaimed. ${where}`);
      if (step !== null) this.lastCheckpointStep = step;
    }
    this.reason = reason;
  }
}

export class GpuValidationError extends WhetstoneError {
  constructor(what: string, message: string) {
    super(`GPU rejected ${what}: ${message}`, 'This is a bug in Whetstone; please report it with the message above.');
  }
}
