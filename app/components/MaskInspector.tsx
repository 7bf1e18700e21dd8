// One example through the chat template, token by token: the tokens the loss is computed on
// are highlighted (for SFT, the assistant's answers; for DPO, the completions).
import type { DatasetReport } from '../../engine/api/contract.ts';

export function MaskInspector({ report }: { report: DatasetReport }) {
  const tokens = report.maskPreview;
  if (!tokens) return <p className="muted">Load a model to see which tokens of an example are trained.</p>;
  const trained = tokens.filter((t) => t.trained).length;
  return (
    <figure className="mask-inspector" aria-label="Mask inspector">
      <figcaption>
        <span className="legend">
          <span className="tok trained">trained</span> loss counts these tokens · <span className="tok">context</span> prompt and template, not
          trained
        </span>
        <span className="muted">
          {trained} of {tokens.length} tokens trained
        </span>
      </figcaption>
      <pre className="mask-text">
        {tokens.map((t, i) => (
          <span key={i} className={t.trained ? 'tok trained' : 'tok'}>
            {t.text}
          </span>
        ))}
      </pre>
      {report.tokenStats && (
        <p className="muted">
          Tokens per row: min {report.tokenStats.min}, mean {report.tokenStats.mean.toFixed(1)}, p95 {report.tokenStats.p95}, max {report.tokenStats.max} ·{' '}
          {report.tokenStats.trainedTokens.toLocaleString('en-US')} trained tokens
          {report.tokenStats.truncated > 0 && ` · ${report.tokenStats.truncated} rows truncated to max length`}
        </p>
      )}
    </figure>
  );
}
