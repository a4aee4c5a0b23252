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
 * Under `serve --workers N` each worker has its own feed, linked through the cluster's primary
 * (collector/live/cluster-relay.ts): each worker tells the primary which sites its watchers
 * watch, the primary tells each worker what the others watch (`setRemote`), and an entry some
 * other worker wants goes to it through the primary (`relay`, then `deliver` there). Collectors on
 * separate hosts share nothing: a watcher sees its own process's (or cluster's) arrivals.
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
  /** Its session was signed out in this process (`endSession`): the stream ends. */
  readonly ended: boolean;
  close(): void;
}

export type SubscribeRefusal = 'too_many_watchers' | 'too_many_for_session';

interface Watcher {
  scope: LiveScope;
  buffer: LiveEntry[];
  dropped: number;
  wake: () => void;
  ended: boolean;
}

/** The sites a process's watchers watch (watchers per site), and how many watch every site. */
export interface LiveInterest {
  sites: Record<string, number>;
  everySite: number;
}

/** How a feed reaches the other workers of a cluster. */
export interface LiveLink {
  /** Sends entries the other workers want. */
  relay(entries: LiveEntry[]): void;
  /** Told whenever this process's watchers change. */
  interest(now: LiveInterest): void;
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
  /** What the other workers of a cluster watch (from the primary). */
  #remote: LiveInterest = { sites: {}, everySite: 0 };
  #remoteAny = false;
  #link: LiveLink | undefined;
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
    if (this.#watchers.size === 0 && !this.#remoteAny) return false;
    return this.#wantsHere(site) || this.#wantsElsewhere(site);
  }

  #wantsHere(site: string | null): boolean {
    if (this.#watchers.size === 0) return false;
    return site === null ? this.#everySite > 0 : (this.#bySite.get(site) ?? 0) > 0;
  }

  #wantsElsewhere(site: string | null): boolean {
    if (!this.#remoteAny) return false;
    return site === null ? this.#remote.everySite > 0 : (this.#remote.sites[site] ?? 0) > 0;
  }

  /** Links this feed to the other workers of a cluster (cluster-relay.ts). */
  connect(link: LiveLink): void {
    this.#link = link;
    link.interest(this.interest());
  }

  /** What the other workers watch, as the primary last said. */
  setRemote(remote: LiveInterest): void {
    this.#remote = remote;
    this.#remoteAny = remote.everySite > 0 || Object.keys(remote.sites).length > 0;
  }

  /** What this process's watchers watch. */
  interest(): LiveInterest {
    return { sites: Object.fromEntries(this.#bySite), everySite: this.#everySite };
  }

  /**
   * Hands entries (built only when `wants` said yes) to the watchers whose scope covers them, and
   * those another worker wants to the cluster's primary.
   */
  publish(entries: Omit<LiveEntry, 'id'>[]): void {
    const delivered = this.deliver(entries);
    if (this.#link && this.#remoteAny) {
      const away = delivered.filter((e) => this.#wantsElsewhere(e.site));
      if (away.length > 0) this.#link.relay(away);
    }
  }

  /** Entries for this process's watchers only (the ones another worker relayed here, too). */
  deliver(entries: Omit<LiveEntry, 'id'>[]): LiveEntry[] {
    const out: LiveEntry[] = [];
    for (const e of entries) {
      const entry: LiveEntry = { ...e, id: this.#next++ };
      out.push(entry);
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
    return out;
  }

  /** Ends the watchers of a session signed out in this process: each is woken and sees `ended`. */
  endSession(session: string): void {
    for (const w of this.#watchers)
      if (w.scope.session === session) {
        w.ended = true;
        w.wake();
      }
  }

  /** A new watcher, or why not (the process's or the session's cap reached). */
  subscribe(scope: LiveScope, wake: () => void): LiveSubscription | SubscribeRefusal {
    if (this.#watchers.size >= this.#limits.subscribers) return 'too_many_watchers';
    let ofSession = 0;
    for (const w of this.#watchers) if (w.scope.session === scope.session) ofSession++;
    if (ofSession >= this.#limits.perSession) return 'too_many_for_session';
    const w: Watcher = { scope, buffer: [], dropped: 0, wake, ended: false };
    this.#watchers.add(w);
    for (const s of scope.sites) this.#bySite.set(s, (this.#bySite.get(s) ?? 0) + 1);
    if (scope.everySite) this.#everySite++;
    this.#link?.interest(this.interest());
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
      get ended() {
        return w.ended;
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
        this.#link?.interest(this.interest());
      },
    };
  }
}
