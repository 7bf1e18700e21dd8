// The GPU's typed errors (WhetstoneError subclasses, engine/errors.ts): no WebGPU, out of memory,
// a lost device, a command the GPU rejected.
import { formatBytes, WhetstoneError } from '../errors.ts';

export class WebGpuUnavailable extends WhetstoneError {
  constructor(detail: string, hint: string) {
    super(`WebGPU is not available: ${detail}`, hint);
  }
}

export class GpuOutOfMemory extends WhetstoneError {
  readonly requestedBytes: number;
  readonly limitBytes: number;
  constructor(what: string, requestedBytes: number, limitBytes: number) {
    super(
      `GPU out of memory allocating ${what}: asked for ${formatBytes(requestedBytes)}, the device allows ${formatBytes(limitBytes)}`,
      'Lower per_device_train_batch_size or max_length, use a smaller lora_r, or pick a smaller model.',
    );
    this.requestedBytes = requestedBytes;
    this.limitBytes = limitBytes;
  }
}

export class GpuDeviceLost extends WhetstoneError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(
      `The GPU device was lost (${reason}${message ? `: ${message}` : ''})`,
      'The driver reset or the GPU was reclaimed. Work is kept; acquire the device again and resume from the last checkpoint.',
    );
    this.reason = reason;
  }
}

export class GpuValidationError extends WhetstoneError {
  constructor(what: string, message: string) {
    super(`GPU rejected ${what}: ${message}`, 'This is a bug in Whetstone; please report it with the message above.');
  }
}
