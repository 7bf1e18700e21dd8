// Where a run's outputs go: a folder in Node (runStoreNode.ts), IndexedDB in the studio. Each
// checkpoint is written whole or not at all (temp name, then rename / one transaction).
import type { FileMap } from '../io/fileSet.ts';

export type { FileMap };

export interface RunStore {
  /** Writes checkpoint-<step>/ with these files, atomically. */
  saveCheckpoint(step: number, files: FileMap): Promise<void>;
  /** The final adapter (adapter_config.json + adapter_model.safetensors) at the top of the run. */
  saveFinal(files: FileMap): Promise<void>;
  /** One metrics row (metrics.jsonl). */
  appendMetrics(row: Record<string, number | string>): Promise<void>;
}

export const TRAINER_STATE = 'trainer_state.json';
export const OPTIMIZER_STATE = 'optimizer.safetensors';
export const SCHEDULER_STATE = 'scheduler.json';
export const RNG_STATE = 'rng_state.json';

export const textFile = (s: string): Uint8Array => new TextEncoder().encode(s);
export const readTextFile = (b: Uint8Array): string => new TextDecoder().decode(b);
