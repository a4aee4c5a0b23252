/**
 * A visitor's features at a cut-off (docs/goals.md): numbers computed from its events strictly
 * before the cut-off, and nothing else, so that a model trained on past cut-offs learns only
 * what could have been known then. Pure: events, cut-off and vocabulary in, a vector out.
 *
 * Counts enter as log1p (a visitor with 40 views is not ten times one with 4) and, for the
 * per-category 7-day counts, also as the engine's own "hot" threshold (≥ 3, `hotEvents`), so a
 * linear model can draw the line a marketer would. Discount response is the one interaction:
 * a discount touch followed by hot activity in a category, the pattern email campaigns look for.
 */
import type { PropValue } from '../../shared/wire.ts';
import { DAY } from '../engine/config.ts';
import { type Goal, reachesGoal } from './goal.ts';

/** What a feature reads of one event. */
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

/** The engine's defaults: the hot test, the lifecycle thresholds, affinity's half-life. */
const HOT_EVENTS = 3;
const HALF_LIFE_DAYS = 14;
const NEWBIE_DAYS = 30;
const AT_RISK_DAYS = 60;
const LAPSED_DAYS = 180;
/** After a discount touch, activity this soon counts as a response. */
const RESPONSE_DAYS = 7;

const LIFECYCLES = ['newbie', 'prospect', 'new_customer', 'loyalist', 'at_risk', 'lapsed'];
const ENGAGEMENTS = ['hot', 'active', 'warm', 'cold'];
const CART_TYPES = new Set(['add_to_cart', 'begin_checkout']);
const DISCOUNT = /discount|coupon|promo|sale|voucher|offer/i;

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
    'goal_reached_before',
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

/** Whether an event is a discount touch: a campaign or email naming a discount, or a `discount` prop. */
export function isDiscountTouch(e: FeatureEvent): boolean {
  if (e.props?.discount !== undefined && e.props.discount !== false && e.props.discount !== null)
    return true;
  if (e.utm)
    for (const v of Object.values(e.utm)) if (v !== undefined && DISCOUNT.test(v)) return true;
  return false;
}

const log1p = Math.log1p;

/**
 * The features of one visitor at `cutoff`, from `events` (any order, any times: those at or after
 * the cut-off are not read), or null when the visitor had no event before it (not yet a visitor:
 * no example). `traits` are the visitor's traits as stored now (goals say which to use).
 */
export function featuresAt(
  events: readonly FeatureEvent[],
  cutoff: number,
  goal: Goal,
  vocab: Vocabulary,
  traits: Record<string, unknown> | undefined,
): number[] | null {
  const past = events.filter((e) => e.ts < cutoff).sort((a, b) => a.ts - b.ts);
  const first = past[0];
  const last = past[past.length - 1];
  if (first === undefined || last === undefined) return null;
  const ago = (t: number) => (cutoff - t) / DAY;
  const within = (e: FeatureEvent, days: number) => ago(e.ts) <= days;
  const rate = Math.LN2 / HALF_LIFE_DAYS;

  let events1 = 0;
  let events7 = 0;
  let events30 = 0;
  let purchases = 0;
  let monetary = 0;
  let lastPurchase: number | null = null;
  let carts7 = 0;
  let lastCart: number | null = null;
  let goalBefore = 0;
  let emailClicks = 0;
  let campaign = 0;
  let discounts = 0;
  let lastDiscount: number | null = null;
  let discount7 = false;
  let responded = false;
  const score = new Map<string, number>();
  const count7 = new Map<string, number>();
  for (const e of past) {
    const d = ago(e.ts);
    if (d <= 1) events1++;
    if (d <= 7) events7++;
    if (d <= 30) events30++;
    if (e.type === 'purchase') {
      purchases++;
      monetary += e.value ?? 0;
      lastPurchase = e.ts;
    }
    if (CART_TYPES.has(e.type)) {
      lastCart = e.ts;
      if (d <= 7) carts7++;
    }
    if (reachesGoal(e, goal)) goalBefore++;
    if (d <= 30 && e.type === 'email_click') emailClicks++;
    if (d <= 30 && e.utm !== null && Object.keys(e.utm).length > 0) campaign++;
    if (isDiscountTouch(e)) {
      if (d <= 30) discounts++;
      if (d <= 7) discount7 = true;
      lastDiscount = e.ts;
    } else if (lastDiscount !== null && (e.ts - lastDiscount) / DAY <= RESPONSE_DAYS) {
      responded = true;
    }
    if (e.category !== null) {
      score.set(e.category, (score.get(e.category) ?? 0) + Math.exp(-rate * d));
      if (within(e, 7)) count7.set(e.category, (count7.get(e.category) ?? 0) + 1);
    }
  }

  const idle = ago(last.ts);
  let lifecycle: string;
  if (purchases === 0) lifecycle = ago(first.ts) < NEWBIE_DAYS ? 'newbie' : 'prospect';
  else if (idle >= LAPSED_DAYS) lifecycle = 'lapsed';
  else if (idle >= AT_RISK_DAYS) lifecycle = 'at_risk';
  else lifecycle = purchases >= 2 ? 'loyalist' : 'new_customer';
  let topCount = 0;
  for (const n of count7.values()) topCount = Math.max(topCount, n);
  const engagement =
    topCount >= HOT_EVENTS ? 'hot' : idle < 7 ? 'active' : idle < 30 ? 'warm' : 'cold';
  let total = 0;
  for (const s of score.values()) total += s;

  const x = [
    log1p(idle),
    log1p(ago(first.ts)),
    log1p(past.length),
    log1p(events1),
    log1p(events7),
    log1p(events30),
    log1p(purchases),
    log1p(Math.max(0, monetary)),
    lastPurchase === null ? log1p(365) : log1p(ago(lastPurchase)),
    log1p(carts7),
    lastCart !== null && (lastPurchase === null || lastCart > lastPurchase) && ago(lastCart) <= 7
      ? 1
      : 0,
    goalBefore > 0 ? 1 : 0,
    log1p(emailClicks),
    log1p(campaign),
    log1p(discounts),
    responded ? 1 : 0,
    ...LIFECYCLES.map((l) => (l === lifecycle ? 1 : 0)),
    ...ENGAGEMENTS.map((g) => (g === engagement ? 1 : 0)),
  ];
  for (const c of vocab.categories) {
    const n = count7.get(c) ?? 0;
    const hot = n >= HOT_EVENTS ? 1 : 0;
    x.push(total > 0 ? (score.get(c) ?? 0) / total : 0, log1p(n), hot, discount7 ? hot : 0);
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

/** Whether the goal was reached in `[cutoff, cutoff + horizonMs)`: the example's label. */
export function labelAt(
  events: readonly FeatureEvent[],
  cutoff: number,
  horizonMs: number,
  goal: Goal,
): boolean {
  return events.some((e) => e.ts >= cutoff && e.ts < cutoff + horizonMs && reachesGoal(e, goal));
}
