/**
 * The learning parts against answers known in advance: logistic regression recovers the weights
 * that generated the data, Platt scaling corrects a miscalibrated score, AUC, Brier, deciles and
 * lift match hand computations.
 */
import { describe, expect, it } from 'vitest';
import {
  calibrated,
  fitLogistic,
  fitPlatt,
  logit,
  solveSpd,
} from '../../collector/goals/logistic.ts';
import { auc, evaluate } from '../../collector/goals/metrics.ts';
import { rng } from './synthetic.ts';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('logistic regression', () => {
  it('solves a symmetric positive definite system', () => {
    const x = solveSpd(
      [
        [4, 2, 0],
        [2, 5, 1],
        [0, 1, 3],
      ],
      [2, 1, 3],
    );
    expect(4 * (x[0] ?? 0) + 2 * (x[1] ?? 0)).toBeCloseTo(2);
    expect(2 * (x[0] ?? 0) + 5 * (x[1] ?? 0) + (x[2] ?? 0)).toBeCloseTo(1);
    expect((x[1] ?? 0) + 3 * (x[2] ?? 0)).toBeCloseTo(3);
  });

  it('recovers the weights that generated the data', () => {
    const r = rng(3);
    const xs: number[][] = [];
    const ys: boolean[] = [];
    for (let i = 0; i < 20_000; i++) {
      const x = [r() * 4 - 2, r() < 0.5 ? 1 : 0, 7];
      xs.push(x);
      ys.push(r() < sigmoid(-1 + 1.5 * (x[0] ?? 0) - 2 * (x[1] ?? 0)));
    }
    const m = fitLogistic(xs, ys, { l2: 0 });
    // Back from standardized weights to raw ones.
    const raw = m.weights.map((w, j) => w / (m.scale[j] ?? 1));
    expect(raw[0]).toBeCloseTo(1.5, 0);
    expect(raw[1]).toBeCloseTo(-2, 0);
    expect(raw[2]).toBeCloseTo(0, 6);
    expect(logit(m, [0, 0, 7])).toBeCloseTo(-1, 0);
  });

  it('takes the same Newton steps as the dense standardized fit, whatever the columns', () => {
    // Columns as training makes them: dense, mostly zero (counts, one-hots), constant, and one
    // whose mean is far from zero next to its spread (kept centered: no cancellation).
    const r = rng(9);
    const xs: number[][] = [];
    const ys: boolean[] = [];
    for (let i = 0; i < 5_000; i++) {
      const count = r() < 0.2 ? Math.log1p(Math.floor(r() * 9)) : 0;
      const hot = r() < 0.1 ? 1 : 0;
      const x = [r() * 3, count, hot, 1 - hot, 7, 1e6 + r() * 0.1, r() < 0.6 ? r() : 0];
      xs.push(x);
      ys.push(r() < sigmoid(-2 + 0.8 * (x[0] ?? 0) + 1.2 * count + 1.5 * hot - 0.5 * (x[6] ?? 0)));
    }
    // With a penalty: the one-hot pair and the bias are collinear, as training's one-hot sets are.
    for (const l2 of [1e-4, 1e-3, 0.1]) {
      const sparse = fitLogistic(xs, ys, { l2 });
      const dense = denseFit(xs, ys, l2);
      sparse.weights.forEach((w, j) => {
        expect(w).toBeCloseTo(dense.weights[j] ?? Number.NaN, 6);
      });
      expect(sparse.bias).toBeCloseTo(dense.bias, 6);
      expect(sparse.weights[4]).toBe(0);
    }
  });

  it('stays finite on separable data', () => {
    const xs = [[0], [1], [2], [3]];
    const m = fitLogistic(xs, [false, false, true, true]);
    expect(Number.isFinite(m.weights[0])).toBe(true);
    expect(logit(m, [3])).toBeGreaterThan(logit(m, [0]));
  });

  it('Platt scaling maps an overconfident score to the observed rate', () => {
    const r = rng(4);
    const scores: number[] = [];
    const ys: boolean[] = [];
    for (let i = 0; i < 20_000; i++) {
      const s = r() * 8 - 4;
      scores.push(s);
      // The truth is half as steep as the score claims.
      ys.push(r() < sigmoid(0.5 * s + 0.3));
    }
    const p = fitPlatt(scores, ys);
    expect(p.a).toBeCloseTo(0.5, 1);
    expect(p.b).toBeCloseTo(0.3, 1);
    expect(calibrated(p, 0)).toBeCloseTo(sigmoid(0.3), 1);
  });
});

