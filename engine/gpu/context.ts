// GpuContext: the one object every op launcher takes. It records dispatches into one compute pass
// of a command encoder (until a copy or clear interrupts it) and submits in chunks, so the GPU
// starts on a step while the rest is still being recorded; a training step still reads back once.
//
// Dispatches are cheap to repeat (DESIGN.md example 15, ONNX Runtime / llama.cpp WebGPU):
//   - uniform parameters live in persistent slots keyed by their bytes: the same Params (same
//     shape) reuse the same slot step after step, written once;
//   - bind groups are cached by (pipeline, uniform slot, bound buffers and ranges), so a step that
//     repeats the previous one's shapes creates none.
// Both caches are dropped (at a submit) once they grow past a bound, e.g. when per-step values
// such as learning rates or dropout seeds keep adding new uniform contents.
import type { GpuCaps } from './device.ts';
import { BufferPool, readBytes, upload } from './buffers.ts';
import { GpuValidationError } from './errors.ts';
import { paramsMismatch, structFields, type Params } from './params.ts';
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

const UNIFORM_BLOCK = 64 * 1024;
/** Uniform slots and bind groups kept before the caches are dropped at the next submit. */
const MAX_UNIFORM_SLOTS = 8192;
const MAX_BIND_GROUPS = 16384;
/** Dispatches recorded before the context submits on its own (0 = only on flush/read). */
const DEFAULT_SUBMIT_EVERY = 32;

interface UniformSlot {
  id: number;
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

export interface GpuContextOptions {
  /** Submit after this many dispatches (default 32; 0 submits only on flush/read). */
  submitEvery?: number;
}

export class GpuContext {
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  /** Counters for the benchmark: command buffers submitted, buffers read back, dispatches, bind groups created. */
  readonly counters = { submits: 0, readbacks: 0, dispatches: 0, bindGroups: 0 };
  /** Opt-in per-dispatch GPU timing (profiler.ts): each dispatch gets its own timed pass. Null: no cost. */
  profiler: DispatchProfiler | null = null;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly doomed: GPUBuffer[] = [];
  private readonly uniformAlign: number;
  private readonly submitEvery: number;
  private sinceSubmit = 0;

  private uniformBlocks: GPUBuffer[] = [];
  private uniformUsed = UNIFORM_BLOCK; // bytes used of the last block (full: allocate a new one)
  private uniformSlots = new Map<string, UniformSlot>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private resetPending = false;
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private readonly checkedParams = new Set<string>();

  constructor(
    readonly device: GPUDevice,
    readonly caps: GpuCaps,
    options: GpuContextOptions = {},
  ) {
    this.pipelines = new PipelineCache(device);
    this.pool = new BufferPool(device);
    this.uniformAlign = device.limits.minUniformBufferOffsetAlignment;
    this.submitEvery = options.submitEvery ?? DEFAULT_SUBMIT_EVERY;
  }

