// Opt-in GPU timing of every dispatch: GpuContext consults `ctx.profiler` when it opens a compute
// pass; while one is attached, each dispatch gets its own pass with `timestampWrites` (begin/end),
// and each submit resolves the queries it wrote into a buffer read back asynchronously. With no
// profiler attached the context does exactly what it did before (one null check per dispatch).
//
//   const profiler = new GpuProfiler(ctx.device);
//   ctx.profiler = profiler; ...record and flush a step...; ctx.profiler = null;
//   const run = await profiler.collect();          // per-dispatch GPU ms, CPU encode ms per submit
//   summarizeProfile(run)                           // grouped by kernel: count, total ms, share
//
// Timestamps: Dawn quantizes them to 65,536 ns unless its `timestamp_quantization` toggle is off
// (Node: dawnToggles.ts turns it off; Chrome only with --enable-dawn-features=
// disable_timestamp_quantization or WebGPU developer features). `collect` detects quantized values
// (all multiples of 65,536) and says so; per-kernel times are then meaningless for short kernels.
import type { PipelineSpec } from './pipelines.ts';
import { MapMode, Usage } from './usage.ts';

/** What GpuContext calls; GpuProfiler implements it. */
export interface DispatchProfiler {
  /** Descriptor for the pass of one dispatch of `spec` (its own timestampWrites). */
  beginPass(spec: PipelineSpec, workgroups: [number, number, number]): GPUComputePassDescriptor;
  /** Before `encoder.finish()` of a submit: resolve the queries this command buffer wrote. */
  beforeSubmit(encoder: GPUCommandEncoder): void;
  /** Right after `queue.submit`: start reading the resolved timestamps back. */
  afterSubmit(): void;
}

export interface DispatchTiming {
  kernel: string;
  workgroups: [number, number, number];
  /** GPU nanoseconds, from the pass's begin and end timestamps (0 when the GPU wrote begin > end). */
  beginNs: number;
  endNs: number;
}

export interface ProfileRun {
  dispatches: DispatchTiming[];
  /** Per submit: CPU ms from its first recorded dispatch to the submit call (encode time). */
  submitEncodeMs: number[];
  /** All timestamps were multiples of 65,536 ns: Dawn's timestamp quantization is on. */
  quantized: boolean;
}

export const QUANTUM_NS = 65536;
const SLOWEST = 8;
// WebGPU caps a query set at 4096 queries: 2048 dispatches per set, more sets as needed.
const SET_QUERIES = 4096;

interface QuerySetSlot {
  set: GPUQuerySet;
  used: number; // queries written so far
  resolved: number; // queries already resolved into a readback
}

interface Pending {
  promise: Promise<bigint[]>;
  /** Index into `labels` of this readback's first dispatch. */
  first: number;
}

/** The label a dispatch is grouped under: "source:entry", plus its transposes for matmuls. */
export function kernelLabel(spec: PipelineSpec): string {
  const flags = Object.entries(spec.constants ?? {})
    .filter(([k, v]) => k.startsWith('TRANS_') && v)
    .map(([k]) => k.slice(6).toLowerCase());
  const base = `${spec.source.name}:${spec.entryPoint}`;
  return flags.length ? `${base} (trans ${flags.join(',')})` : base;
}

export class GpuProfiler implements DispatchProfiler {
  private readonly sets: QuerySetSlot[] = [];
  private readonly labels: { kernel: string; workgroups: [number, number, number] }[] = [];
  private readonly pending: Pending[] = [];
  private readonly encodeMs: number[] = [];
  private firstDispatchAt: number | null = null;
  private resolvedLabels = 0;
  /** Resolved in the command buffer about to be submitted; read back after the submit. */
  private staged: { resolve: GPUBuffer; staging: GPUBuffer; first: number } | null = null;

  constructor(private readonly device: GPUDevice) {
    if (!device.features.has('timestamp-query')) throw new Error('GpuProfiler needs the timestamp-query feature');
  }

  beginPass(spec: PipelineSpec, workgroups: [number, number, number]): GPUComputePassDescriptor {
    this.firstDispatchAt ??= performance.now();
    let slot = this.sets[this.sets.length - 1];
    if (!slot || slot.used + 2 > SET_QUERIES) {
      slot = { set: this.device.createQuerySet({ type: 'timestamp', count: SET_QUERIES, label: 'profiler' }), used: 0, resolved: 0 };
      this.sets.push(slot);
    }
    const at = slot.used;
    slot.used += 2;
    this.labels.push({ kernel: kernelLabel(spec), workgroups });
    return { timestampWrites: { querySet: slot.set, beginningOfPassWriteIndex: at, endOfPassWriteIndex: at + 1 } };
  }

