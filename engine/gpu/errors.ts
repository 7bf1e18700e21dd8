// Typed errors that reach the user. Each says what went wrong and what to do about it;
// the CLI and the studio print `message` (and `hint`) and never a stack trace.

export class WhetstoneError extends Error {
  /** What the user can do about it, in one sentence. */
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
}

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

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}
