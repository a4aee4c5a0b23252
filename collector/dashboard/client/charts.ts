/**
 * Charts with uPlot, from the data the server put in each chart element's `data-chart` attribute
 * (JSON, `ChartSpec` of ../chart.ts). The same figures are in the table next to each chart, for
 * screen readers and keyboard users; the canvas is decoration (`aria-hidden`).
 */
import uPlot from 'uplot';
import type { ChartSpec } from '../chart.ts';

const COLORS = [
  '#1f5fa8',
  '#b3541e',
  '#2e7d32',
  '#7b3fa0',
  '#a0182f',
  '#00707a',
  '#5c5c5c',
  '#8a6d00',
];

function options(spec: ChartSpec, width: number): uPlot.Options {
  const spark = spec.kind === 'spark';
  const bars = spec.kind === 'bars' ? uPlot.paths.bars?.({ size: [0.7, 40] }) : undefined;
  return {
    width,
    height: spark ? 32 : 220,
    legend: { show: !spark },
    cursor: { show: !spark },
    // Counts: the y axis starts at 0, so a bar's height is its count (a sparkline shows the trend).
    scales: {
      x: { time: spec.time !== false },
      y: spark ? {} : { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] },
    },
    axes: spark ? [{ show: false }, { show: false }] : [{}, { size: 56 }],
    series: [
      {},
      ...spec.series.map((s, i) => ({
        label: s.label,
        stroke: COLORS[i % COLORS.length],
        width: spark ? 1.5 : 2,
        ...(bars ? { paths: bars, fill: `${COLORS[i % COLORS.length]}55` } : {}),
        points: { show: false },
      })),
    ],
  };
}

function draw(el: HTMLElement): void {
  let spec: ChartSpec;
  try {
    spec = JSON.parse(el.dataset.chart ?? '') as ChartSpec;
  } catch {
    return;
  }
  const data: uPlot.AlignedData = [spec.x, ...spec.series.map((s) => s.values)];
  const width = () => Math.max(120, Math.floor(el.clientWidth));
  const plot = new uPlot(options(spec, width()), data, el);
  plot.root.setAttribute('aria-hidden', 'true');
  el.classList.add('drawn');
  let last = width();
  new ResizeObserver(() => {
    const w = width();
    if (w !== last) {
      last = w;
      plot.setSize({ width: w, height: plot.height });
    }
  }).observe(el);
}

export function initCharts(): void {
  for (const el of document.querySelectorAll<HTMLElement>('[data-chart]')) draw(el);
}
