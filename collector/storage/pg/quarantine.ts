/**
 * The quarantine table of the PostgreSQL backend, the port of sqlite/quarantine.ts: refused events
 * kept with their reason, bounded per request and per site and day (the policy and `capPayload`:
 * collector/storage/quarantine.ts).
 *
 * The day's count is read from the table at every keep, not kept in memory as the SQLite backend
 * does: here other processes may write the same table (issue 16) and transactions run side by
 * side, so a per-process counter would miss their rows, and telling a rolled-back row from one
 * not yet committed is not possible from outside. Reading it is bounded and indexed: the newest
 * `rowsPerDay` rows of the site by `seq` (a backward walk of `quarantine_site (site, seq)`) and,
 * among them, those received since the start of the UTC day. The cap keeps today's rows at most
 * `rowsPerDay` (plus what concurrent requests added), and rows are numbered in the order they
 * arrive, so today's rows are the newest ones: the count is exact up to the cap, and costs at most
 * `rowsPerDay` index entries whatever the table holds. A transaction counts its own rows and the
 * committed ones; a rolled-back keep leaves nothing to count.
 */
import { LIMITS } from '../../../shared/limits.ts';
import { DAY } from '../../engine/config.ts';
import { contactOfKey } from '../../identity/token.ts';
import type { QuarantineRow } from '../contract.ts';
import { capPayload, type QuarantinePolicy, type Refusal } from '../quarantine.ts';
import type { Queryable } from './db.ts';

/**
 * A refused event's own text as PostgreSQL can keep it: `text` cannot hold a NUL (U+0000), and a
 * refused id or visitor may carry one (that may be why it was refused): shown as U+FFFD. The raw
 * payload keeps it, escaped in its JSON.
 */
const text = (s: string | null): string | null =>
  s === null ? null : s.replaceAll('\0', '\uFFFD');

const COLUMNS = `seq::float8 AS seq, contact, site, visitor, event_id AS "eventId", source,
  received::float8 AS received, error, message, payload`;

export function quarantinePg(q: Queryable): {
  keep(
    site: string,
    source: 'collect' | 'events',
    rows: Refusal[],
    now: number,
    policy: QuarantinePolicy,
    skipped: (site: string, n: number) => void,
  ): Promise<number>;
  list(site: string, limit?: number, before?: number): Promise<QuarantineRow[]>;
} {
  /** Rows of the site received since `since`, counted among its newest `cap` (see above). */
  async function keptToday(site: string, since: number, cap: number): Promise<number> {
    if (cap <= 0) return 0;
    const res = await q.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT received FROM quarantine WHERE site = $1 ORDER BY seq DESC LIMIT $3
       ) newest WHERE received >= $2`,
      [site, since, cap],
    );
    return res.rows[0]?.n ?? 0;
  }

  return {
    /**
     * Keeps refused events of one request for one site, at most `LIMITS.quarantinePerRequest`
     * and the site's `rowsPerDay` a day: a refusal costs a row of up to 2 KiB, so without a bound
     * a few bytes of hostile batch wrote a hundred rows. Returns how many were not kept (told to
     * `skipped`, counted in `microseg_quarantine_skipped_total`).
     */
    async keep(site, source, rows, now, policy, skipped) {
      if (rows.length === 0) return 0;
      const day = Math.floor(now / DAY);
      const today = await keptToday(site, day * DAY, policy.rowsPerDay);
      const room = Math.max(0, Math.min(LIMITS.quarantinePerRequest, policy.rowsPerDay - today));
      const kept = rows.slice(0, room);
      if (kept.length > 0) {
        // Whose row it is, as on events: a `c:<contact>` id's contact, or the contact the visitor
        // is linked to now (the link looked up in the same statement). ORDER BY numbers the rows
        // in the request's order.
        const params: unknown[] = [site, source, now];
        const values = kept.map((r, i) => {
          const at = params.length;
          params.push(
            text(r.visitor),
            text(r.refused.id ?? null),
            r.refused.error,
            text(r.refused.message),
            capPayload(r.raw),
            r.visitor === null ? null : contactOfKey(r.visitor),
          );
          const [visitor, eventId, error, message, payload, own] = [1, 2, 3, 4, 5, 6].map(
            (k) => `$${at + k}`,
          );
          return `(${i}, ${visitor}::text, ${eventId}::text, ${error}::text, ${message}::text, ${payload}::text, ${own}::text)`;
        });
        await q.query(
          `INSERT INTO quarantine (site, visitor, event_id, source, received, error, message, payload, contact)
           SELECT $1, r.visitor, r.event_id, $2, $3, r.error, r.message, r.payload,
                  coalesce(r.own, (SELECT l.contact FROM links l
                                    WHERE l.site = $1 AND l.visitor = r.visitor AND l.expires > $3))
             FROM (VALUES ${values.join(', ')}) AS r(ord, visitor, event_id, error, message, payload, own)
            ORDER BY r.ord`,
          params,
        );
      }
      const notKept = rows.length - kept.length;
      if (notKept > 0) skipped(site, notKept);
      return notKept;
    },

    /** The newest refused events of a site, newest first; `before` pages back by seq. */
    async list(site, limit = 50, before) {
      const res = before
        ? await q.query<QuarantineRow>(
            `SELECT ${COLUMNS} FROM quarantine WHERE site = $1 AND seq < $3 ORDER BY seq DESC LIMIT $2`,
            [site, limit, before],
          )
        : await q.query<QuarantineRow>(
            `SELECT ${COLUMNS} FROM quarantine WHERE site = $1 ORDER BY seq DESC LIMIT $2`,
            [site, limit],
          );
      return res.rows;
    },
  };
}
