import type { Segment } from '../shared/segment.ts';
import { page } from './pageviews.ts';
import { segment } from './segment.ts';
import { optOut } from './store.ts';
import { syncCookie } from './ids.ts';
import { track } from './track.ts';
import { identify } from './transport.ts';

/** A call the pre-load stub queued: method name, its arguments, and the resolve of the promise it returned. */
type Queued = [string, ArrayLike<unknown>, (v: unknown) => void];

export interface Microseg {
  track: typeof track;
  page: typeof page;
  segment: () => Promise<Segment | null>;
  identify: typeof identify;
  optOut: typeof optOut;
  /** The stub's queue; once loaded, pushing runs the call at once. */
  q?: { push: (c: Queued) => void } | Queued[];
  /** Set once the real script runs, so a second copy of the tag stays inert. */
  _on?: 1;
}

declare global {
  interface Window {
    microseg?: Microseg;
  }
}

// An opt-out also removes the cookie in cookie mode (`syncCookie` ignores its argument: the opt-out
// is done first).
const api = { track, page, segment, identify, optOut: () => syncCookie(optOut()) };

// Calls go to `api`, not to `ms`: a stub method this version lacks (the stub names every method
// of the public API) stays on `ms` and would push to the queue again, forever. It resolves undefined.
const run = ([m, args, resolve]: Queued) =>
  resolve((api as Record<string, (...a: unknown[]) => unknown>)[m]?.(...(args as unknown[])));

/**
 * Installs `window.microseg` onto the stub object itself (code may hold a reference to it), then
 * replays the stub's queue in call order. Functions the stub made keep working: they push to `q`,
 * which from now on runs the call directly.
 */
export const startApi = (): void => {
  const ms = (window.microseg ||= {} as Microseg);
  const queued = (ms.q || []) as Queued[];
  Object.assign(ms, api)._on = 1;
  ms.q = { push: run };
  queued.forEach(run);
};
