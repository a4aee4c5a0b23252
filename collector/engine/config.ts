/**
 * The segment engine's thresholds. Every one is per-site config (`segment` in the site
 * config file) with the documented default below (docs/segments.md lists them all).
 */
import type { ServedGoal } from '../goals/serve.ts';
import type { CompiledRule } from './rules.ts';

/** RFM scoring: fixed thresholds until the site has `minCustomers` customers, then quintiles. */
export interface RfmConfig {
  /** Customers (profiles with a purchase) needed before quintiles replace the fixed thresholds. */
  minCustomers: number;
  /** Days since the last purchase: ≤ [0] → R 5, ≤ [1] → 4, ≤ [2] → 3, ≤ [3] → 2, older → 1. */
  recencyDays: [number, number, number, number];
  /** Purchase count: ≤ [0] → F 1, ≤ [1] → 2, ≤ [2] → 3, ≤ [3] → 4, more → 5. */
  frequency: [number, number, number, number];
  /** Total purchase value: ≤ [0] → M 1, … more than [3] → 5. */
  monetary: [number, number, number, number];
}

export interface EngineConfig {
  /** Category affinity half-life: a score halves after this many days without activity. */
  halfLifeDays: number;
  /** Affinity weight per event type; types not listed weigh `defaultWeight`. */
  weights: Record<string, number>;
  defaultWeight: number;
  /** A category is dominant when its share of the decayed scores is at least this. */
  dominantShare: number;
  /** Most categories scored per profile; past it the weakest score is dropped (bounds the profile). */
  maxCategories: number;
  /** `hot`: at least `hotEvents` events in the top category within `hotDays`. */
  hotEvents: number;
  hotDays: number;
  /** `active`: seen within this many days; `warm`: within `warmDays`; else `cold`. */
  activeDays: number;
  warmDays: number;
  /** `newbie` while first seen less than this many days ago (and no purchase); then `prospect`. */
  newbieDays: number;
  /** A customer unseen this many days is `at_risk`; `lapsedDays`, `lapsed`. */
  atRiskDays: number;
  lapsedDays: number;
  /** A purchase of at least this value (site currency) is high-end; null: none is. */
  highEndValue: number | null;
  /** `cooldown` lasts this many days after a high-end purchase. */
  cooldownDays: number;
  /** Intent: one of `intentEvents` within `intentDays`, with no purchase since, is `most_likely`. */
  intentDays: number;
  intentEvents: string[];
  rfm: RfmConfig;
  /** Sliding-window log: events kept for this many days (≥ every window a rule uses)… */
  windowDays: number;
  /** …and at most this many entries per profile, oldest dropped first. */
  windowCap: number;
  /** Custom segments of the site, compiled from the config's `rules`. */
  rules: CompiledRule[];
  /** Prop keys the rules read: only these props are kept in the window log. */
  windowProps: string[];
  /**
   * Custom segments whose entries and exits the time-driven refresh records (history, stored
   * membership) without telling the change listeners (webhooks): runtime rules whose backfill has
   * not finished (collector/rules/backfill.ts). Empty for config-file rules.
   */
  quiet?: readonly string[] | undefined;
  /** The site's goals with their models (goals/runtime.ts): each read answers their probability. */
  goals?: readonly ServedGoal[] | undefined;
}

const DAY = 86_400_000;
export { DAY };

export const DEFAULT_RFM: RfmConfig = {
  minCustomers: 50,
  recencyDays: [14, 30, 90, 180],
  frequency: [1, 2, 3, 5],
  monetary: [50, 150, 400, 1000],
};

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
  maxCategories: 50,
  hotEvents: 3,
  hotDays: 7,
  activeDays: 7,
  warmDays: 30,
  newbieDays: 30,
  atRiskDays: 60,
  lapsedDays: 180,
  highEndValue: 1000,
  cooldownDays: 90,
  intentDays: 7,
  intentEvents: ['add_to_cart', 'begin_checkout'],
  rfm: DEFAULT_RFM,
  windowDays: 30,
  windowCap: 200,
  rules: [],
  windowProps: [],
};
