// The run's live charts: loss (and eval_loss when the recipe evaluates), learning rate, grad norm,
// and each method's own metrics under TRL's names (DPO/ORPO/SimPO rewards and accuracy, ORPO's log
// odds and NLL, KTO's KL, a reward model's accuracy, margin and reward range).
import type { Method } from '../../engine/api/contract.ts';
import { chartExplanation } from '../classroom/chartExplanations.ts';
import { MetricChart, type ChartSeries } from './MetricChart.tsx';

interface Chart {
  title: string;
  series: ChartSeries[];
}

const REWARDS: Chart = {
  title: 'Rewards',
  series: [
    { key: 'rewards/margins', label: 'margins', color: '#2f6fb3' },
    { key: 'rewards/chosen', label: 'chosen', color: '#2f9e5e' },
    { key: 'rewards/rejected', label: 'rejected', color: '#b3262e' },
  ],
};
const ACCURACY: Chart = { title: 'Reward accuracy', series: [{ key: 'rewards/accuracies', label: 'rewards/accuracies', color: '#5e6f2f' }] };

/** Each method's charts beyond loss, learning rate and grad norm. */
const METHOD_CHARTS: Record<Method, Chart[]> = {
  sft: [],
  dpo: [REWARDS, ACCURACY],
  orpo: [
    REWARDS,
    ACCURACY,
    {
      title: 'Log odds',
      series: [
        { key: 'log_odds_chosen', label: 'log_odds_chosen', color: '#2f6fb3' },
        { key: 'log_odds_ratio', label: 'log_odds_ratio', color: '#8a5cc2' },
      ],
    },
    { title: 'NLL of the chosen answers', series: [{ key: 'nll_loss', label: 'nll_loss', color: '#2f6f5e' }] },
  ],
  simpo: [REWARDS, ACCURACY],
  kto: [REWARDS, { title: 'KL estimate', series: [{ key: 'kl', label: 'kl', color: '#c2702f' }] }],
  reward: [
    { title: 'Accuracy', series: [{ key: 'accuracy', label: 'accuracy', color: '#5e6f2f' }] },
    { title: 'Margin', series: [{ key: 'margin', label: 'margin', color: '#2f6fb3' }] },
    {
      title: 'Rewards',
      series: [
        { key: 'max_reward', label: 'max', color: '#2f9e5e' },
        { key: 'mean_reward', label: 'mean', color: '#2f6fb3' },
        { key: 'min_reward', label: 'min', color: '#b3262e' },
      ],
    },
  ],
};

export function RunCharts({ logs, method }: { logs: Record<string, number>[]; method: Method }) {
  if (logs.length === 0) return null;
  // A series no log row has (e.g. SimPO's nll_loss without cpo_alpha) is left out; a chart with none is not drawn.
  // Each chart's "?" explains it in plain words (see app/classroom/chartExplanations.ts).
  const charts = METHOD_CHARTS[method]
    .map((c) => ({ ...c, series: c.series.filter((s) => logs.some((l) => s.key in l)) }))
    .filter((c) => c.series.length > 0);
  return (
    <div className="charts" aria-label="Training charts">
      <MetricChart
        title="Loss"
        explain={chartExplanation('Loss', method)}
        series={[
          { key: 'loss', label: 'loss', color: '#2f6f5e' },
          ...(logs.some((l) => 'eval_loss' in l) ? [{ key: 'eval_loss', label: 'eval_loss', color: '#b3262e' }] : []),
        ]}
        logs={logs}
      />
      <MetricChart title="Learning rate" explain={chartExplanation('Learning rate', method)} series={[{ key: 'learning_rate', label: 'learning_rate', color: '#8a5cc2' }]} logs={logs} />
      <MetricChart title="Grad norm" explain={chartExplanation('Grad norm', method)} series={[{ key: 'grad_norm', label: 'grad_norm', color: '#c2702f' }]} logs={logs} />
      {charts.map((c) => (
        <MetricChart key={c.title} title={c.title} explain={chartExplanation(c.title, method)} series={c.series} logs={logs} />
      ))}
    </div>
  );
}
