/**
 * Campaign touches: which events came from a campaign or named a discount, kept in the profile for
 * the goals' features (goals/features.ts) so that a model is fed at read time exactly what it was
 * trained on. Pure.
 */
import { DAY, type EngineConfig } from './config.ts';
import { type EngineEvent, type Touch, TOUCH_CAMPAIGN, TOUCH_DISCOUNT } from './profile.ts';

/** A `utm_*` value that names an offer. */
const DISCOUNT = /discount|coupon|promo|sale|voucher|offer/i;
/** At most this many touches per profile (the oldest go first), whatever the traffic. */
export const TOUCH_CAP = 50;

/** The event's touch kind (0: none). */
export function touchKind(e: Pick<EngineEvent, 'props' | 'utm'>): number {
  let kind = 0;
  const d = e.props?.discount;
  if (d !== undefined && d !== null && d !== false) kind |= TOUCH_DISCOUNT;
  if (e.utm)
    for (const v of Object.values(e.utm)) {
      if (v === undefined) continue;
      kind |= TOUCH_CAMPAIGN;
      if (DISCOUNT.test(v)) kind |= TOUCH_DISCOUNT;
    }
  return kind;
}

/**
 * `touches` with `touch` inserted in time order, then trimmed as the window log is: those at or
 * before `newest − windowDays` (`newest`: the profile's latest event) and the oldest past the cap.
 */
export function addTouch(
  touches: readonly Touch[] | undefined,
  touch: Touch | null,
  newest: number,
  config: EngineConfig,
): Touch[] | undefined {
  let out = touches ? touches.slice() : [];
  if (touch) {
    let i = out.length;
    while (i > 0 && (out[i - 1]?.[0] ?? 0) > touch[0]) i--;
    out.splice(i, 0, touch);
  }
  const horizon = newest - config.windowDays * DAY;
  let drop = 0;
  while (drop < out.length && (out[drop]?.[0] ?? 0) <= horizon) drop++;
  drop = Math.max(drop, out.length - TOUCH_CAP);
  if (drop > 0) out = out.slice(drop);
  return out.length > 0 ? out : undefined;
}
