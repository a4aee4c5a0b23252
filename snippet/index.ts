// The browser snippet: wires the modules together. Order matters: the cached segment is applied
// first and synchronously (a returning visitor sees no flicker); the page view of this load goes
// before the calls the stub queued; the first batch leaves at once, so a first-time visitor's
// segment arrives without waiting for the batch timer.
import { loaded, startApi } from './api.ts';
import { startClicks } from './clicks.ts';
import { site } from './config.ts';
import { startPageviews } from './pageviews.ts';
import { startPersonalize } from './personalize.ts';
import { startSegment } from './segment.ts';
import { flush, startTransport } from './transport.ts';

if (site && !loaded()) {
  startPersonalize();
  startSegment();
  startTransport();
  startPageviews();
  startClicks();
  startApi();
  flush();
}
