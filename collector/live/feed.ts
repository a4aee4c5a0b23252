/**
 * The live feed of ingest outcomes: what `/v1/collect`, `/v1/events` and `/r` decided about each
 * arrival (accepted, duplicate, refused and why, bot-flagged, origin not allowed, rate limited,
 * privacy signal), for the dashboard's Live page (`/dashboard/live`, server-sent events).
 *
 * In process and bounded: at most `LIVE.subscribers` watchers per process, each with a buffer of
 * `LIVE.buffer` entries (the oldest dropped and counted past it). Nobody watching costs one
 * property read: publishers ask `wants(site)` before they build an entry. A watcher sees only the
 * sites its session opens; an entry whose site is not known or not trusted (an unknown site id,
 * a bad email-link signature, a per-address 429 before the body is read) reaches only a watcher
 * whose key opens every configured site (an operator's), since no site owner can tell it is theirs.
 *
 * Under `serve --workers N` each worker has its own feed: a watcher sees the arrivals its own
 * worker handled (docs/security.md, "Live feed").
 */
import { LIVE } from '../../shared/limits.ts';

export type LiveOutcome =
  | 'accepted'
  | 'duplicate'
  | 'refused'
  | 'bot'
  | 'origin_not_allowed'
  | 'rate_limited'
  | 'privacy';

export const LIVE_OUTCOMES: readonly LiveOutcome[] = [
  'accepted',
  'duplicate',
  'refused',
  'bot',
  'origin_not_allowed',
  'rate_limited',
  'privacy',
];

/** Where an arrival came in. */
export type LiveSource = 'collect' | 'events' | 'email';

/** One outcome of one request: a batch's accepted events are one entry, its duplicates another. */
export interface LiveEntry {
  /** Per process, increasing: the client orders and de-duplicates by it. */
  id: number;
  /** Epoch ms the collector decided. */
  at: number;
  /** The site the arrival names; null when it is unknown or not trusted (operator watchers only). */
  site: string | null;
  source: LiveSource;
  /** The page's Origin header (browser arrivals), else null. */
  origin: string | null;
  outcome: LiveOutcome;
  /** Events this entry stands for. */
  count: number;
  /** The machine reason (`origin_not_allowed`, `invalid_event`, `automation`, `gpc`, …); null when accepted. */
  reason: string | null;
  /** What happened, in a sentence. */
  message: string;
  /** What to change for these events to count; null when nothing is wrong. */
  fix: string | null;
  /** Up to `LIVE.eventsPerEntry` of the events: type and category. */
  events: { type: string; category: string | null }[];
  /**
   * The stored visitor or contact profile (`c:…`) the events landed in, as the person page shows
   * it; absent for anything not stored (refusals, privacy, limits).
   */
  visitor?: string;
}

/** What a watcher may see: its session's sites, and with `everySite` the site-less entries too. */
export interface LiveScope {
  sites: ReadonlySet<string>;
  everySite: boolean;
  /** The session it belongs to: at most `LIVE.perSession` watchers each. */
  session: string;
}

export interface LiveSubscription {
  /** The entries held since the last take, oldest first, and how many were dropped meanwhile. */
  take(max?: number): { entries: LiveEntry[]; dropped: number };
  /** Entries waiting. */
  readonly pending: number;
  close(): void;
}

export type SubscribeRefusal = 'too_many_watchers' | 'too_many_for_session';

interface Watcher {
  scope: LiveScope;
  buffer: LiveEntry[];
  dropped: number;
  wake: () => void;
}

export interface LiveFeedLimits {
  subscribers: number;
  perSession: number;
  buffer: number;
}

export class LiveFeed {
  readonly #watchers = new Set<Watcher>();
  /** Watchers per site, and of site-less entries: `wants` is a map lookup. */
  readonly #bySite = new Map<string, number>();
  #everySite = 0;
  #next = 1;
  readonly #limits: LiveFeedLimits;
  /** Counters for the tests and /metrics-minded readers: entries built, entries dropped. */
  published = 0;
  dropped = 0;

  constructor(limits: Partial<LiveFeedLimits> = {}) {
    this.#limits = {
      subscribers: limits.subscribers ?? LIVE.subscribers,
      perSession: limits.perSession ?? LIVE.perSession,
      buffer: limits.buffer ?? LIVE.buffer,
    };
  }

  /** Watchers now. */
  get watchers(): number {
    return this.#watchers.size;
  }

  /**
   * Whether anyone would see an entry of `site` (null: a site-less one). Publishers call this
   * before building one, so an unwatched collector does no work for the feed.
   */
  wants(site: string | null): boolean {
    if (this.#watchers.size === 0) return false;
    return site === null ? this.#everySite > 0 : (this.#bySite.get(site) ?? 0) > 0;
  }

  /** Hands entries (built only when `wants` said yes) to the watchers whose scope covers them. */
  publish(entries: Omit<LiveEntry, 'id'>[]): void {
    for (const e of entries) {
      const entry: LiveEntry = { ...e, id: this.#next++ };
      this.published++;
      for (const w of this.#watchers) {
        if (entry.site === null ? !w.scope.everySite : !w.scope.sites.has(entry.site)) continue;
        if (w.buffer.length >= this.#limits.buffer) {
          // The oldest goes: a watcher behind wants what happens now, and is told how many it missed.
          w.buffer.shift();
          w.dropped++;
          this.dropped++;
        }
        w.buffer.push(entry);
      }
    }
    for (const w of this.#watchers) if (w.buffer.length > 0) w.wake();
  }

  /** A new watcher, or why not (the process's or the session's cap reached). */
  subscribe(scope: LiveScope, wake: () => void): LiveSubscription | SubscribeRefusal {
    if (this.#watchers.size >= this.#limits.subscribers) return 'too_many_watchers';
    let ofSession = 0;
    for (const w of this.#watchers) if (w.scope.session === scope.session) ofSession++;
    if (ofSession >= this.#limits.perSession) return 'too_many_for_session';
    const w: Watcher = { scope, buffer: [], dropped: 0, wake };
    this.#watchers.add(w);
    for (const s of scope.sites) this.#bySite.set(s, (this.#bySite.get(s) ?? 0) + 1);
    if (scope.everySite) this.#everySite++;
    let open = true;
    return {
      take: (max = Number.POSITIVE_INFINITY) => {
        const entries = w.buffer.splice(0, max);
        const dropped = w.dropped;
        w.dropped = 0;
        return { entries, dropped };
      },
      get pending() {
        return w.buffer.length;
      },
      close: () => {
        if (!open) return;
        open = false;
        this.#watchers.delete(w);
        for (const s of scope.sites) {
          const n = (this.#bySite.get(s) ?? 1) - 1;
          if (n > 0) this.#bySite.set(s, n);
          else this.#bySite.delete(s);
        }
        if (scope.everySite) this.#everySite--;
        w.buffer.length = 0;
      },
    };
  }
}
