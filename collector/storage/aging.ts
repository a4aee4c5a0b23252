/**
 * What retention deletes, backend-neutral: the tables whose rows age out with a site's retention
 * and the time columns they age by (the backend's `pruneAged` deletes them in small batches).
 */
import type { SiteConfig } from '../config/config.ts';
import { DAY } from '../engine/config.ts';

/** A table whose rows age out with the site's retention, and the time column they age by. */
export interface Aging {
  table: string;
  /** Rows go when every one of these columns is older than the cutoff. */
  columns: string[];
  /** Days a site keeps these rows; null: forever. The site's `retentionDays` when omitted. */
  keepDays?: (site: SiteConfig) => number | null;
}

/**
 * Events go when both their time and their arrival are past the cutoff: an import of old history
 * is kept for the retention period after it arrived, so a retried import is still recognized as a
 * duplicate. Profiles are aggregates and stay as they are.
 */
export const AGING: Aging[] = [
  { table: 'events', columns: ['ts', 'received'] },
  // Refused events are for diagnosis, kept `quarantine.keepDays` (30) even without a retention.
  {
    table: 'quarantine',
    columns: ['received'],
    keepDays: (s) => Math.min(s.quarantine.keepDays, s.retentionDays ?? Infinity),
  },
  { table: 'segment_changes', columns: ['at'] },
  // A webhook's cooldown turn older than the site's longest cooldown holds nothing back (the next
  // turn replaces it anyway): without this, every person a webhook ever fired for left a row for good.
  {
    table: 'webhook_cooldowns',
    columns: ['at'],
    keepDays: (s) => Math.max(0, ...s.webhooks.map((w) => w.cooldownMs)) / DAY,
  },
];
