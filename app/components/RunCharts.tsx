// The run's live charts: loss (and eval_loss when the recipe evaluates), learning rate, grad
// norm, and for DPO the reward margins and preference accuracy (TRL's metric names).
import type { Method } from '../../engine/api/contract.ts';
import { MetricChart } from './MetricChart.tsx';

export function RunCharts({ logs, method }: { logs: Record<string, number>[]; method: Method }) {
  if (logs.length === 0) return null;
  return (
    <div className="charts" aria-label="Training charts">
      <MetricChart
        title="Loss"
        series={[
          { key: 'loss', label: 'loss', color: '#2f6f5e' },
          ...(logs.some((l) => 'eval_loss' in l) ? [{ key: 'eval_loss', label: 'eval_loss', color: '#b3262e' }] : []),
        ]}
        logs={logs}
      />
      <MetricChart title="Learning rate" series={[{ key: 'learning_rate', label: 'learning_rate', color: '#8a5cc2' }]} logs={logs} />
      <MetricChart title="Grad norm" series={[{ key: 'grad_norm', label: 'grad_norm', color: '#c2702f' }]} logs={logs} />
      {method === 'dpo' && (
        <>
          <MetricChart
            title="Rewards"
            series={[
              { key: 'rewards/margins', label: 'margins', color: '#2f6fb3' },
              { key: 'rewards/chosen', label: 'chosen', color: '#2f9e5e' },
              { key: 'rewards/rejected', label: 'rejected', color: '#b3262e' },
            ]}
            logs={logs}
          />
          <MetricChart title="Reward accuracy" series={[{ key: 'rewards/accuracies', label: 'rewards/accuracies', color: '#5e6f2f' }]} logs={logs} />
        </>
      )}
    </div>
  );
}
