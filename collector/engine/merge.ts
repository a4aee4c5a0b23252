/**
 * Merging two profiles of one person (an anonymous visitor identified as a known contact,
 * a second device). Pure, like the rest of the engine.
 *
 * The rule:
 * - affinity: each category's two scores decayed to the later of their anchor times and
 *   summed — the same number applying both event streams to one profile would give;
 * - window logs: unioned in time order, then trimmed to `windowDays`/`windowCap` again;
 * - purchases: counts and totals summed, first/last min/max, last value of the later one;
 * - firstSeen/lastSeen min/max, event counts summed;
 * - nothing counted twice: an event present in both windows (same event id) is kept once,
 *   and its contribution to the count, its category's score and the purchase totals is
 *   taken back out. Events already gone from a window (older than `windowDays`, or pushed
 *   out by the cap) cannot be recognized, so the caller must merge a given source profile
 *   only once (delete it, or mark it merged, in the same transaction).
 */
import { addWeight, boundScores, decayRate, decayTo, setOwn } from './affinity.ts';
import { trimWindow, weightOf } from './apply.ts';
import { addTouch } from './touches.ts';
import type { EngineConfig } from './config.ts';
import {
  upgradeProfile,
  type Profile,
  type Purchases,
  type Score,
  type WindowEntry,
} from './profile.ts';
import { must } from '../../shared/must.ts';

function mergeScores(
  a: Record<string, Score>,
  b: Record<string, Score>,
  lambda: number,
): Record<string, Score> {
  const out: Record<string, Score> = {};
  for (const [cat, s] of Object.entries(a)) setOwn(out, cat, s);
  for (const [cat, s] of Object.entries(b)) {
    const mine = Object.hasOwn(out, cat) ? out[cat] : undefined;
    setOwn(
      out,
      cat,
      mine
        ? addWeight(mine, decayTo(s, Math.max(s.t, mine.t), lambda), Math.max(s.t, mine.t), lambda)
        : s,
    );
  }
  return out;
}

function mergePurchases(a: Purchases, b: Purchases): Purchases {
  const later = (b.last ?? -Infinity) > (a.last ?? -Infinity) ? b : a;
  const min = (x: number | null, y: number | null) =>
    x === null ? y : y === null ? x : Math.min(x, y);
  const max = (x: number | null, y: number | null) =>
    x === null ? y : y === null ? x : Math.max(x, y);
  return {
    n: a.n + b.n,
    total: a.total + b.total,
    first: min(a.first, b.first),
    last: max(a.last, b.last),
    lastValue: later.lastValue,
    highEndAt: max(a.highEndAt, b.highEndAt),
  };
}

/** Time-ordered union; on equal times `a`'s entries come first. Returns the duplicates apart. */
function unionWindows(
  a: WindowEntry[],
  b: WindowEntry[],
): { window: WindowEntry[]; duplicates: WindowEntry[] } {
  const ids = new Set<string>();
  for (const e of a) if (e[3]) ids.add(e[3]);
  const window: WindowEntry[] = [];
  const duplicates: WindowEntry[] = [];
  let i = 0;
  let j = 0;
  for (;;) {
    const x = a[i];
    const y = b[j];
    if (x === undefined && y === undefined) break;
    if (y === undefined || (x !== undefined && x[0] <= y[0])) {
      window.push(must(x, 'window entry'));
      i++;
      continue;
    }
    j++;
    const e = y;
    if (e[3] && ids.has(e[3])) duplicates.push(e);
    else window.push(e);
  }
  return { window, duplicates };
}

export function mergeProfiles(first: Profile, second: Profile, config: EngineConfig): Profile {
  const a = upgradeProfile(first);
  const b = upgradeProfile(second);
  // An empty profile carries placeholder times, not observations.
  if (b.count === 0) return a;
  if (a.count === 0) return b;
  const lambda = decayRate(config);
  const scores = mergeScores(a.scores, b.scores, lambda);
  const purchases = mergePurchases(a.purchases, b.purchases);
  const { window, duplicates } = unionWindows(a.window, b.window);
  let count = a.count + b.count;
  for (const [t, type, category, , value] of duplicates) {
    count--;
    const score = category && Object.hasOwn(scores, category) ? scores[category] : undefined;
    if (category && score) {
      const s = score.s - weightOf(type, config) * Math.exp(-lambda * (score.t - t));
      // Float residue of a score made only of duplicates.
      if (s > 1e-9) setOwn(scores, category, { s, t: score.t });
      else delete scores[category];
    }
    if (type === 'purchase') {
      purchases.n--;
      purchases.total -= value ?? 0;
    }
  }
  const lastSeen = Math.max(a.lastSeen, b.lastSeen);
  const merged: Profile = {
    firstSeen: Math.min(a.firstSeen, b.firstSeen),
    lastSeen,
    count,
    scores: boundScores(scores, config.maxCategories, lastSeen, lambda),
    window: trimWindow(window, config),
    purchases,
  };
  // Touches carry no event id: one seen by both profiles (a duplicate event) counts twice.
  let touches = a.touches;
  for (const t of b.touches ?? []) touches = addTouch(touches, t, lastSeen, config);
  if (touches && b.touches === undefined) touches = addTouch(touches, null, lastSeen, config);
  if (touches) merged.touches = touches;
  return merged;
}
