// GpuContext: the one object every op launcher takes. It records dispatches into a single
// command encoder (one compute pass until a copy needs to interrupt it), packs every dispatch's
// uniform parameters into a shared arena, and submits only on `flush()` or a readback — so a whole
// training step is a handful of command buffers and one readback.
import type { GpuCaps } from './device.ts';
import { BufferPool, readBytes, upload } from './buffers.ts';
import { GpuValidationError } from './errors.ts';
import { Params } from './params.ts';
import { PipelineCache, type PipelineSpec } from './pipelines.ts';
import type { DispatchProfiler } from './profiler.ts';
import { Usage } from './usage.ts';

/** A byte range of a buffer, for binding part of a large tensor. */
export interface BufferSlice {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}
export type Binding = GPUBuffer | BufferSlice;

const ARENA_CHUNK = 64 * 1024;

interface ArenaChunk {
  buffer: GPUBuffer;
  bytes: Uint8Array<ArrayBuffer>;
  used: number;
}

export class GpuContext {
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  /** Counters for the benchmark: command buffers submitted and buffers read back. */
  readonly counters = { submits: 0, readbacks: 0, dispatches: 0 };
  /** Opt-in per-dispatch GPU timing (profiler.ts): each dispatch gets its own timed pass. Null: no cost. */
  profiler: DispatchProfiler | null = null;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly chunks: ArenaChunk[] = [];
  private chunkIndex = 0;
  private readonly uniformAlign: number;
  private readonly doomed: GPUBuffer[] = [];

  constructor(
    readonly device: GPUDevice,
    readonly caps: GpuCaps,
  ) {
    this.pipelines = new PipelineCache(device);
    this.pool = new BufferPool(device);
    this.uniformAlign = device.limits.minUniformBufferOffsetAlignment;
  }

  /**
   * Records one dispatch. `params` (if any) is bound at @binding(0); `buffers[i]` at @binding(i + 1).
   * A `null` entry leaves that binding out (for entry points that do not use it).
   */
  dispatch(spec: PipelineSpec, buffers: (Binding | null)[], params: Params | null, workgroups: [number, number?, number?]): void {
    const pipeline = this.pipelines.get(spec);
    const entries: GPUBindGroupEntry[] = [];
    if (params) entries.push({ binding: 0, resource: this.uniform(params) });
    buffers.forEach((b, i) => {
      if (!b) return;
      entries.push({ binding: i + 1, resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } });
    });
    const [x, y = 1, z = 1] = workgroups;
    const max = this.caps.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new GpuValidationError(`${spec.source.name}:${spec.entryPoint}`, `dispatch (${x}, ${y}, ${z}) exceeds ${max} workgroups per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.computePass(spec, x, y, z);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.counters.dispatches++;
  }

  /** Records a buffer-to-buffer copy in order with the dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** Zeroes a buffer (or a range of it) in order with the dispatches. */
  clear(buffer: GPUBuffer, offset = 0, size?: number): void {
    this.endPass();
    this.commandEncoder().clearBuffer(buffer, offset, size);
  }

  /**
   * Uploads `data` into a new buffer for commands recorded from now on, and destroys it once
   * those are submitted (the GPU finishes submitted work before a destroyed buffer goes away).
   */
  uploadTemporary(data: Float32Array | Uint32Array | Int32Array): GPUBuffer {
    const buffer = upload(this.device, data, undefined, 'temporary upload');
    this.doomed.push(buffer);
    return buffer;
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    // Queue order makes reusing the arena safe: these writes land after earlier submits ran.
    for (const c of this.chunks) {
      if (c.used > 0) this.device.queue.writeBuffer(c.buffer, 0, c.bytes, 0, c.used);
      c.used = 0;
    }
    this.chunkIndex = 0;
    this.profiler?.beforeSubmit(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.profiler?.afterSubmit();
    this.encoder = null;
    this.counters.submits++;
    for (const b of this.doomed.splice(0)) b.destroy();
  }

  /** Flushes, then copies a buffer range back to the CPU. */
  async read(buffer: GPUBuffer, byteOffset = 0, byteLength = buffer.size - byteOffset): Promise<ArrayBuffer> {
    this.flush();
    this.counters.readbacks++;
    return readBytes(this.device, buffer, byteOffset, byteLength);
  }

  async readF32(buffer: GPUBuffer, count?: number, offsetElements = 0): Promise<Float32Array> {
    const n = count ?? buffer.size / 4 - offsetElements;
    return new Float32Array(await this.read(buffer, offsetElements * 4, n * 4));
  }

  /** Waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  private uniform(params: Params): GPUBufferBinding {
    const size = params.byteLength;
    let chunk = this.chunks[this.chunkIndex];
    if (chunk && chunk.used + size > ARENA_CHUNK) {
      this.chunkIndex++;
      chunk = this.chunks[this.chunkIndex];
    }
    if (!chunk) {
      chunk = {
        buffer: this.device.createBuffer({ size: ARENA_CHUNK, usage: Usage.UNIFORM | Usage.COPY_DST, label: 'uniform arena' }),
        bytes: new Uint8Array(ARENA_CHUNK),
        used: 0,
      };
      this.chunks[this.chunkIndex] = chunk;
    }
    const offset = chunk.used;
    params.writeTo(new DataView(chunk.bytes.buffer), offset);
    chunk.used = Math.ceil((offset + size) / this.uniformAlign) * this.uniformAlign;
    return { buffer: chunk.buffer, offset, size };
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private computePass(spec: PipelineSpec, x: number, y: number, z: number): GPUComputePassEncoder {
    if (this.profiler) {
      this.endPass();
      this.pass = this.commandEncoder().beginComputePass(this.profiler.beginPass(spec, [x, y, z]));
    }
    this.pass ??= this.commandEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }
}
