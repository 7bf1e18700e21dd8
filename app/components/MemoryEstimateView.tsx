// The GPU memory the recipe needs (weights, LoRA state, activations) against what this device
// allows, before training starts; with the engine's advice when it does not fit, and the same
// recipe with a 16-bit and with a 4-bit (QLoRA) base side by side.
import { useEffect } from 'react';
import type { MemoryEstimate } from '../../engine/api/contract.ts';
import { formatBytes } from '../format.ts';
import { useStudio } from '../store/index.ts';
import { Problem } from './Problem.tsx';

/** "16-bit base: 1.2 GiB (fits)": the whole run's estimate with that base. */
function baseLine(label: string, b: MemoryEstimate['bases']['fourBit']): string {
  return `${label}: ${formatBytes(b.totalBytes)} (${b.fits ? 'fits' : 'too big'})`;
}

export function MemoryEstimateView() {
  const modelStatus = useStudio((s) => s.model.status);
  const recipe = useStudio((s) => s.recipe);
  const memory = useStudio((s) => s.memory);
  const refresh = useStudio((s) => s.refreshEstimate);

  useEffect(() => {
    if (modelStatus !== 'ready') return;
    const timer = setTimeout(() => void refresh(), 250);
    return () => clearTimeout(timer);
  }, [recipe, modelStatus, refresh]);

  if (modelStatus !== 'ready') return null;
  if (memory.error) return <Problem error={memory.error} />;
  const e = memory.estimate;
  if (!e) return <p className="muted">Estimating GPU memory…</p>;
  const share = Math.min(1, e.totalBytes / Math.max(1, e.limitBytes));
  return (
    <div className="memory" aria-label="GPU memory" data-testid="memory-estimate">
      <p>
        This recipe needs about <strong>{formatBytes(e.totalBytes)}</strong> of GPU memory; this device allows{' '}
        <strong>{formatBytes(e.limitBytes)}</strong>.
      </p>
      <div className={`memory-bar ${e.fits ? 'fits' : 'too-big'}`} aria-hidden="true">
        <span style={{ width: `${(share * 100).toFixed(1)}%` }} />
      </div>
      <p className="muted">
        weights {formatBytes(e.weightsBytes)} · LoRA + optimizer {formatBytes(e.loraBytes)} · activations {formatBytes(e.activationBytes)}
      </p>
      <p className="muted" data-testid="memory-bases">
        {e.bases.sixteenBit
          ? `${baseLine('16-bit base', e.bases.sixteenBit)} · ${baseLine('4-bit base (QLoRA)', e.bases.fourBit)}`
          : 'This checkpoint is saved in 4-bit (bitsandbytes NF4): it trains as QLoRA.'}
      </p>
      {!e.fits && (
        <p className="problem" role="alert">
          <span>
            <strong>Does not fit on this GPU.</strong> {e.advice ?? 'Lower the batch size, the max length or the LoRA r.'}
          </span>
        </p>
      )}
    </div>
  );
}
