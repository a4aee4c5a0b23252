import type { Segment } from '../shared/segment.ts';
import { endpoint, site } from './config.ts';
import { visitor } from './ids.ts';
import { personalize } from './personalize.ts';
import { load, off, save } from './store.ts';

let latest: Segment | null = null;
/** When `latest` came from the collector. */
let at = 0;

/**
 * Keeps the newest segment (from a collect answer, a segment request, or the cache when `t` is the
 * time it was cached), remembers it for the next page, and applies it to the page.
 */
export const setSegment = (s: Segment, t?: number): void => {
  if (!t) save('g', [s, (t = Date.now())]);
  latest = s;
  at = t;
  personalize(s);
};

/** Applies the last page's segment at once, so a returning visitor's page is personalized before any answer. */
export const startSegment = (): void => {
  try {
    setSegment(...load().g!);
  } catch {}
};

const current = () => latest;

/**
 * The visitor's segment: at once when fresh (the last collect answer, or a cache younger than 5 minutes),
 * else asked from the collector. Site ids are URL-safe by the collector's config rules, so they need
 * no encoding. Never rejects: when the collector is unreachable or answers an error it resolves the
 * last known segment, however old, or null. After an opt-out (or under DNT/GPC) it asks nothing and
 * resolves null.
 */
export const segment = async (): Promise<Segment | null> =>
  off()
    ? null
    : latest && Date.now() - at < 3e5
    ? latest
    : fetch(endpoint(`v1/segment?site=${site}&visitor=${visitor}`), { credentials: 'omit' })
        .then((r) => r.ok && r.json())
        .then((s: Segment | false) => s && setSegment(s))
        .then(current, current);
