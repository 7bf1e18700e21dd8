// The serialisable shapes that cross the worker boundary (structured clone through Comlink).
// app/ may import these types (and only types) from the engine: see eslint.config.js.
// Nothing here holds a GPU object, a class instance or a function.

/** What the studio shows about the WebGPU adapter the engine acquired. */
export interface DeviceReport {
  /** Human-readable adapter name, e.g. "SwiftShader Device (Subzero) (google)". */
  adapterName: string;
  vendor: string;
  architecture: string;
  /** `shader-f16`: f16 weights/activations are possible. Without it every tensor is f32. */
  f16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
  /** Largest single GPUBuffer, in bytes. */
  maxBufferSize: number;
  /** Largest storage binding one kernel can see, in bytes (big tensors are bound in chunks). */
  maxStorageBufferBindingSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  /** A software adapter (SwiftShader, lavapipe): correct but far too slow for real training. */
  isCpu: boolean;
}

/**
 * An error as it crosses the worker boundary. Comlink keeps only `message`/`name`/`stack` of a
 * thrown Error (and loses its class), so engine methods throw this plain object instead.
 * `name` is the engine's error class (`WebGpuUnavailable`, `GpuOutOfMemory`, `DatasetError`, ...).
 */
export interface ApiError {
  name: string;
  message: string;
  /** What the user can do about it, in one sentence. */
  hint: string;
  /** Extra machine-readable facts (sizes asked and allowed, file and line, ...). */
  details?: Record<string, string | number | boolean>;
}

/** A progress event from a long engine call, delivered through a `Comlink.proxy` callback. */
export interface ProgressEvent {
  /** What is happening, e.g. "download", "upload", "train". */
  phase: string;
  /** Units done and total (bytes, rows, steps); total is null when unknown. */
  done: number;
  total: number | null;
  /** Metric values at this point (TRL names: loss, grad_norm, learning_rate, ...). */
  metrics?: Record<string, number>;
}

/** The callback shape long engine calls take (wrap it with `Comlink.proxy` in the page). */
export type ProgressCallback = (event: ProgressEvent) => void;

export function isApiError(value: unknown): value is ApiError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && typeof v.message === 'string' && typeof v.hint === 'string';
}
