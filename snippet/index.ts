// The browser snippet: wires the modules together. Order matters: the cached segment is applied
// first and synchronously (a returning visitor sees no flicker); the page view of this load goes
// before the calls the stub queued; the first batch leaves at once, so a first-time visitor's
// segment arrives without waiting for the batch timer; it also takes along the events an earlier
// page could not deliver (the retry queue, transport.ts). An email link's token leaves the address bar
// before anything (page view, SPA tracking) sees the URL. Under an opt-out or DNT/GPC everything runs
// as usual, but storage refuses writes and the transport drops what it would send (store.ts).
import { startApi } from './api.ts';
import { cleanUrl } from './arrival.ts';
import { startClicks } from './clicks.ts';
import { on, site } from './config.ts';
import { checkRoute, startPageviews } from './pageviews.ts';
import { startSegment } from './segment.ts';
import { flush } from './transport.ts';
import { syncCookie } from './ids.ts';

/**
 * The page goes away: pagehide covers navigation and closing; a hidden page counts too, as mobile
 * may kill a hidden tab without ever firing pagehide. A route change still settling (less than
 * 100 ms old) is counted first, so that the leaving batch takes it along.
 */
const leave = (): void => {
  checkRoute();
  flush(true);
};

// `_on` is set once a copy of the snippet runs on this page: a second copy stays inert.
if (site && !window.microseg?._on) {
  cleanUrl();
  startSegment();
  startPageviews();
  startClicks();
  startApi();
  on('pagehide', leave);
  on('visibilitychange', () => document.hidden && leave());
  // When the network returns, the retry queue goes at once.
  on('online', () => flush());
  // The page-load batch: in cookie mode once ms.cookie.js has settled the visitor id (or failed to
  // load). syncCookie's promise settles with false or undefined: not leaving.
  syncCookie().then(flush as (leaving: unknown) => void);
}
