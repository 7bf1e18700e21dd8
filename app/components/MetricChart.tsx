// One live line chart (uPlot) of logged metrics against the step.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  key: string; // TRL metric name, e.g. "loss", "rewards/margins"
  label: string;
  color: string;
}

export function MetricChart({ title, series, logs }: { title: string; series: ChartSeries[]; logs: Record<string, number>[] }) {
  const host = useRef<HTMLDivElement>(null);
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
        height: 150,
        scales: { x: { time: false } },
        legend: { show: series.length > 1 },
        cursor: { drag: { x: false, y: false } },
        axes: [{ ...axis, label: 'step', labelSize: 18 }, { ...axis, size: 56 }],
        series: [{ label: 'step' }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: true, size: 5 } }))],
      },
      data(),
      el,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, el.clientWidth), height: 150 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its series change; new points go through setData below.
  }, [seriesKey]);

  useEffect(() => {
    plot.current?.setData(data());
  }, [logs]);

  return (
    <figure className="chart" aria-label={`${title} chart`}>
      <figcaption>{title}</figcaption>
      <div ref={host} className="chart-host" />
    </figure>
  );
}
