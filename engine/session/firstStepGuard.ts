// Watches the first training step (where activations are allocated) for allocation failures: an
// out-of-memory error scope, with a validation scope under it to catch the follow-on errors of
// using a buffer that failed to allocate. Without it a failed allocation shows up much later as a
// confusing validation error, or not at all.
import { GpuValidationError } from '../gpu/errors.ts';
import type { Recipe } from '../recipe/schema.ts';
import { trainingOutOfMemory, type MemoryEstimate } from './memory.ts';

export class FirstStepGuard {
  private open = false;
  private verdict: Promise<(GPUError | null)[]> | null = null;

  constructor(
    private readonly device: GPUDevice,
    private readonly estimate: MemoryEstimate,
    private readonly recipe: Recipe,
  ) {}

  /** Opens the scopes (once: only the first step is watched). */
  begin(): void {
    if (this.open || this.verdict) return;
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    this.open = true;
  }

  end(): void {
    if (!this.open) return;
    this.open = false;
    const oom = this.device.popErrorScope();
    const validation = this.device.popErrorScope();
    this.verdict = Promise.all([oom, validation]).catch(() => [null, null]); // a lost device rejects pops
  }

  /** Throws the GpuOutOfMemory (or GpuValidationError) the first step caused, if any. */
  async check(): Promise<void> {
    this.end();
    if (!this.verdict) return;
    const [oom, validation] = await this.verdict;
    this.verdict = Promise.resolve([null, null]);
    if (oom) throw trainingOutOfMemory(this.estimate, this.recipe, oom.message);
    if (validation) throw new GpuValidationError('the first training step', validation.message);
  }
}
