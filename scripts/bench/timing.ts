// Timing helpers shared by benchmark sections: GPU time from timestamp queries where the device has
// them, else wall time around queue.onSubmittedWorkDone(); medians over repeats.
import type { Binding, GpuContext } from '../../engine/gpu/context.ts';
import type { Params } from '../../engine/gpu/params.ts';
import type { PipelineSpec } from '../../engine/gpu/pipelines.ts';
import { MapMode, Usage } from '../../engine/gpu/usage.ts';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Milliseconds of GPU time of one compute pass that `record` fills, from timestamp queries. */
export class PassTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly staging: GPUBuffer;

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
    this.resolve = device.createBuffer({ size: 16, usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC });
    this.staging = device.createBuffer({ size: 16, usage: Usage.MAP_READ | Usage.COPY_DST });
  }

  async time(record: (pass: GPUComputePassEncoder) => void): Promise<number> {
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
    record(pass);
    pass.end();
    encoder.resolveQuerySet(this.querySet, 0, 2, this.resolve, 0);
    encoder.copyBufferToBuffer(this.resolve, 0, this.staging, 0, 16);
    this.device.queue.submit([encoder.finish()]);
    await this.staging.mapAsync(MapMode.READ);
    const t = new BigUint64Array(this.staging.getMappedRange().slice(0));
    this.staging.unmap();
    return Number(t[1] - t[0]) / 1e6;
  }
}

/** Records one planned dispatch into `pass` (outside GpuContext, so a timer can wrap it). */
export function recordDispatch(ctx: GpuContext, pass: GPUComputePassEncoder, spec: PipelineSpec, buffers: (Binding | null)[], params: Params, workgroups: [number, number, number]): void {
  const pipeline = ctx.pipelines.get(spec);
  const bytes = new ArrayBuffer(params.byteLength);
  params.writeTo(new DataView(bytes), 0);
  const uniform = ctx.device.createBuffer({ size: bytes.byteLength, usage: Usage.UNIFORM | Usage.COPY_DST });
  ctx.device.queue.writeBuffer(uniform, 0, bytes);
  const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
  buffers.forEach((b, i) => {
    if (b) entries.push({ binding: i + 1, resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } });
  });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, ctx.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
  pass.dispatchWorkgroups(...workgroups);
}

/** Wall milliseconds from submitting the work `run` records until the queue has finished it. */
export async function wallTime(device: GPUDevice, run: () => void, submit: () => void): Promise<number> {
  await device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  run();
  submit();
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}