  beforeSubmit(encoder: GPUCommandEncoder): void {
    const ranges = this.sets.filter((s) => s.used > s.resolved);
    if (!ranges.length) return;
    const count = ranges.reduce((n, s) => n + s.used - s.resolved, 0);
    const resolve = this.device.createBuffer({ size: count * 8, usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC, label: 'profiler resolve' });
    const staging = this.device.createBuffer({ size: count * 8, usage: Usage.MAP_READ | Usage.COPY_DST, label: 'profiler readback' });
    let offset = 0;
    for (const s of ranges) {
      encoder.resolveQuerySet(s.set, s.resolved, s.used - s.resolved, resolve, offset * 8);
      offset += s.used - s.resolved;
      s.resolved = s.used;
    }
    encoder.copyBufferToBuffer(resolve, 0, staging, 0, count * 8);
    this.staged = { resolve, staging, first: this.resolvedLabels };
    this.resolvedLabels += count / 2;
  }

  afterSubmit(): void {
    if (this.firstDispatchAt !== null) this.encodeMs.push(performance.now() - this.firstDispatchAt);
    this.firstDispatchAt = null;
    if (!this.staged) return;
    const { resolve, staging, first } = this.staged;
    this.staged = null;
    const promise = staging.mapAsync(MapMode.READ).then(() => {
      const values = Array.from(new BigUint64Array(staging.getMappedRange()));
      staging.unmap();
      staging.destroy();
      resolve.destroy();
      return values;
    });
    this.pending.push({ first, promise });
  }

  /**
   * Waits for every submitted readback and returns the dispatches timed since the last collect.
   * Dispatches recorded but not yet submitted are dropped (flush the context before collecting).
   */
  async collect(): Promise<ProfileRun> {
    const dispatches: DispatchTiming[] = [];
    const raw: bigint[] = [];
    for (const p of this.pending.splice(0)) {
      const values = await p.promise;
      for (let i = 0; i + 1 < values.length; i += 2) {
        raw.push(values[i], values[i + 1]);
        const begin = Number(values[i]);
        const end = Number(values[i + 1]);
        dispatches.push({ ...this.labels[p.first + i / 2], beginNs: begin, endNs: Math.max(begin, end) });
      }
    }
    const nonzero = raw.filter((t) => t !== 0n);
    const quantized = nonzero.length >= 4 && nonzero.every((t) => t % BigInt(QUANTUM_NS) === 0n);
    const submitEncodeMs = this.encodeMs.splice(0);
    this.reset();
    return { dispatches, submitEncodeMs, quantized };
  }

  private reset(): void {
    for (const s of this.sets) s.set.destroy();
    this.sets.length = 0;
    this.labels.length = 0;
    this.resolvedLabels = 0;
    this.firstDispatchAt = null;
  }

  destroy(): void {
    this.reset();
  }
}

export interface KernelGroup {
  kernel: string;
  count: number;
  total_ms: number;
  /** Of the summed GPU time of all dispatches. */
  share: number;
  mean_us: number;
}

export interface ProfileSummary {
  dispatches: number;
  /** Sum of every dispatch's GPU time. */
  gpu_busy_ms: number;
  /** First begin to last end: busy time plus the gaps where the GPU waited. */
  gpu_span_ms: number;
  /** CPU time spent recording the commands (first dispatch to submit, summed over submits). */
  cpu_encode_ms: number;
  submits: number;
  timestamps: 'unquantized' | 'quantized to 65.5 us steps (Dawn timestamp_quantization is on): short kernels read as 0 or 65.5 us';
  kernels: KernelGroup[];
  /** The longest single dispatches (workgroup counts tell an LM-head matmul from a LoRA one). */
  slowest: { kernel: string; workgroups: [number, number, number]; ms: number }[];
}

/** Groups a run by kernel label, largest total first. */
export function summarizeProfile(run: ProfileRun): ProfileSummary {
  const groups = new Map<string, { count: number; ns: number }>();
  let busy = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const d of run.dispatches) {
    const ns = d.endNs - d.beginNs;
    busy += ns;
    first = Math.min(first, d.beginNs);
    last = Math.max(last, d.endNs);
    const g = groups.get(d.kernel) ?? { count: 0, ns: 0 };
    g.count++;
    g.ns += ns;
    groups.set(d.kernel, g);
  }
  const kernels = [...groups.entries()]
    .map(([kernel, g]) => ({
      kernel,
      count: g.count,
      total_ms: round(g.ns / 1e6, 4),
      share: busy > 0 ? round(g.ns / busy, 4) : 0,
      mean_us: round(g.ns / g.count / 1e3, 2),
    }))
    .sort((a, b) => b.total_ms - a.total_ms || a.kernel.localeCompare(b.kernel));
  return {
    dispatches: run.dispatches.length,
    gpu_busy_ms: round(busy / 1e6, 3),
    gpu_span_ms: run.dispatches.length ? round((last - first) / 1e6, 3) : 0,
    cpu_encode_ms: round(run.submitEncodeMs.reduce((s, x) => s + x, 0), 3),
    submits: run.submitEncodeMs.length,
    timestamps: run.quantized ? 'quantized to 65.5 us steps (Dawn timestamp_quantization is on): short kernels read as 0 or 65.5 us' : 'unquantized',
    kernels,
    slowest: [...run.dispatches]
      .sort((a, b) => b.endNs - b.beginNs - (a.endNs - a.beginNs))
      .slice(0, SLOWEST)
      .map((d) => ({ kernel: d.kernel, workgroups: d.workgroups, ms: round((d.endNs - d.beginNs) / 1e6, 4) })),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
