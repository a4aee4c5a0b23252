/**
 * The browser wire format of `POST /v1/collect`. The snippet sends a batch as a
 * `text/plain` body (no CORS preflight) holding this JSON.
 */
import type { Navigation } from './events.ts';
import type { Segment } from './segment.ts';

export type PropValue = string | number | boolean | null;
export type Props = Record<string, PropValue>;

/** One event as the browser sends it. */
export interface WireEvent {
  /** Unique per event (the snippet makes 24 random URL-safe characters), so a retried batch is never counted twice. */
  id: string;
  /** `page_view`, `click`, `purchase`, … or any custom name. */
  type: string;
  /** Client clock, epoch milliseconds. */
  ts: number;
  /** Session id; rotates after 30 minutes idle. */
  session?: string;
  /** Page URL. */
  url?: string;
  /** Referrer URL (first page view of a load). */
  ref?: string;
  category?: string;
  /** Page views: full load or SPA route change. */
  nav?: Navigation;
  /** Clicks: the link's href. */
  target?: string;
  /** Clicks: whether the link leaves the page's origin. */
  outbound?: boolean;
  /** Purchases and carts: amount in `currency`. */
  value?: number;
  currency?: string;
  props?: Props;
  /**
   * Campaign parameters. The snippet leaves this out: the collector reads `utm_*` (and `ms_cat`)
   * from a page view's `url`. A sender that knows them otherwise may set them here.
   */
  utm?: Utm;
}

/** `utm_*` parameters of an arrival URL, without the prefix. */
export interface Utm {
  source?: string;
  medium?: string;
  campaign?: string;
  term?: string;
  content?: string;
}

/** The body of `POST /v1/collect`. */
export interface CollectBatch {
  site: string;
  visitor: string;
  events: WireEvent[];
  /** Set when the page runs under automation (`navigator.webdriver`). */
  webdriver?: boolean;
  /** A signed identity token (`ms_t` on an email link, or `microseg.identify(token)`). */
  token?: string;
  /** Traits set from the page (a value sets, null removes); only those the site config lists as public. */
  traits?: Props;
  /** Events the snippet's bounded retry queue had to drop since the last batch it sent. */
  dropped?: number;
}

/** Why one event of a batch was refused. */
export interface RefusedEvent {
  index: number;
  id?: string;
  error: string;
  message: string;
}

/** The answer of `POST /v1/collect`: the fresh segment, so the page needs no second round trip. */
export interface CollectResponse {
  accepted: number;
  duplicates: number;
  refused: RefusedEvent[];
  /** Present when the batch carried a `token`: whether it linked the visitor to its contact. */
  identify?: { ok: true } | ({ ok: false } & ApiError);
  /** Trait names of the batch the browser may not set (not public in the site config); ignored. */
  refusedTraits?: string[];
  /**
   * Present when the batch came from a bot (`user_agent`) or automation (`automation`) and
   * the site does not allow those: the events are stored, flagged, and kept out of segments.
   */
  bot?: 'user_agent' | 'automation';
  /**
   * Present when the request carried Do-Not-Track (`dnt`) or Global Privacy Control (`gpc`) and
   * the site config does not state consent: nothing was stored.
   */
  privacy?: 'dnt' | 'gpc';
  segment: Segment | null;
}

/** Every 4xx/5xx body: a machine-readable code and a human sentence. */
export interface ApiError {
  error: string;
  message: string;
}
