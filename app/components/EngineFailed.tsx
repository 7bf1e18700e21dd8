// Shown when WebGPU exists but the engine could not start (worker crash, device refused).
import type { ApiError } from '../../engine/api/types.ts';

export function EngineFailed({ error, onRetry }: { error: ApiError; onRetry: () => void }) {
  return (
    <main className="start-screen" aria-labelledby="engine-failed-title">
      <h1 id="engine-failed-title">The engine could not start</h1>
      <p className="problem-detail" role="alert">
        <strong>{error.message.replace(/\.$/, '')}.</strong> {error.hint}
      </p>
      <button type="button" onClick={onRetry}>
        Try again
      </button>
    </main>
  );
}
