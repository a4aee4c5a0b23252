/**
 * The webhook outbox of the PostgreSQL backend (every SQL of webhooks lives here), the port of
 * sqlite/outbox.ts: rows are enqueued inside the ingest transaction and moved through
 * pending → delivered | failed by the worker; a crash mid-send leaves the row pending, so delivery
 * is at least once. Several workers (processes, hosts) share the table through leases (`claim`):
 * one row is sent by one worker at a time, and a dead worker's rows wait out its lease.
 *
 * `pg` reads int8 (bigint) columns and count(*) as strings: the queries cast them (`::float8`
 * for times and `seq`, exact below 2^53; `::int` for counts), so callers get numbers.
 */
import { nanoid } from 'nanoid';
import { contactOfKey } from '../../identity/token.ts';
import type { Delivery, DeliveryStatus } from '../../../shared/webhook.ts';
import type { DueDelivery, OutboxLeases, OutboxReads, OutboxWrites } from '../contract.ts';
import type { Queryable } from './db.ts';

/** A delivery as listed, times and `seq` as numbers. */
const VIEW = `seq::float8 AS seq, id, site, visitor, contact, hook, url, segment, change, status,
  attempts, created::float8 AS created, next_attempt::float8 AS "nextAttempt",
  last_attempt::float8 AS "lastAttempt", last_status AS "lastStatus", last_error AS "lastError",
  delivered_at::float8 AS "deliveredAt"`;

/**
 * Pending and due, oldest first, at most one per (visitor, webhook): a row waits while an earlier
 * pending one of its (site, visitor, hook) exists. One plain SELECT with ORDER BY and LIMIT (no
 * DISTINCT, GROUP BY or window function), so that the claim (CLAIM) is this with
 * `FOR UPDATE SKIP LOCKED` appended: a row another worker holds stays pending, so the NOT EXISTS
 * still keeps the later rows of its (visitor, hook) back and the order holds across workers.
 * A row under a lease in force is another worker's: not due.
 */
const DUE_ROWS = `FROM webhook_deliveries d
 WHERE d.status = 'pending' AND d.next_attempt <= $1
   AND (d.leased_until IS NULL OR d.leased_until <= $1)
   AND NOT (d.id = ANY($3::text[]))
   AND NOT ((d.site || '/' || d.hook) = ANY($4::text[]))
   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                    WHERE e.site = d.site AND e.visitor = d.visitor AND e.hook = d.hook
                      AND e.status = 'pending' AND e.seq < d.seq)
 ORDER BY d.seq
 LIMIT $2`;

const DUE = `SELECT seq::float8 AS seq, id, site, visitor, hook, url, body, attempts ${DUE_ROWS}`;

/**
 * Takes due rows for one worker in one statement. SKIP LOCKED: rows another worker's claim is
 * taking right now are passed over, not waited for; a row whose claim committed after this
 * statement's snapshot is re-checked when locked (READ COMMITTED), so its new lease excludes it.
 * Two claims never return one row.
 */
const CLAIM = `WITH picked AS (SELECT d.seq ${DUE_ROWS} FOR UPDATE OF d SKIP LOCKED)
UPDATE webhook_deliveries w SET lease_owner = $5, leased_until = $1::bigint + $6::bigint
  FROM picked WHERE w.seq = picked.seq
RETURNING w.seq::float8 AS seq, w.id, w.site, w.visitor, w.hook, w.url, w.body, w.attempts`;

type Listed = Delivery & { seq: number };

