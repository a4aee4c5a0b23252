/**
 * `microseg/client`: the collector's HTTP API for a site's server, on web-standard `fetch` only
 * (Node 20, Deno, Bun, edge workers); no dependency. docs/server.md.
 *
 * A segment read never holds a page: it waits at most `timeoutMs` (50 ms by default) and then
 * answers the last known segment or an empty one, while the request goes on in the background and
 * fills the cache for the next page. Every other call answers the collector's result or throws a
 * `MicrosegError` with the HTTP status and the collector's reason code.
 */
import { ID_PATTERN as ID } from '../shared/ids.ts';
import { LIMITS } from '../shared/limits.ts';
import { type BrowserSegment, pageFacts, type Segment, segmentKey } from '../shared/segment.ts';
import type {
  ContactSegment,
  ErasureResponse,
  LinkRequest,
  LinksResponse,
  TraitsResponse,
  TraitValue,
} from '../shared/server-api.ts';
import type { EventsResponse, ServerEvent } from '../shared/server-events.ts';
import type { ApiError } from '../shared/wire.ts';

export type { BrowserSegment, Segment } from '../shared/segment.ts';
export type {
  ContactSegment,
  ErasureResponse,
  LinkRequest,
  LinkResult,
  LinksResponse,
  TraitsResponse,
  TraitValue,
} from '../shared/server-api.ts';
export type { EventsResponse, ServerEvent } from '../shared/server-events.ts';

/**
 * A failed call. `status` is the HTTP status, 0 when no answer came (`reason` `timeout` or
 * `network`); `reason` is the collector's error code (`unauthorized`, `invalid_visitor`, …).
 */
export class MicrosegError extends Error {
  override readonly name = 'MicrosegError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    /** The answer's JSON body, when there was one (a 400 of `/v1/events` lists each refusal). */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  /** The collector's URL, e.g. `https://collector.example.com`. */
  endpoint: string;
  /** The site id of the collector's config. */
  site: string;
  /**
   * An API key of the site: needed for everything but `segment()`, whose reads it takes past the
   * collector's per-address browser limits. Never sent to a browser.
   */
  apiKey?: string;
  /** How long a segment read may wait for the collector before it falls back, ms (default 50). */
  timeoutMs?: number;
  /** How long any other call, or a segment read going on in the background, may take, ms (default 10,000). */
  requestTimeoutMs?: number;
  /** A cached segment is answered without asking the collector for this long, ms (default 5,000). */
  freshMs?: number;
  /**
   * Up to this age (ms, default 600,000: 10 minutes) an older cached segment is still answered at
   * once while a refresh goes on; older still (a visitor back after a while), the read waits for
   * the collector within `timeoutMs` and answers the cached one only when none came in time.
   */
  maxStaleMs?: number;
  /** At most this many visitors' segments are cached (default 10,000; the least recently read go first). */
  cacheSize?: number;
  /** `track()` sends a batch again this many times after a network error, 429 or 5xx (default 2). */
  retries?: number;
  /** Another `fetch` (a test's, or a platform's own). */
  fetch?: typeof fetch;
  /** Told of each failure a segment read fell back from, and of failed background refreshes. */
  onError?: (err: MicrosegError) => void;
}

/** Where a segment read's answer came from. */
export type SegmentSource = 'collector' | 'cache' | 'stale' | 'empty';

export interface SegmentRead {
  segment: BrowserSegment;
  /**
   * `collector`: asked just now; `cache`: a fresh cached answer; `stale`: an older cached answer
   * (a refresh is under way); `empty`: nothing known in time (see `error`).
   */
  source: SegmentSource;
  /** Why a read fell back (`stale` or `empty`), when it failed rather than took too long or was not asked. */
  error?: MicrosegError;
}

/** A server event; `site` defaults to the client's, `id` to a random one (a retry then counts once). */
export type TrackEvent = Omit<ServerEvent, 'site'> & { site?: string };

/** Who `forget()` erases: a browser's visitor id or a known contact (with its devices). */
export type Forget = { visitor: string } | { contact: string };

export interface Client {
  /** The site id it reads and writes. */
  readonly site: string;
  /** The visitor's segment within the time budget; never rejects (see `SegmentRead`). */
  segment(visitor: string): Promise<BrowserSegment>;
  /** `segment()` with where the answer came from. */
  readSegment(visitor: string): Promise<SegmentRead>;
  /** A known contact's segment with its traits (API key); null when the collector knows no such contact. */
  contactSegment(contact: string): Promise<ContactSegment | null>;
  /** Server events (`POST /v1/events`, API key), in batches of the collector's limit; each event is accepted or refused on its own. */
  track(events: TrackEvent | TrackEvent[]): Promise<EventsResponse>;
  /** Signed (or, with `plain`, plain) email links, one per recipient (`POST /v1/links`, API key). */
  links(links: LinkRequest[], opts?: { plain?: boolean }): Promise<LinksResponse>;
  /** Replaces a contact's traits with these (`PUT /v1/contacts/:id/traits`, API key). */
  setTraits(contact: string, traits: Record<string, TraitValue>): Promise<TraitsResponse>;
  /** Erases a visitor or a contact: profile, events, links (API key); drops it from the cache. */
  forget(who: Forget): Promise<ErasureResponse>;
}