  /**
   * Records one dispatch. `params` (if any) is bound at @binding(0); `buffers[i]` at @binding(i + 1).
   * A `null` entry leaves that binding out (for entry points that do not use it).
   */
  dispatch(spec: PipelineSpec, buffers: (Binding | null)[], params: Params | null, workgroups: [number, number?, number?]): void {
    const [x, y = 1, z = 1] = workgroups;
    const max = this.caps.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new GpuValidationError(`${spec.source.name}:${spec.entryPoint}`, `dispatch (${x}, ${y}, ${z}) exceeds ${max} workgroups per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const { pipeline, key: pipelineKey } = this.pipelines.entry(spec);
    if (params && !this.checkedParams.has(pipelineKey)) this.checkParams(spec, params, pipelineKey);
    const uniform = params ? this.uniform(params) : null;
    let key = `${pipelineKey}#${uniform ? uniform.id : 0}`;
    for (const b of buffers) key += b ? ('buffer' in b ? `|${this.id(b.buffer)}@${b.offset}+${b.size}` : `|${this.id(b)}`) : '|-';
    let bindGroup = this.bindGroups.get(key);
    if (!bindGroup) {
      const entries: GPUBindGroupEntry[] = [];
      if (uniform) entries.push({ binding: 0, resource: { buffer: uniform.buffer, offset: uniform.offset, size: uniform.size } });
      buffers.forEach((b, i) => {
        if (!b) return;
        entries.push({ binding: i + 1, resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } });
      });
      bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      this.bindGroups.set(key, bindGroup);
      this.counters.bindGroups++;
      if (this.bindGroups.size > MAX_BIND_GROUPS) this.resetPending = true;
    }
    const pass = this.computePass(spec, x, y, z);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.counters.dispatches++;
    if (this.submitEvery > 0 && ++this.sinceSubmit >= this.submitEvery) this.submit();
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
   * Uploads `data` into a new buffer for commands recorded from now on, and destroys it at the
   * next flush (the GPU finishes submitted work before a destroyed buffer goes away).
   */
  uploadTemporary(data: Float32Array | Uint32Array | Int32Array): GPUBuffer {
    const buffer = upload(this.device, data, undefined, 'temporary upload');
    this.doomed.push(buffer);
    return buffer;
  }

  /**
   * Writes `data` into `buffer` after everything recorded so far (submits it first: a queue write
   * would otherwise land before recorded commands that still read the old contents).
   */
  write(buffer: GPUBuffer, data: Float32Array | Uint32Array | Int32Array, byteOffset = 0): void {
    this.submit();
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submits everything recorded so far and frees temporary uploads. */
  flush(): void {
    this.submit();
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

  /** Submits the recorded commands (no-op when there are none); keeps temporary uploads alive. */
  private submit(): void {
    this.sinceSubmit = 0;
    if (!this.encoder) return;
    this.endPass();
    this.profiler?.beforeSubmit(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.profiler?.afterSubmit();
    this.encoder = null;
    this.counters.submits++;
    if (this.resetPending) this.resetCaches();
  }

  /** Drops both caches; the old uniform buffers go once the submitted work using them is done. */
  private resetCaches(): void {
    for (const b of this.uniformBlocks) b.destroy();
    this.uniformBlocks = [];
    this.uniformUsed = UNIFORM_BLOCK;
    this.uniformSlots = new Map();
    this.bindGroups = new Map();
    this.resetPending = false;
  }

  private id(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextId++;
      this.bufferIds.set(buffer, id);
    }
    return id;
  }

  /** A persistent uniform slot holding `params`' bytes (written once, when first seen). */
  private uniform(params: Params): UniformSlot {
    const content = params.key;
    let slot = this.uniformSlots.get(content);
    if (slot) return slot;
    const size = params.byteLength;
    if (this.uniformUsed + size > UNIFORM_BLOCK) {
      this.uniformBlocks.push(this.device.createBuffer({ size: UNIFORM_BLOCK, usage: Usage.UNIFORM | Usage.COPY_DST, label: 'uniform slots' }));
      this.uniformUsed = 0;
    }
    const buffer = this.uniformBlocks[this.uniformBlocks.length - 1];
    const bytes = new ArrayBuffer(size);
    params.writeTo(new DataView(bytes), 0);
    // Lands before any later submit, so before every command that binds this slot.
    this.device.queue.writeBuffer(buffer, this.uniformUsed, bytes);
    slot = { id: this.nextId++, buffer, offset: this.uniformUsed, size };
    this.uniformUsed = Math.ceil((this.uniformUsed + size) / this.uniformAlign) * this.uniformAlign;
    this.uniformSlots.set(content, slot);
    if (this.uniformSlots.size > MAX_UNIFORM_SLOTS) this.resetPending = true;
    return slot;
  }

  /** The first time a pipeline is used: its Params must match the WGSL struct field for field. */
  private checkParams(spec: PipelineSpec, params: Params, pipelineKey: string): void {
    const fields = structFields((spec.preamble ?? '') + '\n' + spec.source.code);
    if (fields) {
      const mismatch = paramsMismatch(params, fields);
      if (mismatch) throw new GpuValidationError(`${spec.source.name}:${spec.entryPoint}`, mismatch);
    }
    this.checkedParams.add(pipelineKey);
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
