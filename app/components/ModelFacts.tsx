// What the loaded model is: size, depth, vocabulary, and the weights it keeps on the GPU.
import type { ModelInfo } from '../../engine/api/contract.ts';
import { formatBytes } from '../format.ts';

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

export function ModelFacts({ info }: { info: ModelInfo }) {
  return (
    <dl className="facts" aria-label="Model facts">
      <div>
        <dt>Model</dt>
        <dd data-testid="model-name">{info.name}</dd>
      </div>
      <div>
        <dt>Parameters</dt>
        <dd data-testid="model-parameters">{formatCount(info.parameters)}</dd>
      </div>
      <div>
        <dt>Layers</dt>
        <dd data-testid="model-layers">{info.layers}</dd>
      </div>
      <div>
        <dt>Vocabulary</dt>
        <dd data-testid="model-vocab">{info.vocabSize.toLocaleString('en-US')}</dd>
      </div>
      <div>
        <dt>Hidden / heads</dt>
        <dd>
          {info.hiddenSize} / {info.heads} ({info.kvHeads} KV)
        </dd>
      </div>
      <div>
        <dt>Weights</dt>
        <dd>
          {info.weightDtype}, {formatBytes(info.weightBytes)}
        </dd>
      </div>
    </dl>
  );
}
