import type { CollectResponse, CompactBatch, CompactEvent } from '../shared/wire.ts';
import type { BrowserSegment } from '../shared/segment.ts';
import type { Retry } from './store.ts';
import { SNIPPET_BATCH } from '../shared/limits.ts';
import { arrivalToken } from './arrival.ts';
import { endpoint, site } from './config.ts';
import { visitor } from './ids.ts';
import { setSegment } from './segment.ts';
import { load, off, save } from './store.ts';
import { track } from './track.ts';

const collect = endpoint('v1/collect');
let buffer: CompactEvent[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;
/** The identity token for the next batch: `ms_t` of an email-link arrival, or `identify()`. */
let token: string | null = arrivalToken;

/**
 * `microseg.identify(token)`: a signed identity token from the site's backend goes with the next
 * batch, on an `identify` event: the visitor's history shows when it was identified, and that
 * batch goes within a second like any other.
 */
export const identify = (t: string): void => {
  token = t;
  track('identify');
};

/**
 * Puts the events of a batch that failed (a network error, 429, 5xx) back into the stored retry
 * queue, after any kept meanwhile, with its token and dropped count. Bounded, so a collector down
 * for days cannot fill the visitor's storage: the newest 50 stay (with a full buffer, 70 events a
 * batch, under the collector's 100), older ones are dropped and counted for the collector. (`~~`
 * makes an absent count 0; `d` is computed first: the splice trims `e` in place.)
 */
const keep = (b: Retry): void => {
  const q = load().q || { e: [] };
  const e = q.e.concat(b.e);
  save('q', {
    d: ~~(q.d as number) + ~~(b.d as number) + e.splice(0, e.length - 50).length,
    e,
    k: q.k || b.k,
  });
};

/**
 * Sends what is buffered. While the page lives, by `fetch` (`keepalive`, so it outlives a quick
 * navigation): its answer brings the fresh segment, and its status tells a refusal from a failure.
 *
 * It takes the retry queue along (same event ids: the collector counts a retried event once), so
 * the page load and the `online` event are the backoff. Queued events older than the max event
 * age are dropped and counted by the collector (collector/ingest/wire-compact.ts): no event is retried
 * forever. A refusal (4xx but 429) would come again for the same batch: it is dropped and
 * counted, token and all (the token may be the reason).
 *
 * When the page is going away, by `sendBeacon`, which the browser queues at once and delivers
 * after the page is gone: in Firefox a keepalive `fetch` started as a tab closes was lost under
 * load (test/e2e/leave.test.ts), a beacon never. Firefox sends that beacon with `Origin: null` when
 * the page's referrer policy hides its origin; the collector stores such a write like one without
 * an Origin (docs/security.md). Should `sendBeacon` refuse (its queue is full), a keepalive `fetch`
 * goes instead. The answer of a leaving batch may never be seen, nor a failure (a tab closed while
 * the collector is down): so the batch goes into the retry queue before it is sent, and the queue
 * stays stored; the next page load sends those events again, and the collector counts them once.
 *
 * A string body is sent as `text/plain`: no CORS preflight; without `credentials` a collector on
 * another origin gets no cookies. After an opt-out (or under DNT/GPC) the buffer is dropped unsent.
 *
 * `asking` (`segment()`): a batch goes even with no event, since its answer carries the segment;
 * the promise of that request is returned (it settles once the segment is applied, never rejects).
 */
export const flush = (leaving?: boolean, asking?: 1): Promise<unknown> | boolean | undefined => {
  // clearTimeout answers undefined: the timer is forgotten in the same step.
  timer = clearTimeout(timer) as undefined;
  const q = (!leaving && load().q) || { e: [] };
  // The queue's part of the batch (`e`, `d`, `k`), its events and token then joined by the new ones.
  const b: CompactBatch = {
    ...q,
    s: site as string,
    v: visitor,
    e: q.e.concat(buffer),
    k: token || q.k,
    // Automation is flagged, not dropped: the collector decides per site (tests and demos need it).
    w: navigator.webdriver,
  };
  if ((b.e[0] || asking) && !off()) {
    const body = JSON.stringify(b);
    // While the page lives, the queue is out of storage while in flight, back on failure: were the
    // page closed before a failure could be seen, those events would be lost (a narrow window;
    // keeping them until an answer would count nothing twice but cost bytes to remove them after).
    leaving ? keep(b) : save('q');
    // The buffer and the token are let go only now that the queue holds them: Firefox closing a tab
    // may stop a leaving handler anywhere, uncatchably (test/e2e/leave.test.ts), and the next one
    // (visibilitychange after pagehide) must still find what the first did not keep. Kept twice,
    // the events go twice with the same ids: the collector counts each once.
    token = '';
    buffer = [];
    return (
      (leaving && navigator.sendBeacon(collect, body)) ||
      fetch(collect, { method: 'POST', body, keepalive: true })
        // The answer's JSON on a 2xx; otherwise a rejection with the `Response` (an HTTP error,
        // whose status says whether to retry) or with the network's `TypeError` (no status).
        .then((r) => (r.ok ? r.json() : Promise.reject(r)))
        .then(
          (a: CollectResponse) => setSegment(a.segment as BrowserSegment | null),
          // A leaving batch is kept already. A refusal (a status below 500 but 429) is counted;
          // anything else (no status: a network error, 429, 5xx) is kept for a retry.
          (r: Partial<Response>) =>
            leaving ||
            keep(
              r.status != 429 && (r.status as number) < 500
                ? { e: [], d: ~~(b.d as number) + b.e.length }
                : b,
            ),
        )
    );
  }
  // Nothing to send, or an opt-out (DNT/GPC): what was buffered is dropped unsent.
  buffer = [];
};

/** Buffers one event; a full buffer goes at once, otherwise within a second of the first event. */
export const send = (e: CompactEvent): void => {
  if (buffer.push(e) >= SNIPPET_BATCH) flush();
  else timer ||= setTimeout(flush, 1000);
};
