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