/**
 * What the collector answers for a visitor it has never seen (a test holds the two equal), so a
 * page rendered without an answer looks as it would for a first visit.
 */
export function emptySegment(site: string, visitor: string): BrowserSegment {
  const s: Segment = {
    site,
    visitor,
    known: false,
    segment: segmentKey('newbie', null, 'cold'),
    lifecycle: 'newbie',
    category: null,
    engagement: 'cold',
    affinity: {},
    cooldown: false,
    rfm: null,
    intent: 'least_likely',
    segments: [],
    updated: 0,
  };
  return { ...s, ...pageFacts(s) };
}

interface Cached {
  segment: BrowserSegment;
  etag: string | null;
  at: number;
}

/** Resolves after `ms` with `undefined`, without keeping a Node process alive for it. */
function after(ms: number): Promise<undefined> {
  return new Promise((resolve) => {
    const t: unknown = setTimeout(resolve, ms);
    (t as { unref?: () => void }).unref?.();
  });
}

/** A refusal of the collector as a `MicrosegError`: its `{error, message}` when the body is one. */
async function refusalOf(res: Response): Promise<MicrosegError> {
  const body: unknown = await res.json().catch(() => undefined);
  const e = body as Partial<ApiError> | undefined;
  return typeof e?.error === 'string'
    ? new MicrosegError(res.status, e.error, e.message ?? e.error, body)
    : new MicrosegError(res.status, `http_${res.status}`, `the collector answered ${res.status}`);
}

/** A thrown fetch as a `MicrosegError` (a `MicrosegError` as it is). */
function failureOf(err: unknown): MicrosegError {
  if (err instanceof MicrosegError) return err;
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError'
    ? new MicrosegError(0, 'timeout', 'the collector did not answer in time')
    : new MicrosegError(0, 'network', `the collector could not be reached: ${String(err)}`);
}

