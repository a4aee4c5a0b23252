import type { BrowserSegment } from '../shared/segment.ts';
import { personalize } from './personalize.ts';
import { flush } from './transport.ts';
import { load, off, save } from './store.ts';

/** The last known segment: the stored record keeps it (`g`), in memory too when storage fails. */
const current = (): BrowserSegment | null => load().g?.[0] || null;

/**
 * Keeps a segment from the collector, with its time, for this page and the next, and applies it.
 * A collect answer without one (a bot, DNT/GPC on the collector's side) carries null: nothing.
 */
export const setSegment = (s: BrowserSegment | null): void => {
  if (s) {
    save('g', [s, Date.now()]);
    personalize(s);
  }
};

/**
 * Applies the last page's segment at once, so a returning visitor's page is personalized before any
 * answer. (None, or one cached by an older snippet without page facts, applies nothing: the answer will.)
 */
export const startSegment = (): void => personalize(current());

/**
 * The visitor's segment: at once when fresh (the last collect answer, or a cache younger than 5 minutes),
 * else asked from the collector by a batch sent at once, with whatever is buffered or none: its
 * answer brings the segment (no second endpoint to call). Never rejects: when the collector is
 * unreachable or answers an error it resolves the last known segment, however old, or null. After
 * an opt-out (or under DNT/GPC) it asks nothing and resolves null.
 */
export const segment = async (): Promise<BrowserSegment | null> =>
  off()
    ? null
    : // Without a cached segment its time is undefined: the difference is NaN, never fresh.
      Date.now() - (load().g?.[1] as number) < 3e5
      ? current()
      : // Not leaving: the request's promise. The collector answers a batch without events too.
        (flush(false, 1) as Promise<unknown>).then(current);
