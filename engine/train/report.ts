// Everything a training step needs to know on the CPU, gathered into one buffer by GPU copies and
// read back once at the end of the step (one readback per optimizer step).
import type { GpuContext } from '../gpu/context.ts';

export class StepReport {
  private readonly entries: { src: GPUBuffer; srcOffset: number; floats: number; at: number }[] = [];
  private floats = 0;

  constructor(private readonly ctx: GpuContext) {}

  /**
   * Schedules a copy of `floats` values of src (from float offset srcOffset); returns where they
   * land. The report takes ownership of src (a pooled buffer) and releases it in record().
   */
  add(src: GPUBuffer, floats: number, srcOffset = 0): number {
    const at = this.floats;
    this.entries.push({ src, srcOffset, floats, at });
    this.floats += floats;
    return at;
  }

  get size(): number {
    return this.floats;
  }

  /**
   * Records the copies into `dst` (which must hold `size` floats) now, in order with the dispatches
   * already recorded, so later kernels can read dst too.
   */
  record(dst: GPUBuffer): void {
    for (const e of this.entries) this.ctx.copy(e.src, e.srcOffset * 4, dst, e.at * 4, e.floats * 4);
    // The sources are pooled temporaries the report owns: they go back to the pool only now, after
    // their copy is recorded, so no later micro-batch can overwrite them first.
    for (const src of new Set(this.entries.map((e) => e.src))) this.ctx.pool.release(src);
  }
}
