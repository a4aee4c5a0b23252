/**
 * The webhook outbox of the SQLite backend (every SQL of webhooks lives here). Rows are
 * enqueued inside the ingest transaction and moved through pending → delivered | failed by the
 * worker; a crash mid-send leaves the row pending, so delivery is at least once.
 */
import { and, asc, desc, eq, lt, lte, or, sql } from 'drizzle-orm';
import { nanoid } from 'nanoid';
import type { Db } from './open.ts';
import { contactOfKey } from '../../identity/token.ts';
import { webhookCooldowns as cool, webhookDeliveries as d } from './schema.ts';
import type { Delivery, DeliveryStatus } from '../../../shared/webhook.ts';
import type { DueDelivery, NewDelivery, OutboxLeases } from '../contract.ts';

/** The outbox's statements, synchronous: the backend wraps them in the async contract. */
export interface Outbox {
  /** Inserts deliveries; call it inside the transaction that records the change. Returns their ids. */
  enqueue(rows: NewDelivery[], now: number): string[];
  /**
   * The webhook's turn to fire for this profile (a visitor id or `c:<contact>`) at `now`: true,
   * and the turn is taken, when it last fired `cooldownMs` or longer ago (or never); false inside
   * the cooldown. Call it inside the transaction that enqueues.
   */
  takeTurn(site: string, profile: string, hook: string, cooldownMs: number, now: number): boolean;
  /**
   * Pending deliveries due at `now`, oldest first, at most one per (visitor, webhook): a later
   * one waits until the earlier is delivered or failed, so a receiver sees enter before exit.
   * `skip` leaves out deliveries already in flight and webhooks (`site/hook`) at their share.
   */
  due(now: number, limit: number, skip?: { ids: string[]; hooks: string[] }): DueDelivery[];
  delivered(id: string, attempts: number, status: number, now: number): void;
  /** Records a failed attempt: retried at `next`, or failed for good when `next` is null. */
  attemptFailed(
    id: string,
    attempts: number,
    status: number | null,
    error: string,
    now: number,
    next: number | null,
  ): void;
  list(
    site: string,
    opts?: { status?: DeliveryStatus | undefined; limit?: number; before?: number | undefined },
  ): (Delivery & { seq: number })[];
  get(site: string, id: string): Delivery | undefined;
  /** Puts a failed delivery back in the queue with the same id and fresh attempts. */
  replay(site: string, id: string, now: number): 'replayed' | 'not_found' | 'not_failed';
  /** Deletes delivered and failed rows finished before `before`; returns how many. */
  prune(before: number, limit: number): number;
  /** Earliest `next_attempt` of a pending delivery, for the worker's next wake-up. */
  nextDue(): number | null;
  /** Deliveries per status, all sites: the backlog `/metrics` reports. */
  counts(): Record<DeliveryStatus, number>;
}

const view = {
  seq: d.seq,
  id: d.id,
  site: d.site,
  visitor: d.visitor,
  contact: d.contact,
  hook: d.hook,
  url: d.url,
  segment: d.segment,
  change: d.change,
  status: d.status,
  attempts: d.attempts,
  created: d.created,
  nextAttempt: d.nextAttempt,
  lastAttempt: d.lastAttempt,
  lastStatus: d.lastStatus,
  lastError: d.lastError,
  deliveredAt: d.deliveredAt,
};

