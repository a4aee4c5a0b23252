/** How the dashboard writes numbers, times and names (UTC, like the stats buckets). */
import type { RfmLabel } from '../../shared/segment.ts';

const NUM = new Intl.NumberFormat('en-US');

/** A count with thousands separators; `–` for none. */
export const fmt = (n: number | null | undefined): string =>
  n === null || n === undefined ? '–' : NUM.format(n);

/** `part` of `total` as a whole percentage (`0%` of nothing). */
export const pct = (part: number, total: number): string =>
  `${total > 0 ? Math.round((part / total) * 100) : 0}%`;

/** `2026-11-27` (UTC). */
export const dayLabel = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** `2026-11-27 14:05` (UTC). */
export const timeLabel = (ms: number): string =>
  new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** A stage or level name as words: `new_customer` → `new customer`. */
export const label = (s: string): string => s.replace(/_/g, ' ');

/** The standard RFM grid's names. */
export const RFM_LABELS: Record<RfmLabel, string> = {
  champions: 'Champions',
  loyal: 'Loyal',
  potential_loyalist: 'Potential loyalist',
  new_customer: 'New customers',
  promising: 'Promising',
  need_attention: 'Need attention',
  about_to_sleep: 'About to sleep',
  at_risk: 'At risk',
  cannot_lose: "Can't lose them",
  hibernating: 'Hibernating',
};

/** A figure to `digits` decimals (an AUC, a Brier score); `–` for none. */
export const fixed = (n: number | null | undefined, digits: number): string =>
  n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits);

/** A share (0–1) as a percentage to one decimal, `9.6%` (a base rate is often under 1%); `–` for none. */
export const share = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)}%`;