export function createClient(opts: ClientOptions): Client {
  const base = opts.endpoint.replace(/\/+$/, '');
  const { site, apiKey } = opts;
  const budget = opts.timeoutMs ?? 50;
  const requestTimeout = opts.requestTimeoutMs ?? 10_000;
  const freshMs = opts.freshMs ?? 5_000;
  const maxStaleMs = opts.maxStaleMs ?? 600_000;
  const cacheSize = Math.max(1, opts.cacheSize ?? 10_000);
  const retries = opts.retries ?? 2;
  // Looked up at each call, not bound once: a test (or a platform) may replace the global.
  const doFetch: typeof fetch = (input, init) => (opts.fetch ?? fetch)(input, init);
  const report = (err: MicrosegError) => opts.onError?.(err);

  /** Insertion order is recency: a read moves its entry to the end, the first is evicted. */
  const cache = new Map<string, Cached>();
  const pending = new Map<string, Promise<BrowserSegment>>();

  const remember = (visitor: string, entry: Cached) => {
    cache.delete(visitor);
    cache.set(visitor, entry);
    while (cache.size > cacheSize) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
  };

  /** One request for the visitor at a time; answers the fresh segment and caches it. */
  const refresh = (visitor: string): Promise<BrowserSegment> => {
    const running = pending.get(visitor);
    if (running) return running;
    const known = cache.get(visitor);
    const url = `${base}/v1/segment?${new URLSearchParams({ site, visitor })}`;
    const p = (async () => {
      try {
        const res = await doFetch(url, {
          headers: {
            ...(known?.etag ? { 'if-none-match': known.etag } : {}),
            // With the site's key the collector knows its own site's server: its reads are not
            // held to the per-address limit of browsers (they all come from this one address).
            ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
          },
          signal: AbortSignal.timeout(requestTimeout),
        });
        if (res.status === 304 && known) {
          await res.body?.cancel();
          remember(visitor, { ...known, at: Date.now() });
          return known.segment;
        }
        if (!res.ok) throw await refusalOf(res);
        const segment = (await res.json()) as BrowserSegment;
        remember(visitor, { segment, etag: res.headers.get('etag'), at: Date.now() });
        return segment;
      } catch (err) {
        throw failureOf(err);
      } finally {
        pending.delete(visitor);
      }
    })();
    pending.set(visitor, p);
    return p;
  };

  const readSegment = async (visitor: string): Promise<SegmentRead> => {
    if (!ID.test(visitor)) {
      const error = new MicrosegError(
        0,
        'invalid_visitor',
        'a visitor id has 1–64 letters, digits, - and _',
      );
      report(error);
      return { segment: emptySegment(site, visitor), source: 'empty', error };
    }
    const known = cache.get(visitor);
    if (known) {
      remember(visitor, known);
      const age = Date.now() - known.at;
      if (age < freshMs) return { segment: known.segment, source: 'cache' };
      if (age < maxStaleMs) {
        // Stale: answered now, refreshed for the next read.
        refresh(visitor).catch(report);
        return { segment: known.segment, source: 'stale' };
      }
    }
    // What to answer without the collector: the last known segment, however old, else an empty one.
    const fallback = (error?: MicrosegError): SegmentRead => ({
      ...(known
        ? { segment: known.segment, source: 'stale' }
        : { segment: emptySegment(site, visitor), source: 'empty' }),
      ...(error ? { error } : {}),
    });
    const asked = refresh(visitor).then(
      (segment): SegmentRead => ({ segment, source: 'collector' }),
      (error: MicrosegError): SegmentRead => {
        report(error);
        return fallback(error);
      },
    );
    // Past the budget the request goes on: its answer is cached for the visitor's next page.
    return Promise.race([asked, after(budget).then(() => fallback())]);
  };

  /** An API-key request: its JSON answer, or a `MicrosegError`. 404s listed in `absent` answer null. */
  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    absent?: string,
  ): Promise<T | null> {
    if (!apiKey) throw new MicrosegError(0, 'no_api_key', 'this call needs the apiKey option');
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(requestTimeout),
      });
    } catch (err) {
      throw failureOf(err);
    }
    if (res.ok) return (await res.json()) as T;
    const err = await refusalOf(res);
    if (absent !== undefined && res.status === 404 && err.reason === absent) return null;
    throw err;
  }

  const must = <T>(v: T | null): T => {
    if (v === null) throw new MicrosegError(0, 'invalid_response', 'the collector answered null');
    return v;
  };
  const q = (extra: Record<string, string> = {}) => `?${new URLSearchParams({ site, ...extra })}`;
  const id = encodeURIComponent;

  /** One batch of `/v1/events`, sent again after a network error, 429 or 5xx (same ids: counted once). */
  async function sendEvents(events: ServerEvent[]): Promise<EventsResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return must(await call<EventsResponse>('POST', '/v1/events', { events }));
      } catch (e) {
        const err = failureOf(e);
        // A batch with no valid event is an answer, not a failure: each refusal is in it.
        if (err.status === 400 && err.reason === 'invalid_events')
          return err.body as EventsResponse;
        const again = err.status === 0 || err.status === 429 || err.status >= 500;
        if (!again || err.reason === 'no_api_key' || attempt >= retries) throw err;
        await after(200 * 4 ** attempt);
      }
    }
  }

  return {
    site,
    readSegment,
    segment: async (visitor) => (await readSegment(visitor)).segment,

    contactSegment: (contact) =>
      call<ContactSegment>(
        'GET',
        `/v1/contacts/${id(contact)}/segment${q()}`,
        undefined,
        'unknown_contact',
      ),

    async track(input) {
      const events: ServerEvent[] = (Array.isArray(input) ? input : [input]).map((e) => ({
        ...e,
        site: e.site ?? site,
        id: e.id ?? crypto.randomUUID(),
      }));
      const out: EventsResponse = { accepted: 0, duplicates: 0, refused: [], ids: [] };
      for (let i = 0; i < events.length; i += LIMITS.serverBatchEvents) {
        const r = await sendEvents(events.slice(i, i + LIMITS.serverBatchEvents));
        out.accepted += r.accepted;
        out.duplicates += r.duplicates;
        out.refused.push(...r.refused.map((x) => ({ ...x, index: x.index + i })));
        out.ids.push(...r.ids);
      }
      return out;
    },

    links: async (links, o) =>
      must(
        await call<LinksResponse>('POST', '/v1/links', {
          site,
          links,
          ...(o?.plain ? { plain: true } : {}),
        }),
      ),

    setTraits: async (contact, traits) =>
      must(await call<TraitsResponse>('PUT', `/v1/contacts/${id(contact)}/traits${q()}`, traits)),

    async forget(who) {
      const path =
        'visitor' in who ? `/v1/visitors/${id(who.visitor)}` : `/v1/contacts/${id(who.contact)}`;
      const r = must(await call<ErasureResponse>('DELETE', `${path}${q()}`));
      for (const v of r.visitors) cache.delete(v);
      if ('visitor' in who) cache.delete(who.visitor);
      return r;
    },
  };
}
