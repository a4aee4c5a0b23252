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
 * gets scale 1 and weight 0.
 *
 * Newton's step is that of the standardized (centered) rows, but the rows are kept sparse:
 * centering would fill in the zeros of counts and one-hots, which are most of a row, and the
 * Hessian's cost is the square of a row's entries. So a column that is zero in most rows is
 * stored uncentered and its centering applied to the sums (exact: Σh·z·zᵀ from Σh·v·vᵀ, Σh·v and
 * Σh), and a column that is mostly non-zero is stored centered, where those corrections would
 * cancel large terms.
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
  const nonZero = new Array<number>(d).fill(0);
  for (const x of xs)
    for (let j = 0; j < d; j++) {
      const v = x[j] ?? 0;
      mean[j] = (mean[j] ?? 0) + v / n;
      if (v !== 0) nonZero[j] = (nonZero[j] ?? 0) + 1;
    }
  for (const x of xs)
    for (let j = 0; j < d; j++)
      scale[j] = (scale[j] ?? 0) + ((x[j] ?? 0) - (mean[j] ?? 0)) ** 2 / n;
  // The columns fitted (a constant one keeps weight 0), and per column the shift c that turns a
  // stored value v back into the standardized z = v − c: 0 for a centered column.
  const live: number[] = [];
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(scale[j] ?? 0);
    scale[j] = s > 1e-9 ? s : 1;
    if (s > 1e-9) live.push(j);
  }
  const q = live.length;
  const shift = new Float64Array(q);
  const centered = live.map((j, k) => {
    const dense = (nonZero[j] ?? 0) > n / 2;
    if (!dense) shift[k] = (mean[j] ?? 0) / (scale[j] ?? 1);
    return dense;
  });
  // The rows, sparse (compressed rows, columns ascending): a centered column's every entry, an
  // uncentered one's non-zero ones.
  const kept = (k: number, raw: number) => centered[k] === true || raw !== 0;
  const start = new Uint32Array(n + 1);
  let entries = 0;
  for (let i = 0; i < n; i++) {
    const x = xs[i] ?? [];
    for (let k = 0; k < q; k++) if (kept(k, x[live[k] ?? 0] ?? 0)) entries++;
    start[i + 1] = entries;
  }
  const col = q <= 0xffff ? new Uint16Array(entries) : new Uint32Array(entries);
  const val = new Float64Array(entries);
  for (let i = 0, e = 0; i < n; i++) {
    const x = xs[i] ?? [];
    for (let k = 0; k < q; k++) {
      const j = live[k] ?? 0;
      const raw = x[j] ?? 0;
      if (!kept(k, raw)) continue;
      col[e] = k;
      val[e++] = (centered[k] ? raw - (mean[j] ?? 0) : raw) / (scale[j] ?? 1);
    }
  }
  const y = Float64Array.from(ys, (b) => (b ? 1 : 0));
  const w = new Float64Array(q);
  let bias = 0;
  const maxIterations = opts.maxIterations ?? 25;
  const tolerance = opts.tolerance ?? 1e-6;
  const g = new Float64Array(q);
  const t = new Float64Array(q);
  const s2 = new Float64Array(q * q);
  for (let it = 0; it < maxIterations; it++) {
    g.fill(0);
    t.fill(0);
    s2.fill(0);
    let r0 = 0;
    let h0 = 0;
    // z·w = v·w − c·w: the shift's part once per pass.
    let b0 = bias;
    for (let k = 0; k < q; k++) b0 -= (w[k] ?? 0) * (shift[k] ?? 0);
    for (let i = 0; i < n; i++) {
      const from = start[i] ?? 0;
      const to = start[i + 1] ?? 0;
      let s = b0;
      for (let e = from; e < to; e++) s += (w[col[e] ?? 0] ?? 0) * (val[e] ?? 0);
      const p = sigmoid(s);
      const r = (y[i] ?? 0) - p;
      const h = Math.max(p * (1 - p), 1e-10);
      r0 += r;
      h0 += h;
      for (let e = from; e < to; e++) {
        const k = col[e] ?? 0;
        const v = val[e] ?? 0;
        const hv = h * v;
        g[k] = (g[k] ?? 0) + r * v;
        t[k] = (t[k] ?? 0) + hv;
        const row = k * q;
        for (let f = from; f <= e; f++) {
          const at = row + (col[f] ?? 0);
          s2[at] = (s2[at] ?? 0) + hv * (val[f] ?? 0);
        }
      }
    }
    // Back to the standardized rows (z = v − c), the bias first; the penalty (not on the bias).
    const m = q + 1;
    const grad = new Array<number>(m).fill(0);
    const hess: number[][] = Array.from({ length: m }, () => new Array<number>(m).fill(0));
    grad[0] = r0;
    const h00 = hess[0] ?? [];
    h00[0] = h0;
    for (let a = 0; a < q; a++) {
      const ca = shift[a] ?? 0;
      const ta = t[a] ?? 0;
      grad[a + 1] = (g[a] ?? 0) - ca * r0 - l2 * (w[a] ?? 0);
      const ha = hess[a + 1] ?? [];
      ha[0] = h00[a + 1] = ta - ca * h0;
      for (let b = 0; b <= a; b++) {
        const cb = shift[b] ?? 0;
        const v = (s2[a * q + b] ?? 0) - ca * (t[b] ?? 0) - cb * ta + ca * cb * h0;
        ha[b + 1] = v;
        const hb = hess[b + 1];
        if (hb) hb[a + 1] = v;
      }
      ha[a + 1] = (ha[a + 1] ?? 0) + l2;
    }
    const step = solveSpd(hess, grad);
    let moved = Math.abs(step[0] ?? 0);
    bias += step[0] ?? 0;
    for (let k = 0; k < q; k++) {
      w[k] = (w[k] ?? 0) + (step[k + 1] ?? 0);
      moved = Math.max(moved, Math.abs(step[k + 1] ?? 0));
    }
    if (moved < tolerance) break;
  }
  const weights = new Array<number>(d).fill(0);
  live.forEach((j, k) => {
    weights[j] = w[k] ?? 0;
  });
  return { mean, scale, weights, bias };
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
