import type { Segment } from '../shared/segment.ts';
import { api, site } from './config.ts';
import { visitor } from './ids.ts';

let latest: Segment | null = null;

/** Keeps the newest segment, from a collect answer or a segment request. */
export const setSegment = (s: Segment): void => {
  latest = s;
};

const current = () => latest;

/**
 * The visitor's segment: the one the last collect answer carried, else asked from the collector.
 * Site ids are URL-safe by the collector's config rules, so they need no encoding.
 * Never rejects: when the collector is unreachable it resolves the last known segment or null.
 */
export const segment = (): Promise<Segment | null> =>
  latest
    ? Promise.resolve(latest)
    : fetch(`${api}/v1/segment?site=${site}&visitor=${visitor}`, { credentials: 'omit' })
        .then((r) => r.ok && r.json())
        .then((s: Segment | false) => s && setSegment(s))
        .then(current, current);
