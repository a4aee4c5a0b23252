/**
 * A visitor's features (docs/goals.md): numbers read off its engine profile at a moment, so that
 * a model is fed at read time exactly what it was trained on. Training folds each visitor's events
 * strictly before a cut-off into a profile with the site's engine (`featuresAt`, the same
 * `applyEvent` as ingest), reading nothing after it; serving reads the live profile
 * (`featuresOf`, called by the engine's `evaluate`). Pure.
 *
 * Counts enter as log1p (a visitor with 40 views is not ten times one with 4) and, for the
 * per-category 7-day counts, also as the engine's own "hot" test (`hotEvents`), so a linear model
 * can draw the line a marketer would. Discount response is the one interaction: a discount touch
 * and hot activity in a category, the pattern email campaigns look for. Windows are the profile's
 * (`windowDays`, 30 by default, and `windowCap` entries): a 30-day count is exact within them.
 */
import {
  type Engagement,
  ENGAGEMENTS,
  type Intent,
  type Lifecycle,
  LIFECYCLES,
} from '../../shared/segment.ts';
import type { PropValue } from '../../shared/wire.ts';
import { DAY, type EngineConfig } from '../engine/config.ts';
import { applyEvent, DEFAULT_ENGINE, emptyProfile, evaluate } from '../engine/index.ts';
import { type Profile, TOUCH_CAMPAIGN, TOUCH_DISCOUNT } from '../engine/profile.ts';
import { type Goal, reachesGoal } from './goal.ts';

/** What training reads of one stored event. */
export interface FeatureEvent {
  ts: number;
  type: string;
  category: string | null;
  value: number | null;
  props: Record<string, PropValue> | null;
  utm: Record<string, string | undefined> | null;
}

/** Chosen once per training (from events before its cut-offs) and kept with the model. */
export interface Vocabulary {
  /** The site's most frequent categories: affinity and window counts per category. */
  categories: string[];
  /** Per trait named by the goal, its most frequent values (the rest: `other`). */
  traits: { name: string; values: string[] }[];
}

/** What `evaluate` has computed already and the features (and the fallback) reuse. */
export interface Stage {
  lifecycle: Lifecycle;
  engagement: Engagement;
  /** Category shares (engine/affinity.ts `shares`). */
  affinity: Record<string, number>;
  /** The heuristic's bucket: a goal's answer without a model. */
  intent: Intent;
}

/** After a discount touch, activity this soon counts as a response. */
const RESPONSE_DAYS = 7;
/** A profile with no purchase reads "days since the last purchase" as this. */
const NO_PURCHASE_DAYS = 365;

const CART_TYPES = new Set(['add_to_cart', 'begin_checkout']);

/** Names of the vector's entries, in order. */
export function featureNames(vocab: Vocabulary): string[] {
  const names = [
    'recency_days',
    'age_days',
    'events',
    'events_1d',
    'events_7d',
    'events_30d',
    'purchases',
    'monetary',
    'days_since_purchase',
    'carts_7d',
    'cart_open',
    'goal_30d',
    'email_clicks_30d',
    'campaign_touches_30d',
    'discount_touches_30d',
    'discount_response',
    ...LIFECYCLES.map((l) => `lifecycle.${l}`),
    ...ENGAGEMENTS.map((e) => `engagement.${e}`),
  ];
  for (const c of vocab.categories)
    names.push(`affinity.${c}`, `count_7d.${c}`, `hot_7d.${c}`, `discount_hot.${c}`);
  for (const t of vocab.traits)
    for (const v of [...t.values, 'other']) names.push(`trait.${t.name}.${v}`);
  return names;
}

const log1p = Math.log1p;

/**
 * The features of profile `p` at `at` (nothing in it after `at` is read: training folds only the
 * events before a cut-off). `traits` are the visitor's traits as stored now.
 */
