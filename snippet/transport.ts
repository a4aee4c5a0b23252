import type { CollectBatch, CollectResponse, WireEvent } from '../shared/wire.ts';
import { SNIPPET_BATCH } from '../shared/limits.ts';
import { api, site } from './config.ts';
import { visitor } from './ids.ts';
import { setSegment } from './segment.ts';

const collect = api + '/v1/collect';
const buffer: WireEvent[] = [];
let timer: ReturnType<typeof setTimeout> | 0 = 0;

/**
 * Sends what is buffered. While the page lives, `fetch` with `keepalive` so the answer (the fresh
 * segment) comes back; when it is going away, `sendBeacon`, which the browser delivers even after
 * the page is gone. A string body is sent as `text/plain`: no CORS preflight.
 */
export const flush = (leaving?: boolean): void => {
  clearTimeout(timer);
  timer = 0;
  if (buffer.length) {
    const body = JSON.stringify({
      site: site!,
      visitor,
      events: buffer.splice(0),
      // Automation is flagged, not dropped: the collector decides per site (tests and demos need it).
      webdriver: navigator.webdriver || undefined,
    } satisfies CollectBatch);
    // sendBeacon refuses (returns false) when its queue is full: then try fetch anyway.
    (leaving && navigator.sendBeacon(collect, body)) ||
      fetch(collect, { method: 'POST', body, keepalive: true, credentials: 'omit' })
        .then((r) => r.json())
        .then((r: CollectResponse) => r.segment && setSegment(r.segment))
        .catch(() => {});
  }
};

/** Buffers one event; a full buffer goes at once, otherwise within a second of the first event. */
export const send = (e: WireEvent): void => {
  buffer.push(e);
  if (buffer.length >= SNIPPET_BATCH) flush();
  else timer ||= setTimeout(flush, 1000);
};

// pagehide covers navigation and closing; visibilitychange covers mobile, where a hidden tab may be
// killed without ever firing pagehide.
export const startTransport = (): void => {
  addEventListener('pagehide', () => flush(true));
  document.addEventListener('visibilitychange', () => document.visibilityState == 'hidden' && flush(true));
};
