import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface HistoryPoint {
  recorded_at: string;
  pnl_total: number;
  pnl_today: number;
  equity: number | null;
}

/** Equity (left axis) and total PnL (right axis) over the session, one point per heartbeat. */
export const EquityChart = ({ points }: { points: HistoryPoint[] }) => {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data: uPlot.AlignedData = [
    points.map((point) => Date.parse(point.recorded_at) / 1000),
    points.map((point) => point.equity),
    points.map((point) => point.pnl_total),
  ];
  useEffect(() => {
    const element = host.current;
    if (element === null) return;
    plot.current = new uPlot(
      {
        width: Math.max(320, element.clientWidth),
        height: 220,
        series: [
          {},
          { label: 'equity', stroke: '#2f6fdf', scale: 'equity', spanGaps: true },
          { label: 'PnL total', stroke: '#1c9b5a', scale: 'pnl' },
        ],
        axes: [{}, { scale: 'equity', size: 70 }, { scale: 'pnl', side: 1, size: 60, grid: { show: false } }],
      },
      data,
      element,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(data);
  });
  return html`<div class="chart" ref=${host} data-points=${points.length}></div>`;
};
