// A reward model's scores of chosen and rejected answers (its eval rows, or its first training
// rows, scored after the run): two histograms on one axis. A good reward model puts the chosen
// answers to the right of the rejected ones.

const BINS = 12;
const W = 320;
const H = 110;
const PAD = 18;

export function RewardHistogram({ scores }: { scores: { chosen: number[]; rejected: number[] } }) {
  const all = [...scores.chosen, ...scores.rejected];
  if (all.length === 0) return null;
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const width = hi > lo ? (hi - lo) / BINS : 1;
  const bin = (x: number) => Math.min(BINS - 1, Math.floor((x - lo) / width));
  const count = (xs: number[]) => xs.reduce((c, x) => (c[bin(x)]++, c), new Array<number>(BINS).fill(0));
  const chosen = count(scores.chosen);
  const rejected = count(scores.rejected);
  const top = Math.max(1, ...chosen, ...rejected);
  const barW = (W - 2 * PAD) / BINS / 2;
  const y = (n: number) => ((H - PAD) * n) / top;
  const accuracy = scores.chosen.filter((c, i) => c > scores.rejected[i]).length / Math.max(scores.chosen.length, 1);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  return (
    <figure className="chart" aria-label="Reward distribution">
      <figcaption>
        Rewards of {scores.chosen.length} pairs: chosen (mean {mean(scores.chosen).toFixed(2)}) vs rejected (mean {mean(scores.rejected).toFixed(2)}), accuracy{' '}
        {(100 * accuracy).toFixed(0)}%
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Histogram of ${scores.chosen.length} chosen and ${scores.rejected.length} rejected rewards from ${lo.toFixed(2)} to ${hi.toFixed(2)}`}>
        {chosen.map((n, i) => (
          <rect key={`c${i}`} x={PAD + i * 2 * barW} y={H - PAD - y(n)} width={barW - 1} height={y(n)} fill="#2f9e5e" />
        ))}
        {rejected.map((n, i) => (
          <rect key={`r${i}`} x={PAD + i * 2 * barW + barW} y={H - PAD - y(n)} width={barW - 1} height={y(n)} fill="#b3262e" />
        ))}
        <line x1={PAD} x2={W - PAD} y1={H - PAD} y2={H - PAD} stroke="#7a8494" />
        <text x={PAD} y={H - 4} fontSize="9" fill="#7a8494">
          {lo.toFixed(2)}
        </text>
        <text x={W - PAD} y={H - 4} fontSize="9" fill="#7a8494" textAnchor="end">
          {hi.toFixed(2)}
        </text>
      </svg>
      <p className="muted legend">
        <span style={{ color: '#2f9e5e' }}>■</span> chosen <span style={{ color: '#b3262e' }}>■</span> rejected
      </p>
    </figure>
  );
}