describe('metrics', () => {
  it('AUC by ranks, ties counted half', () => {
    expect(auc([0.1, 0.2, 0.3, 0.4], [false, false, true, true])).toBe(1);
    expect(auc([0.1, 0.2, 0.3, 0.4], [true, true, false, false])).toBe(0);
    expect(auc([0.5, 0.5, 0.5, 0.5], [true, false, true, false])).toBe(0.5);
    // Pairs (pos, neg): (0.8,0.1) ok, (0.8,0.6) ok, (0.4,0.1) ok, (0.4,0.6) not: 3/4.
    expect(auc([0.8, 0.4, 0.1, 0.6], [true, true, false, false])).toBe(0.75);
    expect(auc([0.1, 0.2], [false, false])).toBeNull();
  });

  it('Brier, deciles, calibration error and lift', () => {
    const ps = Array.from({ length: 100 }, (_, i) => (i < 90 ? 0.1 : 0.5));
    const ys = ps.map((_, i) => (i < 90 ? i % 10 === 0 : i % 2 === 0));
    const e = evaluate(ps, ys);
    expect(e.examples).toBe(100);
    expect(e.positives).toBe(14);
    expect(e.calibration).toHaveLength(10);
    expect(e.calibration[9]).toMatchObject({ decile: 10, n: 10, predicted: 0.5, observed: 0.5 });
    expect(e.calibrationError).toBeCloseTo(0);
    expect(e.topDecileLift).toBeCloseTo(0.5 / 0.14);
    expect(e.brier).toBeCloseTo((9 * 0.81 + 81 * 0.01 + 5 * 0.25 + 5 * 0.25) / 100);
  });
});

/**
 * The textbook fit the sparse one must agree with: Newton's method on the centered, scaled rows,
 * every entry of every row, the bias unpenalized, a constant column left at weight 0.
 */
function denseFit(xs: number[][], ys: boolean[], l2PerExample: number) {
  const n = xs.length;
  const d = xs[0]?.length ?? 0;
  const l2 = l2PerExample * n;
  const mean = Array.from({ length: d }, (_, j) => xs.reduce((a, x) => a + (x[j] ?? 0), 0) / n);
  const scale = mean.map((mu, j) => {
    const s = Math.sqrt(xs.reduce((a, x) => a + ((x[j] ?? 0) - mu) ** 2, 0) / n);
    return s > 1e-9 ? s : 1;
  });
  const live = mean.map((mu, j) => xs.some((x) => x[j] !== mu));
  const z = xs.map((x) => [
    1,
    ...x.map((v, j) => (live[j] ? (v - (mean[j] ?? 0)) / (scale[j] ?? 1) : 0)),
  ]);
  const w = new Array<number>(d + 1).fill(0);
  for (let it = 0; it < 25; it++) {
    const grad = new Array<number>(d + 1).fill(0);
    const hess = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    z.forEach((row, i) => {
      const p = sigmoid(row.reduce((a, v, j) => a + v * (w[j] ?? 0), 0));
      const h = Math.max(p * (1 - p), 1e-10);
      row.forEach((v, j) => {
        grad[j] = (grad[j] ?? 0) + ((ys[i] ? 1 : 0) - p) * v;
        row.forEach((u, k) => {
          const hj = hess[j] ?? [];
          hj[k] = (hj[k] ?? 0) + h * v * u;
        });
      });
    });
    for (let j = 1; j <= d; j++) {
      const hj = hess[j] ?? [];
      grad[j] = (grad[j] ?? 0) - l2 * (w[j] ?? 0);
      hj[j] = (hj[j] ?? 0) + l2;
      if (!live[j - 1]) hj[j] = 1; // constant: no step
    }
    const step = solveSpd(hess, grad);
    step.forEach((s, j) => {
      w[j] = (w[j] ?? 0) + s;
    });
    if (Math.max(...step.map(Math.abs)) < 1e-9) break;
  }
  return { weights: w.slice(1), bias: w[0] ?? 0 };
}
