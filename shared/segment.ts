/** The `Segment` shape of the public contract (DESIGN.md, "Public contract"). */

export type Lifecycle = 'newbie' | 'prospect' | 'new_customer' | 'loyalist' | 'at_risk' | 'lapsed';
export type Engagement = 'hot' | 'active' | 'warm' | 'cold';
export type Intent = 'most_likely' | 'moderately_likely' | 'least_likely';

/** Each dimension's values in their natural order (onboarding to lapsed, hottest first, likeliest first). */
export const LIFECYCLES: readonly Lifecycle[] = [
  'newbie',
  'prospect',
  'new_customer',
  'loyalist',
  'at_risk',
  'lapsed',
];
export const ENGAGEMENTS: readonly Engagement[] = ['hot', 'active', 'warm', 'cold'];
export const INTENTS: readonly Intent[] = ['most_likely', 'moderately_likely', 'least_likely'];
export type RfmLabel =
  | 'champions'
  | 'loyal'
  | 'potential_loyalist'
  | 'new_customer'
  | 'promising'
  | 'need_attention'
  | 'about_to_sleep'
  | 'at_risk'
  | 'cannot_lose'
  | 'hibernating';

export interface Rfm {
  r: number;
  f: number;
  m: number;
  label: RfmLabel;
}

/**
 * A goal's probability for the visitor (docs/goals.md): `p` calibrated by the site's own history
 * and its bucket, or with `source: "intent"` (no model to trust yet) the intent heuristic's bucket
 * and `p` null.
 */
export interface GoalScore {
  p: number | null;
  bucket: Intent;
  source: 'model' | 'intent';
}

export interface Segment {
  site: string;
  visitor: string;
  /** The visitor is linked to a known contact. */
  known: boolean;
  /** The microsegment key `lifecycle:category:engagement`, e.g. `newbie:cameras:hot`. */
  segment: string;
  lifecycle: Lifecycle;
  /** Dominant category (share ≥ 0.5), `mixed`, or `null` with no categorized activity. */
  category: string | null;
  engagement: Engagement;
  /** Share of each category's decayed score, rounded to 2 decimals. */
  affinity: Record<string, number>;
  /** A recent high-end purchase: keep in touch, don't push another purchase. */
  cooldown: boolean;
  rfm: Rfm | null;
  intent: Intent;
  /** Names of the custom segments the visitor is in. */
  segments: string[];
  /** When the profile last changed, epoch milliseconds. */
  updated: number;
  /** Per goal of the site (absent when it has none; a browser sees only public goals). */
  goals?: Record<string, GoalScore>;
}

/** The key's middle part when there is no categorized activity. */
export const NO_CATEGORY = 'none';
export const MIXED = 'mixed';

export function segmentKey(
  lifecycle: Lifecycle,
  category: string | null,
  engagement: Engagement,
): string {
  return `${lifecycle}:${category ?? NO_CATEGORY}:${engagement}`;
}

/**
 * The parts of a stored key (category null for NO_CATEGORY). A category may itself hold a colon,
 * so the key is split at its first and last colon; a malformed key keeps what it has.
 */
export function parseSegmentKey(key: string): {
  lifecycle: string;
  category: string | null;
  engagement: string;
} {
  const first = key.indexOf(':');
  const last = key.lastIndexOf(':');
  const category = first >= 0 && last > first ? key.slice(first + 1, last) : null;
  return {
    lifecycle: first >= 0 ? key.slice(0, first) : key,
    category: category === NO_CATEGORY ? null : category,
    engagement: last >= 0 ? key.slice(last + 1) : '',
  };
}

/**
 * What a page needs to apply a segment, ready-made by the collector so the snippet repeats no
 * thinking (every byte of it ships to every visitor). Browser answers (`POST /v1/collect`,
 * `GET /v1/segment`) carry it beside the public fields; the snippet keeps it with the segment, so
 * the cached segment applies at the next page's start as it is.
 */
export interface PageFacts {
  /**
   * The `<html>` attributes as entries of the element's `dataset` (`msLifecycle` is
   * `data-ms-lifecycle`), so the snippet assigns them in one step: `msLifecycle`, `msCategory`
   * (`none` without categorized activity), `msEngagement`, `msSegment`, `msIntent`, `msKnown`,
   * `msCooldown`.
   */
  dataset: Record<string, string>;
  /**
   * What the visitor is, as `data-ms-show`/`-hide` conditions: `name=value` for each attribute,
   * then per custom segment `segment=NAME` and `NAME`, then per goal a browser may see
   * `goal.NAME=BUCKET`. A change in this list is what fires
   * `microseg:segment` (a new affinity share or `updated` time alone does not).
   */
  facts: string[];
}

/** A segment as a browser receives it. */
export type BrowserSegment = Segment & PageFacts;

/** The `<html>` attributes a page gets, in this order. */
const PAGE_ATTRS = [
  'lifecycle',
  'category',
  'engagement',
  'segment',
  'intent',
  'known',
  'cooldown',
] as const;

/** The page facts of a segment (after what a browser may not see is taken out of it). */
export function pageFacts(s: Segment): PageFacts {
  const dataset: Record<string, string> = {};
  const facts: string[] = [];
  for (const k of PAGE_ATTRS) {
    const v = String(s[k] ?? NO_CATEGORY);
    dataset[`ms${k.charAt(0).toUpperCase()}${k.slice(1)}`] = v;
    facts.push(`${k}=${v}`);
  }
  for (const name of s.segments) facts.push(`segment=${name}`, name);
  if (s.goals)
    for (const [name, g] of Object.entries(s.goals)) facts.push(`goal.${name}=${g.bucket}`);
  return { dataset, facts };
}
