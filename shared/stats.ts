/**
 * The answers of the dashboard's JSON APIs, `GET /v1/stats` and `GET /v1/visitors/:id`, for a
 * client (the dashboard, or a team's own views) to type them. Times are epoch ms; buckets and days
 * are UTC.
 */
import type { Engagement, Lifecycle, Rfm, RfmLabel, Segment } from './segment.ts';
import type { Props, Utm } from './wire.ts';

export type StatsBucket = 'day' | 'hour';

/** One bucket of activity: events not flagged as bots, by event time. */
export interface ActivityBucket {
  /** Start of the bucket. */
  start: number;
  /** Distinct visitor ids with an event in the bucket. */
  visitors: number;
  /** Distinct known contacts among them. */
  contacts: number;
  events: number;
}

/** A segment's members per day of the range (null: no snapshot of that day). */
export interface SegmentSeries {
  name: string;
  kind: 'key' | 'custom';
  members: (number | null)[];
}

/** A move between lifecycle stages in one bucket (`from` null: a new visitor's first stage). */
export interface LifecycleFlow {
  start: number;
  from: Lifecycle | null;
  to: Lifecycle;
  count: number;
}

/** One cell of the RFM grid: recency row `r`, frequency column `f`. */
export interface RfmGridCell {
  r: number;
  f: number;
  label: RfmLabel;
  customers: number;
}

export interface StatsResponse {
  site: string;
  /** The range, aligned to whole buckets: `from` inclusive, `to` exclusive. */
  from: number;
  to: number;
  bucket: StatsBucket;
  /** Every bucket of the range, oldest first (zeros where nothing happened). */
  activity: ActivityBucket[];
  /**
   * Segment sizes per UTC day of the range: `days[i]` is the start of the day whose members are
   * `members[i]` of each series. Past days are the daily snapshots (their end-of-day counts);
   * today is counted now.
   */
  segments: { days: number[]; series: SegmentSeries[] };
  lifecycle: {
    /** Profiles per stage now. */
    now: Record<Lifecycle, number>;
    /** Profiles per stage per day of `segments.days` (null: no snapshot). */
    days: (Record<Lifecycle, number> | null)[];
    /** Moves between stages per bucket, from the segment history: the flow. */
    flow: LifecycleFlow[];
  };
  /** Profiles per dominant category now (`mixed`: none dominates; `none`: no categorized activity). */
  categories: { category: string; profiles: number }[];
  /** Profiles per engagement level now. */
  engagement: Record<Engagement, number>;
  rfm: {
    /** `quintiles`: the site's breakpoints (enough customers); `fixed`: the config's thresholds. */
    scoring: 'quintiles' | 'fixed';
    customers: number;
    /** All 25 cells, R 5..1 then F 1..5, with the standard grid's label. */
    cells: RfmGridCell[];
  };
}

/** An event of a visitor's timeline. */
export interface VisitorEvent {
  id: string;
  type: string;
  ts: number;
  /** The browser that sent it (a contact's timeline spans its devices). */
  visitor: string;
  session: string | null;
  url: string | null;
  ref: string | null;
  category: string | null;
  value: number | null;
  currency: string | null;
  utm: Utm | null;
  props: Props | null;
  bot: boolean;
}

/** One entry of a profile's segment history: a key change, or a custom segment entered or exited. */
export interface VisitorChange {
  seq: number;
  at: number;
  kind: 'key' | 'entered' | 'exited';
  name: string;
  previous: string | null;
  event: string | null;
}

/** Events of the profile's window log within `days` days, as the rules count them now. */
export interface WindowCounts {
  days: number;
  events: number;
  byType: Record<string, number>;
  byCategory: Record<string, number>;
}

/** A campaign touch: the utm of the first or latest event that carried one. */
export interface CampaignTouch extends Utm {
  ts: number;
}

export interface VisitorResponse {
  site: string;
  visitor: string;
  /** The known contact the visitor is linked to (in force), or null. */
  contact: string | null;
  /** The profile read: the visitor's id, or its contact's `c:<contact>`. */
  profile: string;
  /** The segment now, as `GET /v1/segment` evaluates it. */
  segment: Segment;
  /** Why: the inputs the segment was evaluated from. */
  why: {
    lifecycle: Lifecycle;
    engagement: Engagement;
    affinity: Record<string, number>;
    rfm: Rfm | null;
    /** The custom segments whose rules match now. */
    rules: string[];
    windows: WindowCounts[];
    firstSeen: number;
    lastSeen: number;
    /** Events applied to the profile, all time. */
    events: number;
    purchases: { count: number; total: number; first: number | null; last: number | null };
  };
  traits: Record<string, string | number | boolean>;
  campaign: { first: CampaignTouch | null; last: CampaignTouch | null };
  /** Newest first; `next` is the `before` of the following page (null: no more). */
  events: { items: VisitorEvent[]; next: string | null };
  /** Oldest first; `next` is the `after` of the following page (null: no more). */
  history: { items: VisitorChange[]; next: number | null };
}