export function outboxStore(db: Db): Outbox {
  const p = sql.placeholder;
  const insert = db
    .insert(d)
    .values({
      id: p('id'),
      site: p('site'),
      visitor: p('visitor'),
      contact: p('contact'),
      hook: p('hook'),
      url: p('url'),
      segment: p('segment'),
      change: p('change'),
      body: p('body'),
      status: 'pending',
      attempts: 0,
      created: p('now'),
      nextAttempt: p('now'),
    })
    .prepare();

  const dueQuery = db
    .select({
      seq: d.seq,
      id: d.id,
      site: d.site,
      visitor: d.visitor,
      hook: d.hook,
      url: d.url,
      body: d.body,
      attempts: d.attempts,
    })
    .from(d)
    .where(
      and(
        eq(d.status, 'pending'),
        lte(d.nextAttempt, p('now')),
        sql`${d.id} not in (select value from json_each(${p('ids')}))`,
        sql`(${d.site} || '/' || ${d.hook}) not in (select value from json_each(${p('hooks')}))`,
        sql`not exists (select 1 from ${d} as e where e.site = ${d.site} and e.visitor = ${d.visitor}
              and e.hook = ${d.hook} and e.status = 'pending' and e.seq < ${d.seq})`,
      ),
    )
    .orderBy(asc(d.seq))
    .limit(p('limit'))
    .prepare();

  const markDelivered = db
    .update(d)
    .set({
      status: 'delivered',
      attempts: p('attempts') as never,
      lastAttempt: p('now') as never,
      lastStatus: p('status') as never,
      lastError: null,
      deliveredAt: p('now') as never,
    })
    .where(and(eq(d.id, p('id')), eq(d.status, 'pending')))
    .prepare();

  const markFailed = db
    .update(d)
    .set({
      status: sql`case when ${p('next')} is null then 'failed' else 'pending' end`,
      attempts: p('attempts') as never,
      nextAttempt: sql`coalesce(${p('next')}, ${d.nextAttempt})`,
      lastAttempt: p('now') as never,
      lastStatus: p('status') as never,
      lastError: p('error') as never,
    })
    .where(and(eq(d.id, p('id')), eq(d.status, 'pending')))
    .prepare();

  // One statement decides and records the turn: inserted (never fired) or updated (cooldown over).
  // The row names its owner like an event: a new turn is the current owner's (an anonymous
  // device's row a lapsed link's contact had claimed becomes anonymous again).
  const upsertTurn = db
    .insert(cool)
    .values({
      site: p('site'),
      visitor: p('profile'),
      hook: p('hook'),
      at: p('now'),
      contact: p('contact'),
    })
    .onConflictDoUpdate({
      target: [cool.site, cool.visitor, cool.hook],
      set: { at: sql`excluded.at`, contact: sql`excluded.contact` },
      setWhere: sql`${cool.at} <= ${p('since')}`,
    })
    .prepare();

  const byId = db
    .select(view)
    .from(d)
    .where(and(eq(d.site, p('site')), eq(d.id, p('id'))))
    .prepare();

  const nextDueQuery = db
    .select({ at: sql<number | null>`min(${d.nextAttempt})` })
    .from(d)
    .where(eq(d.status, 'pending'))
    .prepare();

  // Uses the (status, next_attempt) index: a count per status, no table scan of payloads.
  const countsQuery = db
    .select({ status: d.status, n: sql<number>`count(*)` })
    .from(d)
    .groupBy(d.status)
    .prepare();

  const strip = ({ seq: _seq, ...rest }: Delivery & { seq: number }): Delivery => rest;

  return {
    enqueue(rows, now) {
      return rows.map((r) => {
        const id = `dlv_${nanoid()}`;
        insert.run({
          id,
          site: r.site,
          visitor: r.visitor,
          contact: r.contact,
          hook: r.hook,
          url: r.url,
          segment: r.segment,
          change: r.change,
          body: r.body(id),
          now,
        });
        return id;
      });
    },
    takeTurn(site, profile, hook, cooldownMs, now) {
      const contact = contactOfKey(profile);
      return (
        upsertTurn.run({ site, profile, hook, now, since: now - cooldownMs, contact }).changes > 0
      );
    },
    due: (now, limit, skip) =>
      dueQuery.all({
        now,
        limit,
        ids: JSON.stringify(skip?.ids ?? []),
        hooks: JSON.stringify(skip?.hooks ?? []),
      }),
    delivered(id, attempts, status, now) {
      markDelivered.run({ id, attempts, status, now });
    },
    attemptFailed(id, attempts, status, error, now, next) {
      markFailed.run({ id, attempts, status, error: error.slice(0, 500), now, next });
    },
    list(site, opts = {}) {
      const where = [eq(d.site, site)];
      if (opts.status) where.push(eq(d.status, opts.status));
      if (opts.before !== undefined) where.push(lt(d.seq, opts.before));
      return db
        .select(view)
        .from(d)
        .where(and(...where))
        .orderBy(desc(d.seq))
        .limit(Math.min(opts.limit ?? 100, 1000))
        .all() as (Delivery & { seq: number })[];
    },
    get(site, id) {
      const row = byId.get({ site, id });
      return row ? strip(row as Delivery & { seq: number }) : undefined;
    },
    replay(site, id, now) {
      const row = byId.get({ site, id });
      if (!row) return 'not_found';
      if (row.status !== 'failed') return 'not_failed';
      db.update(d)
        .set({ status: 'pending', attempts: 0, nextAttempt: now, lastError: null })
        .where(and(eq(d.site, site), eq(d.id, id), eq(d.status, 'failed')))
        .run();
      return 'replayed';
    },
    prune(before, limit) {
      const old = db
        .select({ seq: d.seq })
        .from(d)
        .where(
          or(
            and(eq(d.status, 'delivered'), lt(d.deliveredAt, before)),
            and(eq(d.status, 'failed'), lt(d.lastAttempt, before)),
          ),
        )
        .limit(limit);
      return db.delete(d).where(sql`${d.seq} in ${old}`).run().changes;
    },
    nextDue: () => nextDueQuery.get()?.at ?? null,
    counts() {
      const out: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0 };
      for (const r of countsQuery.all()) out[r.status] = r.n;
      return out;
    },
  };
}

/**
 * The leases of the contract (OutboxLeases) on SQLite: one process writes a SQLite file (several
 * workers are refused: `serve --workers`), so its one delivery worker has nobody to share rows
 * with. A claim is `due` (the worker leaves out what it has in flight itself), a renewal keeps
 * every row, a release has nothing to end.
 */
export function singleProcessLeases(outbox: Outbox): OutboxLeases {
  return {
    claim: async (_owner, now, _leaseMs, limit, skip) => outbox.due(now, limit, skip),
    renew: async (_owner, ids) => ids,
    release: async () => {},
  };
}
