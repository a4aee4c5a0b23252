import type { CollectBatch, CollectResponse, WireEvent } from '../shared/wire.ts';
import { SNIPPET_BATCH } from '../shared/limits.ts';
import { arrivalToken } from './arrival.ts';
import { api, on, site } from './config.ts';
import { visitor } from './ids.ts';
import { setSegment } from './segment.ts';
import { off } from './store.ts';
import { track } from './track.ts';

const collect = api + '/v1/collect';
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
 * Sends what is buffered. While the page lives, `fetch` with `keepalive` so the answer (the fresh
 * segment) comes back; when it is going away, `sendBeacon`, which the browser delivers even after
 * the page is gone. A string body is sent as `text/plain`: no CORS preflight. After an opt-out (or
 * under DNT/GPC) the buffer is dropped unsent.
 */
export const flush = (leaving?: boolean): void => {
  clearTimeout(timer);
  timer = 0;
  if (buffer[0] && !off()) {
    const body = JSON.stringify({
      site: site!,
      visitor,
      events: buffer.splice(0),
      token,
      // Automation is flagged, not dropped: the collector decides per site (tests and demos need it).
      webdriver: navigator.webdriver || undefined,
    } satisfies CollectBatch);
    token = undefined;
    // sendBeacon refuses (returns false) when its queue is full: then try fetch anyway.
    (leaving && navigator.sendBeacon(collect, body)) ||
      fetch(collect, { method: 'POST', body, keepalive: true, credentials: 'omit' })
        .then((r) => r.json())
        .then((r: CollectResponse) => r.segment && setSegment(r.segment))
        .catch(() => {});
  }
  buffer.length = 0;
};

/** Buffers one event; a full buffer goes at once, otherwise within a second of the first event. */
export const send = (e: WireEvent): void => {
  if (buffer.push(e) >= SNIPPET_BATCH) flush();
  else timer ||= setTimeout(flush, 1000);
};

// pagehide covers navigation and closing; visibilitychange covers mobile, where a hidden tab may be
// killed without ever firing pagehide.
export const startTransport = (): void => {
  on('pagehide', () => flush(true));
  on('visibilitychange', () => document.hidden && flush(true));
};
