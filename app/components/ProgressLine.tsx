// A labelled progress bar with a line of text under it (bytes, steps, speed, time left).
export function ProgressLine({ label, value, max, detail }: { label: string; value: number; max: number | null; detail?: string }) {
  const known = max !== null && max > 0;
  return (
    <div className="progress-line">
      <progress aria-label={label} value={known ? Math.min(value, max) : undefined} max={known ? max : undefined} />
      {detail && <span className="muted">{detail}</span>}
    </div>
  );
}
