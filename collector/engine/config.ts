/**
 * The segment engine's thresholds. Every one is per-site config (`segment` in the site
 * config file) with the documented default below.
 */
export interface EngineConfig {
  /** Category affinity half-life: a score halves after this many days without activity. */
  halfLifeDays: number;
  /** Affinity weight per event type; types not listed weigh `defaultWeight`. */
  weights: Record<string, number>;
  defaultWeight: number;
  /** A category is dominant when its share of the decayed scores is at least this. */
  dominantShare: number;
  /** `hot`: at least `hotEvents` events in the top category within `hotDays`. */
  hotEvents: number;
  hotDays: number;
  /** `active`: seen within this many days; `warm`: within `warmDays`; else `cold`. */
  activeDays: number;
  warmDays: number;
  /** `newbie` while first seen at most this many days ago (and no purchase); then `prospect`. */
  newbieDays: number;
  /** Sliding-window log: events kept for at most this many days (≥ every window a rule uses)… */
  windowDays: number;
  /** …and at most this many entries per profile, oldest dropped first. */
  windowCap: number;
}

const DAY = 86_400_000;
export { DAY };

export const DEFAULT_ENGINE: EngineConfig = {
  halfLifeDays: 14,
  weights: {
    page_view: 1,
    screen_view: 1,
    click: 2,
    email_click: 2,
    add_to_cart: 5,
    begin_checkout: 6,
    purchase: 10,
  },
  defaultWeight: 1,
  dominantShare: 0.5,
  hotEvents: 3,
  hotDays: 7,
  activeDays: 7,
  warmDays: 30,
  newbieDays: 30,
  windowDays: 30,
  windowCap: 200,
};
