/**
 * The quarantine table of the SQLite backend: refused events kept with their reason, bounded per
 * request and per site and day (the policy: collector/storage/quarantine.ts).
 */
import { and, desc, eq, lt } from 'drizzle-orm';
import { LIMITS } from '../../../shared/limits.ts';
import type { Db } from './open.ts';
import { quarantine } from './schema.ts';
import { contactOfKey } from '../../identity/token.ts';
import { DAY } from '../../engine/config.ts';
import { capPayload, type QuarantinePolicy, type Refusal } from '../quarantine.ts';
import type { QuarantineRow } from '../contract.ts';

export function quarantineStore(db: Db) {
  const sqlite = db.$client;
  const countSince = sqlite
    .prepare<[string, number], number>(
      'SELECT count(*) FROM quarantine WHERE site = ? AND received >= ?',
    )
    .pluck();
  /**
   * Rows written today per site, and the seq of the last one: read from the table at a site's
   * first write of a UTC day, and again whenever that last row is gone. The count is advanced
   * inside a write job, which may still roll back (a full disk answers 503 and stores nothing,
   * a group fails whole): a counter that kept those rows would fill the day's cap with refusals
   * that were never kept. Their last row being absent is how a rollback (or an erasure) shows.
   */
  const today = new Map<string, { day: number; rows: number; last: number | null }>();
  const hasRow = sqlite
    .prepare<[number, string], number>('SELECT 1 FROM quarantine WHERE seq = ? AND site = ?')
    .pluck();
  const linkOf = sqlite
    .prepare<[string, string, number], string>(
      'SELECT contact FROM links WHERE site = ? AND visitor = ? AND expires > ?',
    )
    .pluck();
  /** Whose row it is, as on events: a `c:<contact>` id's contact, or the one the visitor is linked to now. */
  const ownerOf = (site: string, visitor: string | null, now: number) =>
    visitor === null ? null : (contactOfKey(visitor) ?? linkOf.get(site, visitor, now) ?? null);

  return {
    /**
     * Keeps refused events of one request for one site, at most `LIMITS.quarantinePerRequest`
     * and the site's `rowsPerDay` a day: a refusal costs a row of up to 2 KiB, so without a bound
     * a few bytes of hostile batch wrote a hundred rows. Returns how many were not kept (counted
     * in `microseg_quarantine_skipped_total`).
     */
    keep(
      site: string,
      source: 'collect' | 'events',
      rows: Refusal[],
      now: number,
      policy: QuarantinePolicy,
      onSkipped: (site: string, n: number) => void,
    ): number {
      if (rows.length === 0) return 0;
      const day = Math.floor(now / DAY);
      let count = today.get(site);
      if (
        !count ||
        count.day !== day ||
        (count.last !== null && hasRow.get(count.last, site) === undefined)
      ) {
        count = { day, rows: countSince.get(site, day * DAY) ?? 0, last: null };
        today.set(site, count);
      }
      const room = Math.max(
        0,
        Math.min(LIMITS.quarantinePerRequest, policy.rowsPerDay - count.rows),
      );
      const kept = rows.slice(0, room);
      if (kept.length > 0) {
        const res = db
          .insert(quarantine)
          .values(
            kept.map((r) => ({
              site,
              visitor: r.visitor,
              eventId: r.refused.id ?? null,
              source,
              received: now,
              error: r.refused.error,
              message: r.refused.message,
              payload: capPayload(r.raw),
              contact: ownerOf(site, r.visitor, now),
            })),
          )
          .run();
        count.rows += kept.length;
        count.last = Number(res.lastInsertRowid);
      }
      const skipped = rows.length - kept.length;
      if (skipped > 0) onSkipped(site, skipped);
      return skipped;
    },
    /** The newest refused events of a site, newest first; `before` pages back by seq. */
    list(site: string, limit = 50, before?: number): QuarantineRow[] {
      const where = before
        ? and(eq(quarantine.site, site), lt(quarantine.seq, before))
        : eq(quarantine.site, site);
      return db
        .select()
        .from(quarantine)
        .where(where)
        .orderBy(desc(quarantine.seq))
        .limit(limit)
        .all();
    },
  };
}
