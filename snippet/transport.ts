import type { CollectBatch, CollectResponse, WireEvent } from '../shared/wire.ts';
import { SNIPPET_BATCH } from '../shared/limits.ts';
import { arrivalToken } from './arrival.ts';
import { endpoint, on, site } from './config.ts';
import { visitor } from './ids.ts';
import { setSegment } from './segment.ts';
import { load, off, save } from './store.ts';
import { track } from './track.ts';

const collect = endpoint('v1/collect');
const buffer: WireEvent[] = [];
let timer: ReturnType<typeof setTimeout> | 0 = 0;
/** The identity token for the next batch: `ms_t` of an email-link arrival, or `identify()`. */
let token = arrivalToken;

/**
 * `microseg.identify(token)`: a signed identity token from the site's backend goes with the next
 * batch. The collector refuses a batch without events, so it rides on an `identify` event.
 */
export const identify = (t: string): void => {
  token = t;
  track('identify');
};

/**
 * Puts the events of a batch that failed (network error, 429, 5xx) back into the stored retry
 * queue, after any kept meanwhile, with its token. Bounded, so a collector down for days cannot fill
 * the visitor's storage: the newest 50 stay (with a full buffer, 70 events a batch, under the
 * collector's 100), older ones are dropped and counted for the collector.
 */
const keep = (b: CollectBatch): void => {
  const [kept = [], dropped = 0, t] = load().b || [];
  const events = kept.concat(b.events);
  save('b', [events, dropped + ~~b.dropped! + events.splice(0, events.length - 50).length, t || b.token]);
};

/**
 * Sends what is buffered. While the page lives, `fetch` with `keepalive` so the answer (the fresh
 * segment) comes back; it takes the retry queue along (same event ids: the collector counts a
 * retried event once), so the page load and the `online` event are the backoff. When the page is
 * going away, `sendBeacon`, which the browser delivers even after the page is gone; a beacon's fate
 * is unknown, so the queue stays stored for the next load. A string body is sent as `text/plain`: no
 * CORS preflight. After an opt-out (or under DNT/GPC) the buffer is dropped unsent.
 */
export const flush = (leaving?: boolean): void => {
  clearTimeout(timer);
  timer = 0;
  const [kept = [], dropped, t] = (!leaving && load().b) || [];
  const b: CollectBatch = {
    site: site!,
    visitor,
    events: kept.concat(buffer.splice(0)),
    token: token || t,
    // Automation is flagged, not dropped: the collector decides per site (tests and demos need it).
    webdriver: navigator.webdriver || undefined,
    dropped: dropped || undefined,
  };
  if (b.events[0] && !off()) {
    const body = JSON.stringify(b);
    token = undefined;
    // Out of storage while in flight, back on failure: were the page closed before a failure could
    // be seen, those events would be lost (a narrow window; keeping them until an answer would count
    // nothing twice but cost bytes to remove them after).
    leaving || save('b');
    // sendBeacon refuses (returns false) when its queue is full: then try fetch anyway.
    (leaving && navigator.sendBeacon(collect, body)) ||
      fetch(collect, { method: 'POST', body, keepalive: true, credentials: 'omit' })
        // Any other 4xx is final: sent again, it would be refused again. (After keep() there is no
        // answer to read: the next step throws, and catch ends the chain quietly.)
        .then((r) => (r.status > 499 || r.status == 429 ? keep(b) : r.json()), () => keep(b))
        .then((r: CollectResponse) => r.segment && setSegment(r.segment))
        .catch(() => {});
  }
};

/** Buffers one event; a full buffer goes at once, otherwise within a second of the first event. */
export const send = (e: WireEvent): void => {
  if (buffer.push(e) >= SNIPPET_BATCH) flush();
  else timer ||= setTimeout(flush, 1000);
};

// pagehide covers navigation and closing; visibilitychange covers mobile, where a hidden tab may be
// killed without ever firing pagehide. When the network returns, the retry queue goes at once.
export const startTransport = (): void => {
  on('pagehide', () => flush(true));
  on('visibilitychange', () => document.hidden && flush(true));
  on('online', () => flush());
};
