import type { Segment } from '../shared/segment.ts';
import { api, site } from './config.ts';
import { visitor } from './ids.ts';
import { personalize } from './personalize.ts';
import { load, off, save } from './store.ts';

/** A segment this recent (5 minutes) answers `segment()` at once; older ones are asked for again. */
const FRESH = 3e5;

let latest: Segment | null = null;
/** When `latest` came from the collector. */
let at = 0;

/**
 * Keeps the newest segment (from a collect answer, a segment request, or the cache when `t` is the
 * time it was cached), remembers it for the next page, and fires `microseg:segment` on a change.
 */
export const setSegment = (s: Segment, t?: number): void => {
  if (!t) save('g', [s, (t = Date.now())]);
  latest = s;
  at = t;
  if (personalize(s)) document.dispatchEvent(new CustomEvent('microseg:segment', { detail: s }));
};

/** Applies the last page's segment at once, so a returning visitor's page is personalized before any answer. */
export const startSegment = (): void => {
  try {
    setSegment(...load().g!);
  } catch {}
};

const current = () => latest;

/**
 * The visitor's segment: at once when fresh (the last collect answer, or a cache younger than FRESH),
 * else asked from the collector. Site ids are URL-safe by the collector's config rules, so they need
 * no encoding. Never rejects: when the collector is unreachable or answers an error it resolves the
 * last known segment, however old, or null. After an opt-out (or under DNT/GPC) it asks nothing and
 * resolves null.
 */
export const segment = (): Promise<Segment | null> =>
  off()
    ? Promise.resolve(null)
    : latest && Date.now() - at < FRESH
    ? Promise.resolve(latest)
    : fetch(`${api}/v1/segment?site=${site}&visitor=${visitor}`, { credentials: 'omit' })
        .then((r) => r.ok && r.json())
        .then((s: Segment | false) => s && setSegment(s))
        .then(current, current);