export function featuresOf(
  p: Profile,
  at: number,
  stage: Stage,
  goal: Goal,
  vocab: Vocabulary,
  traits: Record<string, unknown> | undefined,
  config: EngineConfig,
): number[] {
  const d1 = at - DAY;
  const d7 = at - 7 * DAY;
  const d30 = at - 30 * DAY;
  const hot = at - config.hotDays * DAY;
  let events1 = 0;
  let events7 = 0;
  let events30 = 0;
  let carts7 = 0;
  let lastCart = -Infinity;
  let goal30 = 0;
  let clicks30 = 0;
  const count7 = new Map<string, number>();
  const hotCount = new Map<string, number>();
  const window = p.window;
  // "Within N days" is strictly younger than N days, as everywhere in the engine.
  for (let i = window.length - 1; i >= 0; i--) {
    const e = window[i];
    if (e === undefined || e[0] > at) continue;
    const t = e[0];
    if (t <= d30) break;
    events30++;
    if (e[1] === 'email_click') clicks30++;
    // The goal's type and category: the log keeps only the props rules read, not the goal's.
    if (e[1] === goal.event && (goal.category === undefined || e[2] === goal.category)) goal30++;
    if (t > d7) {
      events7++;
      if (t > d1) events1++;
      if (CART_TYPES.has(e[1])) carts7++;
      if (e[2] !== null) count7.set(e[2], (count7.get(e[2]) ?? 0) + 1);
    }
    if (CART_TYPES.has(e[1]) && t > lastCart) lastCart = t;
    if (t > hot && e[2] !== null) hotCount.set(e[2], (hotCount.get(e[2]) ?? 0) + 1);
  }
  let campaign = 0;
  let discounts = 0;
  let discount7 = false;
  let responded = false;
  for (const [t, kind] of p.touches ?? []) {
    if (t > at || t <= d30) continue;
    if (kind & TOUCH_CAMPAIGN) campaign++;
    if (!(kind & TOUCH_DISCOUNT)) continue;
    discounts++;
    if (t > d7) discount7 = true;
    // A response: any later event within RESPONSE_DAYS of the touch (and before `at`); the log
    // is in time order, so the walk ends at the first entry past that span.
    if (!responded)
      for (const e of window) {
        if (e[0] <= t) continue;
        if (e[0] > t + RESPONSE_DAYS * DAY) break;
        if (e[0] <= at) {
          responded = true;
          break;
        }
      }
  }
  const ago = (t: number) => Math.max(0, at - t) / DAY;
  const lastPurchase = p.purchases.last;
  const x = [
    log1p(ago(p.lastSeen)),
    log1p(ago(p.firstSeen)),
    log1p(p.count),
    log1p(events1),
    log1p(events7),
    log1p(events30),
    log1p(p.purchases.n),
    log1p(Math.max(0, p.purchases.total)),
    log1p(lastPurchase === null ? NO_PURCHASE_DAYS : ago(lastPurchase)),
    log1p(carts7),
    lastCart > d7 && (lastPurchase === null || lastCart > lastPurchase) ? 1 : 0,
    goal30 > 0 ? 1 : 0,
    log1p(clicks30),
    log1p(campaign),
    log1p(discounts),
    responded ? 1 : 0,
  ];
  for (const l of LIFECYCLES) x.push(l === stage.lifecycle ? 1 : 0);
  for (const g of ENGAGEMENTS) x.push(g === stage.engagement ? 1 : 0);
  for (const c of vocab.categories) {
    const isHot = (hotCount.get(c) ?? 0) >= config.hotEvents ? 1 : 0;
    x.push(
      Object.hasOwn(stage.affinity, c) ? (stage.affinity[c] ?? 0) : 0,
      log1p(count7.get(c) ?? 0),
      isHot,
      discount7 ? isHot : 0,
    );
  }
  for (const t of vocab.traits) {
    const v = traits?.[t.name];
    const s = v === undefined || v === null ? null : String(v);
    let hit = false;
    for (const value of t.values) {
      const on = s === value;
      hit ||= on;
      x.push(on ? 1 : 0);
    }
    x.push(s !== null && !hit ? 1 : 0);
  }
  return x;
}

/** The engine's view of a stored event (the props in full: the engine keeps what rules read). */
export const engineEvent = (e: FeatureEvent) => ({
  type: e.type,
  ts: e.ts,
  category: e.category,
  value: e.value,
  props: e.props,
  utm: e.utm,
});

/**
 * Folds `events` (in time order) into `profile` up to `cutoff` (exclusive), from index `from`;
 * returns the profile and the index of the first event not applied.
 */
export function foldUntil(
  profile: Profile | null,
  events: readonly FeatureEvent[],
  from: number,
  cutoff: number,
  config: EngineConfig,
): { profile: Profile | null; next: number } {
  let p = profile;
  let i = from;
  for (; i < events.length; i++) {
    const e = events[i];
    if (e === undefined || e.ts >= cutoff) break;
    p = applyEvent(p ?? emptyProfile(e.ts), engineEvent(e), config);
  }
  return { profile: p, next: i };
}

/** The stage of a profile at `at` with the site's thresholds: `evaluate`'s answer is one. */
export function stageAt(p: Profile, at: number, config: EngineConfig): Stage {
  return evaluate(p, { site: '', visitor: '', known: false }, { ...config, goals: [] }, at);
}

/**
 * The features of one visitor at `cutoff`, from `events` (any order, any times: those at or after
 * the cut-off are not read), or null when the visitor had no event before it (not yet a visitor:
 * no example). The training's path in one call, for tests and single reads.
 */
export function featuresAt(
  events: readonly FeatureEvent[],
  cutoff: number,
  goal: Goal,
  vocab: Vocabulary,
  traits: Record<string, unknown> | undefined,
  config: EngineConfig = DEFAULT_ENGINE,
): number[] | null {
  const sorted = events.filter((e) => e.ts < cutoff).sort((a, b) => a.ts - b.ts);
  const { profile } = foldUntil(null, sorted, 0, cutoff, config);
  if (profile === null) return null;
  return featuresOf(profile, cutoff, stageAt(profile, cutoff, config), goal, vocab, traits, config);
}

/** Whether the goal was reached in `[cutoff, cutoff + horizonMs)`: the example's label. */
export function labelAt(
  events: readonly FeatureEvent[],
  cutoff: number,
  horizonMs: number,
  goal: Goal,
): boolean {
  return events.some((e) => e.ts >= cutoff && e.ts < cutoff + horizonMs && reachesGoal(e, goal));
}
