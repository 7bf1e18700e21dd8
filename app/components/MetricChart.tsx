// One live line chart (uPlot) of logged metrics against the step.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useStudio } from '../store/index.ts';
import { ChartExplanation } from './ChartExplanation.tsx';

/** Whole steps only on the x axis. */
const STEP_INCREMENTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/** Axis labels that stay readable for learning rates (2e-4) as well as losses (0.693). */
function tick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-2 || a >= 1e5) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

export interface ChartSeries {
  key: string; // TRL metric name, e.g. "loss", "rewards/margins"
  label: string;
  color: string;
}

export function MetricChart({ title, series, logs, explain }: { title: string; series: ChartSeries[]; logs: Record<string, number>[]; explain?: string | null }) {
  const host = useRef<HTMLDivElement>(null);
  // Presenter mode: taller charts for a projector.
  const height = useStudio((s) => (s.presenter ? 260 : 150));
  const plot = useRef<uPlot | null>(null);
  const seriesKey = series.map((s) => s.key).join('|');

  const data = (): uPlot.AlignedData => {
    const rows = [...logs].sort((a, b) => a.step - b.step);
    return [rows.map((r) => r.step), ...series.map((s) => rows.map((r) => (Number.isFinite(r[s.key]) ? r[s.key] : null)))];
  };

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const axis = { stroke: '#7a8494', grid: { stroke: 'rgba(122,132,148,0.18)' }, ticks: { stroke: 'rgba(122,132,148,0.3)' } };
    const chart = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height,
        scales: { x: { time: false } },
        legend: { show: series.length > 1, live: false },
        cursor: { drag: { x: false, y: false } },
        axes: [{ ...axis, label: 'step', labelSize: 18, incrs: STEP_INCREMENTS }, { ...axis, size: 60, space: 18, values: (_u: uPlot, splits: number[]) => splits.map(tick) }],
        series: [{ label: 'step' }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: true, size: 5 } }))],
      },
      data(),
      el,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its series change; new points go through setData below.
  }, [seriesKey, height]);

  useEffect(() => {
    plot.current?.setData(data());
  }, [logs]);

  return (
    <figure className="chart" aria-label={`${title} chart`}>
      <figcaption>
        {title}
        {explain && <ChartExplanation title={title} text={explain} />}
      </figcaption>
      <div ref={host} className="chart-host" />
    </figure>
  );
}
