// Buffer allocation, a reuse pool, uploads and readbacks.
//
// Storage buffers are rounded up to 4 bytes (WebGPU copies need it) and to a size class in the
// pool (BufferPool.bucket) so activations of slightly different sequence lengths reuse the same memory.
import { GpuOutOfMemory } from './errors.ts';
import { MapMode, Usage } from './usage.ts';

export const STORAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;

export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

export function checkBufferSize(device: GPUDevice, what: string, bytes: number): void {
  if (bytes > device.limits.maxBufferSize) throw GpuOutOfMemory.allocating(what, bytes, device.limits.maxBufferSize);
}

/** Creates a buffer; throws GpuOutOfMemory up front when it cannot fit one buffer. */
export function createBuffer(device: GPUDevice, bytes: number, usage: number = STORAGE, label?: string): GPUBuffer {
  const size = Math.max(4, align(bytes, 4));
  checkBufferSize(device, label ?? 'a buffer', size);
  return device.createBuffer({ size, usage, label });
}

type TypedArray = Float32Array | Uint32Array | Int32Array | Uint16Array | Uint8Array;

/** A new STORAGE buffer holding `data` (written while mapped at creation: no staging copy). */
export function upload(device: GPUDevice, data: TypedArray, usage: number = STORAGE, label?: string): GPUBuffer {
  const size = Math.max(4, align(data.byteLength, 4));
  checkBufferSize(device, label ?? 'an upload', size);
  const buffer = device.createBuffer({ size, usage, mappedAtCreation: true, label });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buffer.unmap();
  return buffer;
}

/** Copies `byteLength` bytes of `src` (after everything already submitted) back to the CPU. */
export async function readBytes(device: GPUDevice, src: GPUBuffer, byteOffset = 0, byteLength = src.size - byteOffset): Promise<ArrayBuffer> {
  const size = align(byteLength, 4);
  const staging = device.createBuffer({ size, usage: Usage.MAP_READ | Usage.COPY_DST, label: 'readback' });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(src, byteOffset, staging, 0, size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(MapMode.READ);
  const out = staging.getMappedRange().slice(0, byteLength);
  staging.unmap();
  staging.destroy();
  return out;
}

export async function readF32(device: GPUDevice, src: GPUBuffer, count?: number, offsetElements = 0): Promise<Float32Array> {
  const n = count ?? src.size / 4 - offsetElements;
  return new Float32Array(await readBytes(device, src, offsetElements * 4, n * 4));
}

/**
 * Reuses freed buffers of the same usage and power-of-two size bucket. `release` returns a buffer
 * for reuse by a later `acquire`; callers must only release buffers no pending work still needs
 * to read after the next writer runs (queue order makes same-queue reuse safe).
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private liveBytes = 0;
  private peak = 0;

  constructor(private readonly device: GPUDevice) {}

  /**
   * Size class of a request: the next power of two up to 64 KiB, then the next multiple of an
   * eighth of a power of two (at most 12.5% over; the peak-vs-planned bytes goal is 1.1).
   */
  static bucket(bytes: number): number {
    const b = Math.max(256, align(bytes, 4));
    const pow = 2 ** Math.ceil(Math.log2(b));
    if (pow <= 64 * 1024) return pow;
    const step = pow / 16;
    return Math.ceil(b / step) * step;
  }

  acquire(bytes: number, usage: number = STORAGE, label?: string): GPUBuffer {
    const size = BufferPool.bucket(bytes);
    const key = `${usage}:${size}`;
    const reuse = this.free.get(key)?.pop();
    if (reuse) return reuse;
    // A bucket larger than the device allows falls back to the exact size.
    const buffer = createBuffer(this.device, size <= this.device.limits.maxBufferSize ? size : bytes, usage, label);
    this.liveBytes += buffer.size;
    this.peak = Math.max(this.peak, this.liveBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const key = `${buffer.usage}:${BufferPool.bucket(buffer.size)}`;
    const list = this.free.get(key) ?? [];
    list.push(buffer);
    this.free.set(key, list);
  }

  /** Destroys every pooled (free) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) {
      this.liveBytes -= b.size;
      b.destroy();
    }
    this.free.clear();
  }

  get stats(): { liveBytes: number; peakBytes: number } {
    return { liveBytes: this.liveBytes, peakBytes: this.peak };
  }
}
