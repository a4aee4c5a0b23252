/**
 * A goal's calibration as a small inline SVG drawn on the server: each decile's mean predicted
 * probability (x) against the share that reached the goal (y), with the diagonal a perfectly
 * calibrated model would sit on. Not a uPlot chart (chart.ts): those have a time or index x axis
 * and a y axis from 0 to the largest count, where a calibration plot needs both axes on the same
 * probability scale; and an SVG needs no script, so it shows without JavaScript too. The figures
 * are in the table beside it; colours and text sizes come from the stylesheet (the CSP allows no
 * inline style).
 */
import type { CalibrationBin } from '../goals/metrics.ts';

const SIZE = 240;
const PAD = { left: 40, right: 10, top: 10, bottom: 34 };
const PLOT = SIZE - PAD.left - PAD.right;

/** The axes' top: the largest figure rounded up to a tenth (low rates would hug the corner on 0–1). */
export function axisMax(bins: readonly CalibrationBin[]): number {
  const top = Math.max(0, ...bins.flatMap((b) => [b.predicted, b.observed]));
  return Math.min(1, Math.max(0.1, Math.ceil(top * 10 - 1e-9) / 10));
}

const pctLabel = (x: number) => `${Math.round(x * 100)}%`;

export function CalibrationChart(props: { bins: readonly CalibrationBin[]; id: string }) {
  const max = axisMax(props.bins);
  const px = (p: number) => PAD.left + (p / max) * PLOT;
  const py = (p: number) => PAD.top + PLOT - (p / max) * PLOT;
  const points = props.bins.map(
    (b) => `${px(b.predicted).toFixed(1)},${py(b.observed).toFixed(1)}`,
  );
  const ticks = [0, max / 2, max];
  const title = `${props.id}-title`;
  return (
    <svg
      class="calibration-chart"
      viewBox={`0 0 ${SIZE} ${SIZE}`}
      role="img"
      aria-labelledby={title}
    >
      <title id={title}>
        Predicted against observed, per decile; the diagonal is a perfectly calibrated model (the
        figures are in the table)
      </title>
      <rect class="frame" x={PAD.left} y={PAD.top} width={PLOT} height={PLOT} />
      {ticks.map((t) => (
        <>
          <line class="gridline" x1={px(t)} y1={PAD.top} x2={px(t)} y2={PAD.top + PLOT} />
          <line class="gridline" x1={PAD.left} y1={py(t)} x2={PAD.left + PLOT} y2={py(t)} />
          <text class="tick" x={px(t)} y={PAD.top + PLOT + 13} text-anchor="middle">
            {pctLabel(t)}
          </text>
          <text class="tick" x={PAD.left - 4} y={py(t) + 4} text-anchor="end">
            {pctLabel(t)}
          </text>
        </>
      ))}
      <line class="diagonal" x1={px(0)} y1={py(0)} x2={px(max)} y2={py(max)} />
      <polyline class="observed" points={points.join(' ')} />
      {props.bins.map((b) => (
        <circle class="decile" cx={px(b.predicted)} cy={py(b.observed)} r={3} />
      ))}
      <text class="axis" x={PAD.left + PLOT / 2} y={SIZE - 4} text-anchor="middle">
        predicted
      </text>
      <text
        class="axis"
        x={12}
        y={PAD.top + PLOT / 2}
        text-anchor="middle"
        transform={`rotate(-90 12 ${PAD.top + PLOT / 2})`}
      >
        observed
      </text>
    </svg>
  );
}
