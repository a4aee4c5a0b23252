/**
 * A visitor's profile: the small aggregate the engine keeps up to date on every event,
 * so reading a segment never touches the event history.
 *
 * Size bound, whatever the traffic: `windowCap` window entries (each at most a few hundred
 * bytes: ids, type and category are length-limited on the wire, props are only the keys some
 * rule reads), `maxCategories` scores, and a fixed purchase summary.
 */
import type { PropValue, Utm } from '../../shared/wire.ts';

/** A category's exponentially decayed score `s`, valid at time `t` (epoch ms). */
export interface Score {
  s: number;
  t: number;
}

/**
 * One entry of the sliding-window log: time, event type, category (or null), event id (or
 * null), value (purchases and carts) and the props some rule reads. The trailing optional
 * parts are left off when empty, so a plain page view costs four fields.
 */
export type WindowEntry = [
  t: number,
  type: string,
  category: string | null,
  id?: string | null,
  value?: number | null,
  props?: Record<string, PropValue>,
];

/**
 * A campaign touch in the last `windowDays`, for the goals' features (goals/features.ts): its time
 * and kind, `TOUCH_CAMPAIGN` (the event carried `utm_*`) and/or `TOUCH_DISCOUNT` (it named a
 * discount: a `utm_*` value such as `spring-sale`, or a `discount` prop).
 */
export type Touch = [t: number, kind: number];
export const TOUCH_CAMPAIGN = 1;
export const TOUCH_DISCOUNT = 2;

/** Purchases, all time: what lifecycle, cooldown and RFM read. */
export interface Purchases {
  n: number;
  /** Sum of the purchase values, in the site's currency. */
  total: number;
  /** Times of the first and latest purchase; null before any. */
  first: number | null;
  last: number | null;
  /** Value of the latest purchase. */
  lastValue: number | null;
  /** Time of the latest high-end purchase (value ≥ `highEndValue` when it was applied). */
  highEndAt: number | null;
}

export interface Profile {
  /** Earliest and latest event time seen. */
  firstSeen: number;
  lastSeen: number;
  /** Events applied, all time. */
  count: number;
  /** Category → decayed affinity score, at most `maxCategories`. */
  scores: Record<string, Score>;
  /** Recent events, oldest first, bounded by `windowDays` and `windowCap`: exact window counts at read time. */
  window: WindowEntry[];
  purchases: Purchases;
  /** Campaign touches, oldest first, bounded as the window log is; absent before the first. */
  touches?: Touch[];
}

/** The engine's view of one event (from the browser or a backend). */
export interface EngineEvent {
  type: string;
  ts: number;
  /** Kept in the window log so a merge can tell an event present in both profiles. */
  id?: string | null;
  category?: string | null;
  value?: number | null;
  props?: Record<string, PropValue> | null;
  /** `utm_*` parameters of the arrival (read for campaign touches only, not kept). */
  utm?: Utm | null;
}

export const NO_PURCHASES: Purchases = {
  n: 0,
  total: 0,
  first: null,
  last: null,
  lastValue: null,
  highEndAt: null,
};

export function emptyProfile(now: number): Profile {
  return {
    firstSeen: now,
    lastSeen: now,
    count: 0,
    scores: {},
    window: [],
    purchases: { ...NO_PURCHASES },
  };
}

/** A profile stored by an older version lacks the later fields: fill them in. */
export function upgradeProfile(p: Profile): Profile {
  return p.purchases ? p : { ...p, purchases: { ...NO_PURCHASES } };
}
