// Any failure as the { name, message, hint } the panels show: engine errors (EngineError),
// storage errors (StorageError) and anything unexpected.
import type { ApiError } from '../../engine/api/types.ts';
import { EngineError } from '../engineClient.ts';
import { StorageError } from '../persistence/index.ts';

export function asProblem(e: unknown): ApiError {
  if (e instanceof EngineError) return { name: e.name, message: e.message, hint: e.hint, ...(e.details ? { details: e.details } : {}) };
  if (e instanceof StorageError) return { name: e.name, message: e.message, hint: e.hint };
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name || 'Error', message: err.message, hint: 'This is unexpected; reload the page and try again.' };
}

/** What to change when the GPU ran out of memory or was lost, in the studio's words. */
export function explainProblem(p: ApiError): string | null {
  if (p.name === 'GpuOutOfMemory') {
    return 'The GPU ran out of memory for this recipe. Lower the batch size (use gradient accumulation to keep the effective batch), lower the max length, or use a smaller LoRA r or fewer target modules.';
  }
  if (p.name === 'GpuDeviceLost') {
    return 'The GPU device was lost (a driver reset, or the browser reclaimed the GPU). The studio gets a new device and resumes from the last checkpoint; if it keeps happening, lower the batch size or max length.';
  }
  if (p.name === 'StorageFull') return 'Browser storage is full: delete old runs in the Runs panel to make room for checkpoints.';
  return null;
}
