/**
 * The browser wire format of `POST /v1/collect`: a `text/plain` body (no CORS preflight) holding a
 * batch as JSON, in one of two forms. The long form (`CollectBatch`) is the contract for any sender.
 * The compact form (`CompactBatch`), which the snippet sends because every byte of its code ships to
 * every visitor, has one-letter keys; the collector turns it into the long form before validating
 * it (collector/ingest/wire-compact.ts), so both forms meet the same rules.
 */
import type { Navigation } from './events.ts';
import type { BrowserSegment, Segment } from './segment.ts';

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
  /**
   * Session id. The snippet sends none: when absent the collector assigns it at ingest, a new one
   * after 30 minutes idle (collector/storage/sqlite/sessions.ts).
   */
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
  /** To a browser (every answer of this endpoint), a `BrowserSegment`: with the page facts. */
  segment: Segment | BrowserSegment | null;
}

/** Every 4xx/5xx body: a machine-readable code and a human sentence. */
export interface ApiError {
  error: string;
  message: string;
}

/**
 * One event in the compact form. Each key stands for a long-form field; the collector fills in
 * what the snippet leaves to it (see `CompactBatch`).
 */
export interface CompactEvent {
  /** `id` */
  i: string;
  /**
   * `type`. The snippet leaves it out of the events it makes itself, which their own fields tell
   * apart: with `n`, a `page_view`; with `h`, a `click`.
   */
  y?: string;
  /** `ts` */
  t: number;
  /** `session`: the snippet sends none (the collector assigns it). */
  s?: string;
  /** `url` */
  u?: string;
  /** `ref` */
  r?: string;
  /** `nav` */
  n?: Navigation;
  /**
   * `target`: an HTML link's resolved `href`, or an SVG link's `href` (or `xlink:href`) attribute
   * as written. The collector resolves it against `u` and sets `outbound` from the two origins.
   */
  h?: string;
  /** `props`, with `value`, `currency` and `category` among them: the collector moves those to their fields. */
  p?: Record<string, PropValue | undefined>;
}

/**
 * The compact body of `POST /v1/collect`, told from the long form by `e` (and no `events`).
 * Besides the key names it differs in what the collector does for the sender: an absent field may
 * also be written null, `''`, `false`, `0` or `{}` (props), and URLs (`u`, `r`, `h`) longer than
 * `LIMITS.urlLength` are cut instead of refused.
 */
export interface CompactBatch {
  /** `site` */
  s: string;
  /** `visitor` */
  v: string;
  /** `events` */
  e: CompactEvent[];
  /** `token` */
  k?: string;
  /** `webdriver` */
  w?: boolean;
  /** `dropped` */
  d?: number;
}
