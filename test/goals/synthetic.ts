/**
 * Synthetic sites for the goal tests, with a planted signal or none: each visitor's events week
 * by week, the purchase of each week decided by what the visitor did the week before, so the
 * truth is known and a model can be judged against it.
 */
import type { FeatureEvent } from '../../collector/goals/features.ts';
import { rng } from '../engine/rule-gen.ts';

const DAY = 86_400_000;

// A small seeded generator (mulberry32): the same site every run.
export { rng };

export interface SyntheticSite {
  histories: Map<string, FeatureEvent[]>;
  /** The week boundaries: every visitor's data runs to `end`. */
  end: number;
}

/** One event as the features read it: no value, props or campaign unless given. */
export const ev = (
  ts: number,
  type: string,
  category: string | null,
  extra: Partial<FeatureEvent> = {},
): FeatureEvent => ({
  ts,
  type,
  category,
  value: null,
  props: null,
  utm: null,
  ...extra,
});

/**
 * `visitors` visitors over `weeks` weeks ending at `end`. Each week a visitor views 0–5 camera
 * pages and 0–4 other pages, and clicks a discount email with probability 0.3 (at the week's
 * start, before its views). With `signal`, a visitor with 3+ camera views and a discount click in
 * a week buys a camera within the next 7 days with probability 0.6, others 0.05; without, every
 * visitor buys with probability 0.1 whatever it did.
 */
export function syntheticSite(opts: {
  visitors: number;
  weeks: number;
  end: number;
  signal: boolean;
  seed: number;
}): SyntheticSite {
  const r = rng(opts.seed);
  const start = opts.end - opts.weeks * 7 * DAY;
  const histories = new Map<string, FeatureEvent[]>();
  const others = ['shoes', 'books', 'garden'];
  for (let v = 0; v < opts.visitors; v++) {
    const events: FeatureEvent[] = [];
    // Visitors arrive over the first weeks.
    const first = Math.floor(r() * 2);
    for (let w = first; w < opts.weeks; w++) {
      const week = start + w * 7 * DAY;
      // Without a signal a purchase is a coin toss each week, active or not.
      if (!opts.signal && r() < 0.1 && week + 7 * DAY < opts.end)
        events.push(ev(week + 7 * DAY + r() * 6.9 * DAY, 'purchase', 'cameras', { value: 300 }));
      // Active this week at all?
      if (r() < 0.25) continue;
      const clicked = r() < 0.3;
      if (clicked)
        events.push(
          ev(week + r() * DAY * 0.5, 'email_click', null, {
            utm: { source: 'newsletter', campaign: 'spring-discount' },
          }),
        );
      const cams = Math.floor(r() * 6);
      for (let i = 0; i < cams; i++)
        events.push(ev(week + DAY * (0.5 + r() * 6.4), 'page_view', 'cameras'));
      const other = Math.floor(r() * 5);
      for (let i = 0; i < other; i++)
        events.push(
          ev(week + DAY * (0.5 + r() * 6.4), 'page_view', others[Math.floor(r() * 3)] ?? null),
        );
      const p = cams >= 3 && clicked ? 0.6 : 0.05;
      // The purchase falls in the next week (the label window of the cut-off at this week's end).
      if (opts.signal && r() < p && week + 7 * DAY < opts.end)
        events.push(ev(week + 7 * DAY + r() * 6.9 * DAY, 'purchase', 'cameras', { value: 300 }));
    }
    if (events.length > 0) histories.set(`v${String(v).padStart(6, '0')}`, events);
  }
  return { histories, end: opts.end };
}
