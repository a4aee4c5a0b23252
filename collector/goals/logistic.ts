/**
 * L2-regularized logistic regression fitted by Newton's method (iteratively reweighted least
 * squares), on standardized features, and Platt scaling on top. Written here rather than taken
 * from `ml-logistic-regression` (mljs): that package fits by full-batch gradient descent, 50,000
 * steps at a fixed learning rate by default, without intercept, regularization or feature
 * scaling, so its result depends on tuning a site owner cannot do; its last release (2.0.0, 2020)
 * changed only its README, and it brings `ml-matrix` along. Newton's method on a few dozen
 * features converges in a handful of passes, needs no learning rate, and is tested against known
 * solutions (test/goals/learning.test.ts).
 */

export interface LogisticModel {
  /** Per feature: mean and scale of the standardization, and the weight on the scaled value. */
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
}

export interface FitOptions {
  /** L2 penalty on the (scaled) weights, per example: keeps separable data finite. */
  l2?: number;
  maxIterations?: number;
  /** Stops when no weight moves more than this. */
  tolerance?: number;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Solves `a·x = b` for a symmetric positive definite `a` (Cholesky), in place of neither. */
export function solveSpd(a: number[][], b: number[]): number[] {
  const n = b.length;
  const l: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const ai = a[i] ?? [];
    const li = l[i] ?? [];
    for (let j = 0; j <= i; j++) {
      const lj = l[j] ?? [];
      let s = ai[j] ?? 0;
      for (let k = 0; k < j; k++) s -= (li[k] ?? 0) * (lj[k] ?? 0);
      if (i === j) li[i] = Math.sqrt(Math.max(s, 1e-12));
      else li[j] = s / (lj[j] ?? 1);
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const li = l[i] ?? [];
    let s = b[i] ?? 0;
    for (let k = 0; k < i; k++) s -= (li[k] ?? 0) * (y[k] ?? 0);
    y[i] = s / (li[i] ?? 1);
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i] ?? 0;
    for (let k = i + 1; k < n; k++) s -= (l[k]?.[i] ?? 0) * (x[k] ?? 0);
    x[i] = s / (l[i]?.[i] ?? 1);
  }
  return x;
}

/**
 * Fits `y ~ sigmoid(w·scaled(x) + b)`. `xs` rows all have the same length; a constant column
 * gets scale 1 (its weight stays at 0 under the penalty).
 */
export function fitLogistic(
  xs: readonly (readonly number[])[],
  ys: readonly boolean[],
  opts: FitOptions = {},
): LogisticModel {
  const n = xs.length;
  const d = xs[0]?.length ?? 0;
  const l2 = (opts.l2 ?? 1e-3) * Math.max(n, 1);
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const x of xs) for (let j = 0; j < d; j++) mean[j] = (mean[j] ?? 0) + (x[j] ?? 0) / n;
  for (const x of xs)
    for (let j = 0; j < d; j++)
      scale[j] = (scale[j] ?? 0) + ((x[j] ?? 0) - (mean[j] ?? 0)) ** 2 / n;
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(scale[j] ?? 0);
    scale[j] = s > 1e-9 ? s : 1;
  }
  // Scaled rows with a leading 1 for the bias: one flat array, row-major.
  const m = d + 1;
  const z = new Float64Array(n * m);
  xs.forEach((x, i) => {
    z[i * m] = 1;
    for (let j = 0; j < d; j++) z[i * m + j + 1] = ((x[j] ?? 0) - (mean[j] ?? 0)) / (scale[j] ?? 1);
  });
  const w = new Array<number>(m).fill(0);
  const maxIterations = opts.maxIterations ?? 25;
  const tolerance = opts.tolerance ?? 1e-6;
  for (let it = 0; it < maxIterations; it++) {
    const grad = new Array<number>(m).fill(0);
    const hess: number[][] = Array.from({ length: m }, () => new Array<number>(m).fill(0));
    for (let i = 0; i < n; i++) {
      const o = i * m;
      let s = 0;
      for (let j = 0; j < m; j++) s += (w[j] ?? 0) * (z[o + j] ?? 0);
      const p = sigmoid(s);
      const r = (ys[i] ? 1 : 0) - p;
      const h = Math.max(p * (1 - p), 1e-10);
      for (let j = 0; j < m; j++) {
        const zj = z[o + j] ?? 0;
        if (zj === 0) continue;
        grad[j] = (grad[j] ?? 0) + r * zj;
        const row = hess[j] ?? [];
        for (let k = 0; k <= j; k++) row[k] = (row[k] ?? 0) + h * zj * (z[o + k] ?? 0);
      }
    }
    // The penalty (not on the bias), and the upper triangle from the lower.
    for (let j = 0; j < m; j++) {
      const row = hess[j] ?? [];
      if (j > 0) {
        grad[j] = (grad[j] ?? 0) - l2 * (w[j] ?? 0);
        row[j] = (row[j] ?? 0) + l2;
      }
      for (let k = 0; k < j; k++) {
        const other = hess[k];
        if (other) other[j] = row[k] ?? 0;
      }
    }
    const step = solveSpd(hess, grad);
    let moved = 0;
    for (let j = 0; j < m; j++) {
      w[j] = (w[j] ?? 0) + (step[j] ?? 0);
      moved = Math.max(moved, Math.abs(step[j] ?? 0));
    }
    if (moved < tolerance) break;
  }
  return { mean, scale, weights: w.slice(1), bias: w[0] ?? 0 };
}

/** The model's score (log-odds) for one row. */
export function logit(model: LogisticModel, x: readonly number[]): number {
  let s = model.bias;
  for (let j = 0; j < model.weights.length; j++)
    s += ((model.weights[j] ?? 0) * ((x[j] ?? 0) - (model.mean[j] ?? 0))) / (model.scale[j] ?? 1);
  return s;
}

/** Platt scaling: `p = sigmoid(a·score + b)`, fitted on a calibration split. */
export interface Platt {
  a: number;
  b: number;
}

export function fitPlatt(scores: readonly number[], ys: readonly boolean[]): Platt {
  // Platt's targets: (n+ + 1)/(n+ + 2) and 1/(n- + 2) rather than 1 and 0, against overfitting.
  const pos = ys.filter(Boolean).length;
  const neg = ys.length - pos;
  const hi = (pos + 1) / (pos + 2);
  const lo = 1 / (neg + 2);
  let a = 1;
  let b = 0;
  for (let it = 0; it < 50; it++) {
    let g0 = 0;
    let g1 = 0;
    let h00 = 1e-9;
    let h01 = 0;
    let h11 = 1e-9;
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i] ?? 0;
      const t = ys[i] ? hi : lo;
      const p = sigmoid(a * s + b);
      const r = t - p;
      const h = Math.max(p * (1 - p), 1e-10);
      g0 += r * s;
      g1 += r;
      h00 += h * s * s;
      h01 += h * s;
      h11 += h;
    }
    const det = h00 * h11 - h01 * h01;
    if (Math.abs(det) < 1e-12) break;
    const da = (h11 * g0 - h01 * g1) / det;
    const db = (h00 * g1 - h01 * g0) / det;
    a += da;
    b += db;
    if (Math.abs(da) < 1e-9 && Math.abs(db) < 1e-9) break;
  }
  return { a, b };
}

export function calibrated(platt: Platt, score: number): number {
  return sigmoid(platt.a * score + platt.b);
}
