// What every benchmark section gets: the device, our context, the command-line options, a logger.
import type { GpuContext } from '../../engine/gpu/context.ts';
import type { AcquiredDevice } from '../../engine/gpu/device.ts';

export interface BenchOptions {
  /** Smaller shapes and fewer repeats (CI smoke run). */
  quick: boolean;
  /** Token rows M for the matmul shapes; default 512 on a GPU, small on a CPU adapter. */
  m?: number;
  /** Timed repeats per measurement (median reported). */
  repeats?: number;
  /** Also time packed f16 weights (default: on a GPU, off on a CPU adapter); --no-f16: f32 bench models. */
  f16?: boolean;
  /** torch_peft.py's JSON output, for the scaling section's vs_torch ratios. */
  compare?: string;
}

export interface BenchEnv {
  acquired: AcquiredDevice;
  ctx: GpuContext;
  options: BenchOptions;
  /** Progress for humans (stderr, so stdout stays parseable). */
  log(line: string): void;
}

/** A section returns plain JSON-able results; index.ts puts them under its name. */
export type BenchSection = (env: BenchEnv) => Promise<Record<string, unknown>>;