export function outboxPg(q: Queryable): OutboxReads & OutboxWrites & OutboxLeases {
  const strip = ({ seq: _seq, ...rest }: Listed): Delivery => rest;
  const byId = async (site: string, id: string): Promise<Listed | undefined> =>
    (
      await q.query<Listed>(`SELECT ${VIEW} FROM webhook_deliveries WHERE site = $1 AND id = $2`, [
        site,
        id,
      ])
    ).rows[0];

  return {
    async enqueue(rows, now) {
      if (rows.length === 0) return [];
      const ids = rows.map(() => `dlv_${nanoid()}`);
      const params: unknown[] = [now];
      const values = rows.map((r, i) => {
        const id = ids[i] ?? '';
        const at = params.length;
        params.push(
          id,
          r.site,
          r.visitor,
          r.contact,
          r.hook,
          r.url,
          r.segment,
          r.change,
          r.body(id),
        );
        const ps = Array.from({ length: 9 }, (_, k) => `$${at + k + 1}`).join(', ');
        return `(${ps}, 'pending', 0, $1, $1)`;
      });
      await q.query(
        `INSERT INTO webhook_deliveries
           (id, site, visitor, contact, hook, url, segment, change, body, status, attempts, created, next_attempt)
         VALUES ${values.join(', ')}`,
        params,
      );
      return ids;
    },

    // One statement decides and records the turn: inserted (never fired) or updated (cooldown
    // over). A concurrent transaction on the same turn waits for this one's row lock, then sees
    // the new `at` and gets false. The row names its owner like an event (sqlite/outbox.ts).
    async takeTurn(site, profile, hook, cooldownMs, now) {
      const res = await q.query(
        `INSERT INTO webhook_cooldowns AS c (site, visitor, hook, at, contact)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (site, visitor, hook)
         DO UPDATE SET at = excluded.at, contact = excluded.contact WHERE c.at <= $6`,
        [site, profile, hook, now, contactOfKey(profile), now - cooldownMs],
      );
      return (res.rowCount ?? 0) > 0;
    },

    async due(now, limit, skip) {
      return (await q.query(DUE, [now, limit, skip?.ids ?? [], skip?.hooks ?? []])).rows;
    },

    async claim(owner, now, leaseMs, limit, skip) {
      const res = await q.query<DueDelivery>(CLAIM, [
        now,
        limit,
        skip?.ids ?? [],
        skip?.hooks ?? [],
        owner,
        leaseMs,
      ]);
      // RETURNING keeps no order: oldest first, as `due`.
      return res.rows.sort((a, b) => a.seq - b.seq);
    },

    async renew(owner, ids, until) {
      if (ids.length === 0) return [];
      const res = await q.query<{ id: string }>(
        `UPDATE webhook_deliveries SET leased_until = $3
          WHERE id = ANY($2::text[]) AND lease_owner = $1 AND status = 'pending'
         RETURNING id`,
        [owner, ids, until],
      );
      return res.rows.map((r) => r.id);
    },

    async release(owner, ids) {
      if (ids.length === 0) return;
      await q.query(
        `UPDATE webhook_deliveries SET lease_owner = NULL, leased_until = NULL
          WHERE id = ANY($2::text[]) AND lease_owner = $1`,
        [owner, ids],
      );
    },

    // The outcome ends the lease: a retry is due at `next_attempt` for whichever worker is free.
    async delivered(id, attempts, status, now) {
      await q.query(
        `UPDATE webhook_deliveries
            SET status = 'delivered', attempts = $2, last_attempt = $4, last_status = $3,
                last_error = NULL, delivered_at = $4, lease_owner = NULL, leased_until = NULL
          WHERE id = $1 AND status = 'pending'`,
        [id, attempts, status, now],
      );
    },

    async attemptFailed(id, attempts, status, error, now, next) {
      await q.query(
        `UPDATE webhook_deliveries
            SET status = CASE WHEN $6::bigint IS NULL THEN 'failed' ELSE 'pending' END,
                attempts = $2, next_attempt = coalesce($6::bigint, next_attempt),
                last_attempt = $5, last_status = $3, last_error = $4,
                lease_owner = NULL, leased_until = NULL
          WHERE id = $1 AND status = 'pending'`,
        [id, attempts, status, error.slice(0, 500), now, next],
      );
    },

    async list(site, opts = {}) {
      const params: unknown[] = [site];
      let where = 'site = $1';
      if (opts.status) {
        params.push(opts.status);
        where += ` AND status = $${params.length}`;
      }
      if (opts.before !== undefined) {
        params.push(opts.before);
        where += ` AND seq < $${params.length}`;
      }
      params.push(Math.min(opts.limit ?? 100, 1000));
      return (
        await q.query<Listed>(
          `SELECT ${VIEW} FROM webhook_deliveries WHERE ${where} ORDER BY seq DESC LIMIT $${params.length}`,
          params,
        )
      ).rows;
    },

    async get(site, id) {
      const row = await byId(site, id);
      return row ? strip(row) : undefined;
    },

    // One UPDATE decides (no read-then-write race with a worker); the lookup after it only
    // tells "not found" from "not failed".
    async replay(site, id, now) {
      const res = await q.query(
        `UPDATE webhook_deliveries
            SET status = 'pending', attempts = 0, next_attempt = $3, last_error = NULL
          WHERE site = $1 AND id = $2 AND status = 'failed'`,
        [site, id, now],
      );
      if ((res.rowCount ?? 0) > 0) return 'replayed';
      return (await byId(site, id)) ? 'not_failed' : 'not_found';
    },

    async prune(before, limit) {
      const res = await q.query(
        `DELETE FROM webhook_deliveries WHERE seq IN (
           SELECT seq FROM webhook_deliveries
            WHERE (status = 'delivered' AND delivered_at < $1)
               OR (status = 'failed' AND last_attempt < $1)
            LIMIT $2)`,
        [before, limit],
      );
      return res.rowCount ?? 0;
    },

    async nextDue() {
      const res = await q.query<{ at: number | null }>(
        `SELECT min(next_attempt)::float8 AS at FROM webhook_deliveries WHERE status = 'pending'`,
      );
      return res.rows[0]?.at ?? null;
    },

    // Per status over the (status, next_attempt) index: no scan of the bodies.
    async counts() {
      const out: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
      const res = await q.query<{ status: DeliveryStatus; n: number }>(
        'SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY status',
      );
      for (const r of res.rows) out[r.status] = r.n;
      return out;
    },
  };
}
