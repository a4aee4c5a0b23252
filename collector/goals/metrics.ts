/**
 * How good a model's probabilities are on examples it never saw: ranking (AUC), accuracy of the
 * probabilities (Brier score, calibration table by deciles and its weighted error) and the lift
 * of the top decile, the figure a marketer acts on ("the top 10% buy 4× as often").
 */

export interface CalibrationBin {
  /** 1 (lowest predictions) to 10 (highest). */
  decile: number;
  n: number;
  /** Mean predicted probability, and the share that reached the goal. */
  predicted: number;
  observed: number;
}

export interface Evaluation {
  examples: number;
  positives: number;
  baseRate: number;
  /** Area under the ROC curve (ties count half); null without both classes. */
  auc: number | null;
  brier: number;
  calibration: CalibrationBin[];
  /** Σ n/N · |predicted − observed| over the deciles (expected calibration error). */
  calibrationError: number;
  /** The top decile's observed rate over the base rate; null when the base rate is 0. */
  topDecileLift: number | null;
}

/** AUC by ranks (Mann–Whitney U), with tied scores given their mean rank. */
export function auc(ps: readonly number[], ys: readonly boolean[]): number | null {
  const idx = ps.map((_, i) => i).sort((a, b) => (ps[a] ?? 0) - (ps[b] ?? 0));
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && ps[idx[j + 1] ?? 0] === ps[idx[i] ?? 0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (ys[idx[k] ?? 0]) {
        pos++;
        rankSum += rank;
      }
    i = j + 1;
  }
  const neg = ps.length - pos;
  if (pos === 0 || neg === 0) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function evaluate(ps: readonly number[], ys: readonly boolean[]): Evaluation {
  const n = ps.length;
  const positives = ys.filter(Boolean).length;
  const baseRate = n > 0 ? positives / n : 0;
  let brier = 0;
  for (let i = 0; i < n; i++) brier += ((ps[i] ?? 0) - (ys[i] ? 1 : 0)) ** 2;
  const order = ps.map((_, i) => i).sort((a, b) => (ps[a] ?? 0) - (ps[b] ?? 0));
  const calibration: CalibrationBin[] = [];
  let error = 0;
  for (let d = 0; d < 10; d++) {
    const from = Math.floor((d * n) / 10);
    const to = Math.floor(((d + 1) * n) / 10);
    if (to <= from) continue;
    let p = 0;
    let o = 0;
    for (let k = from; k < to; k++) {
      const i = order[k] ?? 0;
      p += ps[i] ?? 0;
      o += ys[i] ? 1 : 0;
    }
    const m = to - from;
    calibration.push({ decile: d + 1, n: m, predicted: p / m, observed: o / m });
    error += (m / n) * Math.abs(p / m - o / m);
  }
  const top = calibration[calibration.length - 1];
  return {
    examples: n,
    positives,
    baseRate,
    auc: auc(ps, ys),
    brier: n > 0 ? brier / n : 0,
    calibration,
    calibrationError: error,
    topDecileLift: top && baseRate > 0 ? top.observed / baseRate : null,
  };
}
