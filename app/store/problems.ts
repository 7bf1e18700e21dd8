// Any failure as the { name, message, hint } the panels show: storage errors (StorageError) as
// they are, everything else through the engine client's one normaliser (toEngineError).
import type { ApiError } from '../../engine/api/types.ts';
import { toEngineError } from '../engineClient.ts';
import { StorageError } from '../persistence/index.ts';

export function asProblem(e: unknown): ApiError {
  if (e instanceof StorageError) return { name: e.name, message: e.message, hint: e.hint };
  const err = toEngineError(e);
  return { name: err.name, message: err.message, hint: err.hint, ...(err.details ? { details: err.details } : {}) };
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
