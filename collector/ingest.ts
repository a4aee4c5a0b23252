/** From a parsed browser batch to stored events and a fresh segment: no HTTP here. */
import type { CollectResponse } from '../shared/wire.ts';
import { categoryForUrl, type SiteConfig } from './config.ts';
import { emptyProfile, evaluate } from './engine/index.ts';
import type { NewEvent, Storage } from './storage.ts';
import { validateEvents } from './validate.ts';
import type { Segment } from '../shared/segment.ts';

/** Page views without a category take one from the site's URL rules. */
export function categorize(site: SiteConfig, e: NewEvent): NewEvent {
  if (e.category || (e.type !== 'page_view' && e.type !== 'screen_view')) return e;
  const category = categoryForUrl(site, e.url);
  return category ? { ...e, category } : e;
}

/** The visitor's segment now; a visitor never seen gets the segment of an empty profile. */
export function segmentFor(storage: Storage, site: SiteConfig, visitor: string, now: number): Segment {
  const stored = storage.profile(site.id, visitor);
  const profile = stored?.profile ?? { ...emptyProfile(now), lastSeen: 0 };
  return evaluate(profile, { site: site.id, visitor, known: false }, site.engine, now);
}

export function ingestBatch(
  storage: Storage,
  site: SiteConfig,
  visitor: string,
  rawEvents: unknown[],
  now: number,
): CollectResponse {
  const { valid, refused } = validateEvents(rawEvents, now);
  if (valid.length === 0) return { accepted: 0, duplicates: 0, refused, segment: segmentFor(storage, site, visitor, now) };
  const res = storage.ingest(site.id, visitor, valid.map((e) => categorize(site, e)), site.engine, now);
  return { accepted: res.accepted, duplicates: res.duplicates, refused, segment: res.segment };
}
