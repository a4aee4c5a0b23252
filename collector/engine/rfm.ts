/**
 * RFM: recency, frequency and monetary scores 1–5 and the standard grid's label. Scores use
 * the site's quintile breakpoints when the background job has computed them (enough
 * customers), else the fixed thresholds of the config; either way one tie rule (scoreAbove).
 */
import type { Rfm, RfmLabel } from '../../shared/segment.ts';
import { DAY, type RfmConfig } from './config.ts';
import type { Purchases } from './profile.ts';

type Four = [number, number, number, number];

/**
 * Quintile breakpoints of a site's customers, as computed by the background job (or
 * `microseg rfm`). Each list is ascending, worst first, so one rule scores all three: recency is
 * kept as the time of the last purchase, not as an age, so a comparison made later gives the
 * answer the job's moment gave — an age computed at the job would be compared with a larger
 * one at read time and drop a customer on a breakpoint one score.
 */
export interface RfmBreakpoints {
  /** Times (epoch ms) of the last purchase at the 20/40/60/80% ranks, oldest first. */
  lastPurchase: Four;
  /** Purchase counts and totals at the 20/40/60/80% ranks, ascending. */
  frequency: Four;
  monetary: Four;
  customers: number;
  computed: number;
}

/**
 * 0-based ranks of the four breakpoints among `n` values sorted worst first: the last value of
 * each of the first four fifths. With `score = 1 + #(breakpoints below x)`, a value equal to a
 * breakpoint is in the fifth that breakpoint ends: the lower score.
 */
export function quintileRanks(n: number): Four {
  return [1, 2, 3, 4].map((k) => Math.max(0, Math.ceil((k * n) / 5) - 1)) as Four;
}

/**
 * The one tie rule of R, F and M: 1 + the number of breakpoints strictly below `x`, where `x`
 * is the last purchase's time (R), the purchase count (F) or the total value (M). A value equal
 * to a breakpoint takes the lower score.
 */
export function scoreAbove(x: number, b: Four): number {
  let s = 1;
  for (const v of b) if (x > v) s++;
  return s;
}

/**
 * The fixed recency thresholds (days since the last purchase, ascending) as last-purchase times
 * at `now`, oldest first: `recencyDays` [14, 30, 90, 180] gives now − 180 d, … now − 14 d.
 */
export function recencyTimes(recencyDays: readonly number[], now: number): Four {
  return recencyDays.map((d) => now - d * DAY).reverse() as Four;
}

/**
 * The standard RFM grid over R and F (rows R, columns F):
 *   R 5: F 1 new_customer, F 2–3 potential_loyalist, F 4–5 champions
 *   R 4: F 1 promising,    F 2–3 potential_loyalist, F 4–5 loyal
 *   R 3: F 1–2 about_to_sleep, F 3 need_attention,   F 4–5 loyal
 *   R 1–2: F 1–2 hibernating,  F 3–4 at_risk,        F 5 cannot_lose
 */
export function rfmLabel(r: number, f: number): RfmLabel {
  if (r <= 2) return f <= 2 ? 'hibernating' : f <= 4 ? 'at_risk' : 'cannot_lose';
  if (r === 3) return f <= 2 ? 'about_to_sleep' : f === 3 ? 'need_attention' : 'loyal';
  if (f >= 4) return r === 5 ? 'champions' : 'loyal';
  if (f >= 2) return 'potential_loyalist';
  return r === 5 ? 'new_customer' : 'promising';
}

export function rfmOf(
  p: Purchases,
  now: number,
  config: RfmConfig,
  bp?: RfmBreakpoints | null,
): Rfm | null {
  if (p.n === 0 || p.last === null) return null;
  const r = scoreAbove(p.last, bp ? bp.lastPurchase : recencyTimes(config.recencyDays, now));
  const f = scoreAbove(p.n, bp ? bp.frequency : config.frequency);
  const m = scoreAbove(p.total, bp ? bp.monetary : config.monetary);
  return { r, f, m, label: rfmLabel(r, f) };
}
