// Shown when WebGPU exists but the engine could not start (worker crash, device refused) or its
// GPU device was lost (driver reset, GPU reclaimed).
import { asSentence } from '../format.ts';
import type { ApiError } from '../../engine/api/types.ts';

export function EngineFailed({ error, onRetry }: { error: ApiError; onRetry: () => void }) {
  return (
    <main className="start-screen" aria-labelledby="engine-failed-title">
      <h1 id="engine-failed-title">{error.name === 'GpuDeviceLost' ? 'The GPU device was lost' : 'The engine could not start'}</h1>
      <p className="problem-detail" role="alert">
        <strong>{asSentence(error.message)}</strong> {error.hint}
      </p>
      <button type="button" onClick={onRetry}>
        Try again
      </button>
    </main>
  );
}
