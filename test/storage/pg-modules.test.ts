/**
 * The PostgreSQL backend's modules one by one (collector/storage/pg/: outbox, quarantine,
 * audience, erasure, rfm, health) on a migrated database of the run's throwaway server, each
 * held to what the SQLite backend's tests assert of its twin (test/engine/storage-contract.test.ts,
 * test/engine/storage.test.ts, test/triggers/erasure.test.ts, test/security/quarantine-bounds.test.ts,
 * test/collector/ops.test.ts). The rows the other modules would write (profiles, events, links)
 * are inserted here with plain SQL. Numbers come back as numbers: `pg` reads int8 and count(*)
 * as strings unless the query casts them.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import type { MemberRow, NewDelivery } from '../../collector/storage/contract.ts';
import {
  countMembers,
  likeOf,
  members,
  segmentCounts,
  sitesWithProfiles,
} from '../../collector/storage/pg/audience.ts';
import type { Queryable } from '../../collector/storage/pg/db.ts';
import {
  claimAnonymousRows,
  eraseContact,
  eraseVisitor,
  pruneBatch,
} from '../../collector/storage/pg/erasure.ts';
import { pgHealth } from '../../collector/storage/pg/health.ts';
import { endPool, trackConnections } from '../../collector/storage/pg/pool.ts';
import { migratePg } from '../../collector/storage/pg/migrate.ts';
import { outboxPg } from '../../collector/storage/pg/outbox.ts';
import { quarantinePg } from '../../collector/storage/pg/quarantine.ts';
import { rfmPg } from '../../collector/storage/pg/rfm.ts';
import { DEFAULT_QUARANTINE, type Refusal } from '../../collector/storage/quarantine.ts';
import { openDb } from '../../collector/storage/sqlite/open.ts';
import { rfmStore } from '../../collector/storage/sqlite/rfm.ts';
import { createTestDatabase, pgTestDatabase, testPool } from '../support/pg-database.ts';
import { DAY, T0, tempDir } from '../temp.ts';

const pgUrl = inject('pgUrl');

describe.skipIf(!pgUrl)('PostgreSQL storage modules', () => {
  const db = pgTestDatabase();
  let pool: pg.Pool;
  beforeAll(async () => {
    await migratePg(db.url);
    pool = testPool(db.url, 4);
  });
  afterAll(async () => {
    if (pool) await endPool(pool);
  });

  /** Runs `fn` in a transaction of its own client, as a write job does; rolls back on a throw. */
  async function inTx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  }

  const count = async (sql: string, params: unknown[] = []) =>
    Number((await pool.query(sql, params)).rows[0]?.n);

  /** A stored profile as the write path leaves it (only the columns these modules read matter). */
  async function profile(
    site: string,
    visitor: string,
    over: {
      segment?: string;
      segments?: string[];
      purchases?: number;
      monetary?: number;
      lastPurchase?: number | null;
    } = {},
  ) {
    await pool.query(
      `INSERT INTO profiles (site, visitor, first_seen, last_seen, updated, segment, data, segments,
                             purchases, monetary, last_purchase)
       VALUES ($1, $2, $3, $3, $3, $4, '{}', $5::jsonb, $6, $7, $8)`,
      [
        site,
        visitor,
        T0,
        over.segment ?? 'newbie:cameras:cold',
        JSON.stringify(over.segments ?? []),
        over.purchases ?? 0,
        over.monetary ?? 0,
        over.lastPurchase ?? null,
      ],
    );
  }

  const delivery = (site: string, visitor: string, hook: string, n = 0): NewDelivery => ({
    site,
    visitor,
    contact: null,
    hook,
    url: 'https://hooks.example/',
    segment: 'big',
    change: n % 2 === 0 ? 'enter' : 'exit',
    body: (id) => JSON.stringify({ id, n }),
  });

  describe('outbox', () => {
    beforeEach(async () => {
      await pool.query('TRUNCATE webhook_deliveries, webhook_cooldowns');
    });

    it('hands out what is due oldest first, one per (visitor, webhook), the next once the first is done', async () => {
      const ids = await inTx((q) =>
        outboxPg(q).enqueue(
          [
            delivery('s', 'v', 'h', 0),
            delivery('s', 'v', 'h', 1),
            delivery('s', 'v', 'other', 2),
            delivery('s', 'w', 'h', 3),
          ],
          T0,
        ),
      );
      expect(ids).toHaveLength(4);
      expect(new Set(ids).size).toBe(4);
      const [first, second, other, w] = ids;
      const out = outboxPg(pool);
      const due = await out.due(T0, 10);
      // v/h's second delivery waits for its first (enter before exit).
      expect(due.map((d) => d.id)).toEqual([first, other, w]);
      expect(due[0]).toMatchObject({ site: 's', visitor: 'v', hook: 'h', attempts: 0 });
      expect(typeof due[0]?.seq).toBe('number');
      expect(due[0]?.body).toBe(JSON.stringify({ id: first, n: 0 }));
      // Not yet due, the limit, and the skip lists (in flight; a webhook at its share).
      expect(await out.due(T0 - 1, 10)).toEqual([]);
      expect((await out.due(T0, 1)).map((d) => d.id)).toEqual([first]);
      expect(
        (await out.due(T0, 10, { ids: [first ?? ''], hooks: ['s/other'] })).map((d) => d.id),
      ).toEqual([w]);
      // A key with SQL-ish characters in it is only itself.
      expect((await out.due(T0, 10, { ids: [], hooks: ["s/h' or '1"] })).length).toBe(3);
      expect(await out.nextDue()).toBe(T0);
      await out.delivered(first ?? '', 1, 200, T0 + 5);
      expect((await out.due(T0, 10)).map((d) => d.id)).toEqual([second, other, w]);
      expect(await out.counts()).toEqual({ pending: 3, delivered: 1, failed: 0 });
      const got = await out.get('s', first ?? '');
      expect(got).toMatchObject({
        status: 'delivered',
        attempts: 1,
        lastStatus: 200,
        created: T0,
        deliveredAt: T0 + 5,
        lastAttempt: T0 + 5,
      });
      expect(got && 'seq' in got).toBe(false);
      expect(await out.get('other-site', first ?? '')).toBeUndefined();
    });

    it('takes a turn once per cooldown, owned by the contact of a c: profile', async () => {
      const take = (profileId: string, at: number) =>
        inTx((q) => outboxPg(q).takeTurn('s', profileId, 'h', 60_000, at));
      expect(await take('v', T0)).toBe(true);
      expect(await take('v', T0 + 1)).toBe(false);
      expect(await take('v', T0 + 59_999)).toBe(false);
      expect(await take('v', T0 + 60_000)).toBe(true);
      expect(await take('c:ann', T0)).toBe(true);
      const rows = await pool.query(
        'SELECT visitor, contact, at::float8 AS at FROM webhook_cooldowns ORDER BY visitor',
      );
      expect(rows.rows).toEqual([
        { visitor: 'c:ann', contact: 'ann', at: T0 },
        { visitor: 'v', contact: null, at: T0 + 60_000 },
      ]);
      // Two transactions asking at once: one turn (the second waits for the first's row lock).
      const both = await Promise.all([take('x', T0), take('x', T0)]);
      expect(both.sort()).toEqual([false, true]);
    });

    it('retries a failed attempt, fails for good, replays, lists and prunes', async () => {
      const [a, b] = await inTx((q) =>
        outboxPg(q).enqueue([delivery('s', 'v', 'h'), delivery('s', 'w', 'h')], T0),
      );
      const out = outboxPg(pool);
      await out.attemptFailed(a ?? '', 1, 500, 'x'.repeat(800), T0 + 1, T0 + 1000);
      expect(await out.get('s', a ?? '')).toMatchObject({
        status: 'pending',
        attempts: 1,
        nextAttempt: T0 + 1000,
        lastStatus: 500,
      });
      expect((await out.get('s', a ?? ''))?.lastError).toHaveLength(500);
      expect((await out.due(T0 + 1, 10)).map((d) => d.id)).toEqual([b]);
      expect(await out.nextDue()).toBe(T0);
      await out.attemptFailed(a ?? '', 2, null, 'timeout', T0 + 1000, null);
      expect(await out.get('s', a ?? '')).toMatchObject({
        status: 'failed',
        attempts: 2,
        lastStatus: null,
        nextAttempt: T0 + 1000,
      });
      // A late answer for a delivery no longer pending changes nothing.
      await out.delivered(a ?? '', 3, 200, T0 + 2000);
      expect((await out.get('s', a ?? ''))?.status).toBe('failed');
      expect(await out.replay('s', 'dlv_nope', T0)).toBe('not_found');
      expect(await out.replay('other', a ?? '', T0)).toBe('not_found');
      expect(await out.replay('s', b ?? '', T0)).toBe('not_failed');
      expect(await out.replay('s', a ?? '', T0 + 3000)).toBe('replayed');
      expect(await out.get('s', a ?? '')).toMatchObject({
        status: 'pending',
        attempts: 0,
        nextAttempt: T0 + 3000,
        lastError: null,
      });
      await out.delivered(a ?? '', 1, 204, T0 + 4000);
      await out.attemptFailed(b ?? '', 1, 404, 'gone', T0 + 4000, null);
      const listed = await out.list('s');
      expect(listed.map((d) => d.id)).toEqual([b, a]);
      expect(typeof listed[0]?.seq).toBe('number');
      expect((await out.list('s', { status: 'failed' })).map((d) => d.id)).toEqual([b]);
      expect((await out.list('s', { before: listed[0]?.seq })).map((d) => d.id)).toEqual([a]);
      expect((await out.list('s', { limit: 1 })).map((d) => d.id)).toEqual([b]);
      expect(await out.counts()).toEqual({ pending: 0, delivered: 1, failed: 1 });
      // Finished before the cutoff, a batch at a time; pending rows never go.
      const [c] = await inTx((q) => outboxPg(q).enqueue([delivery('s', 'z', 'h')], T0));
      expect(await out.prune(T0 + 4000, 10)).toBe(0);
      expect(await out.prune(T0 + 4001, 1)).toBe(1);
      expect(await out.prune(T0 + 4001, 1)).toBe(1);
      expect(await out.prune(T0 + 4001, 1)).toBe(0);
      expect((await out.list('s')).map((d) => d.id)).toEqual([c]);
    });

    it('enqueues in the transaction: a rollback leaves no delivery', async () => {
      await expect(
        inTx(async (q) => {
          await outboxPg(q).enqueue([delivery('s', 'v', 'h')], T0);
          throw new Error('the job failed');
        }),
      ).rejects.toThrow('the job failed');
      expect(await outboxPg(pool).counts()).toEqual({ pending: 0, delivered: 0, failed: 0 });
      expect(await inTx((q) => outboxPg(q).enqueue([], T0))).toEqual([]);
    });
  });

  describe('quarantine', () => {
    beforeEach(async () => {
      await pool.query('TRUNCATE quarantine, links');
    });
    const refusal = (i: number, visitor: string | null = 'v', raw: unknown = { i }): Refusal => ({
      visitor,
      refused: { index: i, id: `r${i}`, error: 'invalid_event', message: 'bad' },
      raw,
    });
    const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => refusal(from + i));

    it('keeps refusals up to the day cap, tells the listener of the rest, lists newest first', async () => {
      const skipped: [string, number][] = [];
      const tell = (site: string, k: number) => skipped.push([site, k]);
      const policy = { ...DEFAULT_QUARANTINE, rowsPerDay: 3 };
      const notKept = await inTx((q) =>
        quarantinePg(q).keep('s', 'collect', many(5), T0, policy, tell),
      );
      expect(notKept).toBe(2);
      expect(skipped).toEqual([['s', 2]]);
      const rows = await quarantinePg(pool).list('s');
      expect(rows.map((r) => r.eventId)).toEqual(['r2', 'r1', 'r0']);
      expect(rows[0]).toMatchObject({
        site: 's',
        visitor: 'v',
        source: 'collect',
        received: T0,
        error: 'invalid_event',
        message: 'bad',
        payload: JSON.stringify({ i: 2 }),
        contact: null,
      });
      expect(typeof rows[0]?.seq).toBe('number');
      expect((await quarantinePg(pool).list('s', 1, rows[0]?.seq)).map((r) => r.eventId)).toEqual([
        'r1',
      ]);
      expect(await quarantinePg(pool).list('t')).toEqual([]);
      // The day is full: nothing more is kept, and an empty request is not a skip.
      expect(
        await inTx((q) => quarantinePg(q).keep('s', 'collect', many(2), T0 + 1, policy, tell)),
      ).toBe(2);
      expect(await inTx((q) => quarantinePg(q).keep('s', 'collect', [], T0, policy, tell))).toBe(0);
      expect(skipped).toEqual([
        ['s', 2],
        ['s', 2],
      ]);
      // Another site has its own day; the next UTC day has room again.
      expect(
        await inTx((q) => quarantinePg(q).keep('t', 'events', many(1), T0, policy, tell)),
      ).toBe(0);
      expect(
        await inTx((q) => quarantinePg(q).keep('s', 'collect', many(4), T0 + DAY, policy, tell)),
      ).toBe(1);
    });

    it(`keeps at most ${LIMITS.quarantinePerRequest} of one request and the day's cap over requests`, async () => {
      const policy = { ...DEFAULT_QUARANTINE, rowsPerDay: 25 };
      const keep = (n: number) =>
        inTx((q) => quarantinePg(q).keep('s', 'collect', many(n), T0, policy, () => {}));
      expect(await keep(100)).toBe(100 - LIMITS.quarantinePerRequest);
      expect(await keep(100)).toBe(100 - LIMITS.quarantinePerRequest);
      expect(await keep(100)).toBe(100 - (25 - 2 * LIMITS.quarantinePerRequest));
      expect(await keep(1)).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM quarantine`)).toBe(25);
      // Yesterday's rows do not count against today.
      expect(
        await inTx((q) =>
          quarantinePg(q).keep('s', 'collect', many(3), T0 + DAY, policy, () => {}),
        ),
      ).toBe(0);
    });

    it('a refusal whose write was rolled back does not count against the day', async () => {
      const policy = { ...DEFAULT_QUARANTINE, rowsPerDay: 10 };
      await expect(
        inTx(async (q) => {
          expect(await quarantinePg(q).keep('s', 'collect', many(10), T0, policy, () => {})).toBe(
            0,
          );
          throw new Error('disk full');
        }),
      ).rejects.toThrow('disk full');
      expect(
        await inTx((q) => quarantinePg(q).keep('s', 'collect', many(10), T0, policy, () => {})),
      ).toBe(0);
      expect(await count('SELECT count(*) AS n FROM quarantine')).toBe(10);
    });

    it("names the owner: a c: id's contact, or the contact the visitor is linked to now", async () => {
      await pool.query(
        `INSERT INTO links (site, visitor, contact, linked_at, expires) VALUES
           ('s', 'dev', 'ann', $1, $2), ('s', 'old', 'bob', $1, $1)`,
        [T0 - DAY, T0 + DAY],
      );
      await inTx((q) =>
        quarantinePg(q).keep(
          's',
          'events',
          [refusal(0, 'dev'), refusal(1, 'c:cat'), refusal(2, 'old'), refusal(3, null)],
          T0,
          DEFAULT_QUARANTINE,
          () => {},
        ),
      );
      const rows = await quarantinePg(pool).list('s');
      expect(rows.map((r) => [r.eventId, r.visitor, r.contact])).toEqual([
        ['r3', null, null],
        ['r2', 'old', null],
        ['r1', 'c:cat', 'cat'],
        ['r0', 'dev', 'ann'],
      ]);
    });

    it('stores the capped payload, whatever shape was sent', async () => {
      let deep: unknown = 'leaf';
      for (let i = 0; i < 12_000; i++) deep = [deep];
      await inTx((q) =>
        quarantinePg(q).keep(
          's',
          'collect',
          [refusal(0, 'v', { text: 'é'.repeat(5000) }), refusal(1, 'v', deep)],
          T0,
          DEFAULT_QUARANTINE,
          () => {},
        ),
      );
      for (const r of await quarantinePg(pool).list('s')) {
        expect(Buffer.byteLength(r.payload)).toBeLessThanOrEqual(LIMITS.quarantinePayloadBytes);
      }
    });
  });

  describe('audience', () => {
    beforeAll(async () => {
      await pool.query('TRUNCATE profiles');
      await profile('s', 'a', { segment: 'newbie:cameras:hot', segments: ['camera-intent'] });
      await profile('s', 'b', {
        segment: 'newbie:cameras:cold',
        segments: ['camera-intent', 'big'],
      });
      await profile('s', 'c', { segment: 'loyal:books:hot' });
      await profile('s', 'pct', { segment: 'x%y' });
      await profile('s', 'und', { segment: 'x_y' });
      await profile('s', 'any', { segment: 'xzy' });
      await profile('s', 'bsl', { segment: 'x\\y' });
      await profile('s', 'glob', { segment: 'x[?]y' });
      await profile('t', 'z', { segment: 'newbie:cameras:hot', segments: ['camera-intent'] });
      await profile('B-site', 'z', { segment: 'newbie:cameras:hot' });
    });

    it('counts members per key and per custom segment, as numbers', async () => {
      const counts = await segmentCounts(pool, 's');
      expect(counts.keys).toEqual({
        'newbie:cameras:hot': 1,
        'newbie:cameras:cold': 1,
        'loyal:books:hot': 1,
        'x%y': 1,
        x_y: 1,
        xzy: 1,
        'x\\y': 1,
        'x[?]y': 1,
      });
      expect(counts.custom).toEqual({ 'camera-intent': 2, big: 1 });
      expect(await segmentCounts(pool, 'nobody')).toEqual({ keys: {}, custom: {} });
    });

    it('matches key patterns with only * special: %, _ and \\ are themselves', async () => {
      const n = (pattern: string) => countMembers(pool, 's', { kind: 'key', pattern });
      expect(await n('*')).toBe(8);
      expect(await n('newbie:*')).toBe(2);
      expect(await n('*:hot')).toBe(2);
      expect(await n('newbie:cameras:hot')).toBe(1);
      expect(await n('x%y')).toBe(1);
      expect(await n('x_y')).toBe(1);
      expect(await n('x\\y')).toBe(1);
      expect(await n('x[?]y')).toBe(1);
      expect(await n('x*y')).toBe(5);
      expect(await n('%')).toBe(0);
      expect(await n('_*')).toBe(0);
      expect(await n('NEWBIE:*')).toBe(0);
      expect(likeOf('a%b_c\\d*')).toBe('a\\%b\\_c\\\\d%');
    });

    it('counts members of a custom segment, and lists the sites bytewise', async () => {
      const n = (name: string) => countMembers(pool, 's', { kind: 'custom', name });
      expect(await n('camera-intent')).toBe(2);
      expect(await n('big')).toBe(1);
      expect(await n('none')).toBe(0);
      expect(await n('"big"')).toBe(0);
      expect(await sitesWithProfiles(pool)).toEqual(['B-site', 's', 't']);
    });

    it('streams members with segments as JSON text and numbers as numbers', async () => {
      const rows: MemberRow[] = [];
      for await (const m of members(pool, 's', { kind: 'custom', name: 'camera-intent' }))
        rows.push(m);
      rows.sort((x, y) => x.visitor.localeCompare(y.visitor));
      expect(rows).toEqual([
        {
          visitor: 'a',
          segment: 'newbie:cameras:hot',
          segments: '["camera-intent"]',
          firstSeen: T0,
          lastSeen: T0,
          purchases: 0,
          monetary: 0,
        },
        {
          visitor: 'b',
          segment: 'newbie:cameras:cold',
          segments: '["camera-intent","big"]',
          firstSeen: T0,
          lastSeen: T0,
          purchases: 0,
          monetary: 0,
        },
      ]);
      const keyed: string[] = [];
      for await (const m of members(pool, 's', { kind: 'key', pattern: 'x_y' }))
        keyed.push(m.visitor);
      expect(keyed).toEqual(['und']);
    });
  });

  describe('members export', () => {
    /** Sessions of this database other than the asking one, by state. */
    const sessions = async () =>
      (
        await pool.query<{ state: string }>(
          `SELECT state FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        )
      ).rows.map((r) => r.state);

    beforeAll(async () => {
      await pool.query(
        `INSERT INTO profiles (site, visitor, first_seen, last_seen, updated, segment, data)
         SELECT 'big', 'v' || lpad(i::text, 5, '0'), $1, $1, $1, 'newbie:cameras:hot', '{}'
           FROM generate_series(1, 1234) AS i`,
        [T0],
      );
    });

    it('reads every row past the cursor batch size, from one snapshot', async () => {
      const seen = new Set<string>();
      let i = 0;
      for await (const m of members(pool, 'big', { kind: 'key', pattern: 'newbie:*' })) {
        seen.add(m.visitor);
        // A write committed mid-export is not in it (its snapshot), past the first batch too.
        if (++i === 2) {
          await profile('big', 'late-1', { segment: 'newbie:x' });
          await pool.query(`DELETE FROM profiles WHERE site = 'big' AND visitor = 'v01234'`);
        }
      }
      expect(seen.size).toBe(1234);
      expect(seen.has('late-1')).toBe(false);
      expect(seen.has('v01234')).toBe(true);
    });

    it('releases its snapshot and client when the iteration ends early or the consumer throws', async () => {
      const before = pool.totalCount - pool.idleCount;
      const seen: string[] = [];
      for await (const m of members(pool, 'big', { kind: 'key', pattern: '*' })) {
        seen.push(m.visitor);
        // In flight: a client out of the pool, its session in a transaction.
        expect(pool.totalCount - pool.idleCount).toBe(before + 1);
        expect(await sessions()).toContain('idle in transaction');
        if (seen.length === 3) break;
      }
      expect(seen).toHaveLength(3);
      expect(pool.totalCount - pool.idleCount).toBe(before);
      expect(await sessions()).not.toContain('idle in transaction');
      await expect(
        (async () => {
          for await (const _ of members(pool, 'big', { kind: 'key', pattern: '*' })) {
            throw new Error('the consumer failed');
          }
        })(),
      ).rejects.toThrow('the consumer failed');
      expect(pool.totalCount - pool.idleCount).toBe(before);
      expect(await sessions()).not.toContain('idle in transaction');
      // Nothing asked, nothing taken: the snapshot starts at the first row asked for.
      members(pool, 'big', { kind: 'key', pattern: '*' });
      expect(pool.totalCount - pool.idleCount).toBe(before);
    });
  });

  describe('erasure', () => {
    /** Every person table (site and visitor and/or contact), as erasure finds them. */
    const PERSON_TABLES = [
      'events',
      'links',
      'profile_meta',
      'profiles',
      'quarantine',
      'segment_changes',
      'webhook_cooldowns',
      'webhook_deliveries',
    ];
    let row = 0;

    /** One row in every person table for `visitor`, owned by `contact` where a table says whose. */
    async function seed(site: string, visitor: string, contact: string | null) {
      const k = ++row;
      const q = (sql: string, params: unknown[]) => pool.query(sql, params);
      await q(
        `INSERT INTO events (site, id, visitor, type, ts, received, contact)
         VALUES ($1, $2, $3, 'page_view', $4, $4, $5)`,
        [site, `e${k}`, visitor, T0, contact],
      );
      await q(
        `INSERT INTO profiles (site, visitor, first_seen, last_seen, updated, segment, data)
         VALUES ($1, $2, $3, $3, $3, 'k', '{}') ON CONFLICT DO NOTHING`,
        [site, visitor, T0],
      );
      await q(
        `INSERT INTO profile_meta (site, visitor, updated) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        [site, visitor, T0],
      );
      await q(
        `INSERT INTO segment_changes (site, visitor, at, kind, name, contact)
         VALUES ($1, $2, $3, 'key', 'k', $4)`,
        [site, visitor, T0, contact],
      );
      await q(
        `INSERT INTO webhook_deliveries (id, site, visitor, contact, hook, url, segment, change, body,
                                         status, created, next_attempt)
         VALUES ($1, $2, $3, $4, 'h', 'https://x/', 'big', 'enter', '{}', 'pending', $5, $5)`,
        [`dlv_${k}`, site, visitor, contact, T0],
      );
      await q(
        `INSERT INTO quarantine (site, visitor, source, received, error, message, payload, contact)
         VALUES ($1, $2, 'collect', $3, 'invalid_event', 'bad', '{}', $4)`,
        [site, visitor, T0, contact],
      );
      await q(
        `INSERT INTO webhook_cooldowns (site, visitor, hook, at, contact) VALUES ($1, $2, $3, $4, $5)`,
        [site, visitor, `h${k}`, T0, contact],
      );
    }

    async function link(site: string, visitor: string, contact: string, expires: number) {
      await pool.query(
        `INSERT INTO links (site, visitor, contact, linked_at, expires) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (site, visitor) DO UPDATE SET contact = excluded.contact, expires = excluded.expires`,
        [site, visitor, contact, T0, expires],
      );
    }

    /** Rows per table that mention any of `ids` in any column (a text search of the whole row). */
    async function mentions(ids: string[]): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      for (const t of PERSON_TABLES) {
        const n = await count(
          `SELECT count(*) AS n FROM "${t}" r WHERE EXISTS (
             SELECT 1 FROM jsonb_each_text(to_jsonb(r)) AS c(k, v) WHERE c.v = ANY($1::text[]))`,
          [ids],
        );
        if (n > 0) out[t] = n;
      }
      return out;
    }

    /** Every row of every person table, for "untouched" comparisons. */
    async function snapshot(): Promise<Record<string, unknown[]>> {
      const out: Record<string, unknown[]> = {};
      for (const t of PERSON_TABLES) {
        out[t] = (await pool.query(`SELECT to_jsonb(r)::text AS j FROM "${t}" r ORDER BY 1`)).rows;
      }
      return out;
    }

    beforeEach(async () => {
      await pool.query(`TRUNCATE ${PERSON_TABLES.join(', ')}`);
    });

    it('erases one visitor from every person table, nobody else', async () => {
      await seed('s', 'gone', null);
      await seed('s', 'gone', 'ann');
      await seed('s', 'kept', null);
      await seed('t', 'gone', null);
      await link('s', 'gone', 'ann', T0 + DAY);
      expect(Object.keys(await mentions(['gone'])).sort()).toEqual(PERSON_TABLES);
      await pool.query(`DELETE FROM events WHERE visitor = 'gone' AND site = 's'`);
      await seed('s', 'gone', null);
      const res = await inTx((q) => eraseVisitor(q, 's', 'gone'));
      expect(res).toEqual({
        site: 's',
        visitors: ['gone'],
        contact: null,
        removed: {
          events: 1,
          links: 1,
          profile_meta: 1,
          profiles: 1,
          quarantine: 3,
          segment_changes: 3,
          webhook_cooldowns: 3,
          webhook_deliveries: 3,
        },
      });
      expect(
        await count(`SELECT count(*) AS n FROM events WHERE site = 's' AND visitor = 'gone'`),
      ).toBe(0);
      for (const t of PERSON_TABLES) {
        expect(
          await count(`SELECT count(*) AS n FROM "${t}" WHERE site = 's' AND visitor = 'gone'`),
          t,
        ).toBe(0);
      }
      // The other visitor and the other site's same id are all there.
      expect(await mentions(['kept'])).toMatchObject({ events: 1, profiles: 1, quarantine: 1 });
      expect(await count(`SELECT count(*) AS n FROM events WHERE site = 't'`)).toBe(1);
      // Idempotent.
      expect((await inTx((q) => eraseVisitor(q, 's', 'gone'))).removed).toEqual({});
    });

    it("erases a contact's rows and its linked devices' anonymous ones, not another contact's", async () => {
      // dev: anonymous rows, rows as ann, and rows as bob (an earlier link). c:ann: ann's own profile.
      await seed('s', 'dev', null);
      await seed('s', 'dev', 'ann');
      await seed('s', 'dev', 'bob');
      await seed('s', 'c:ann', 'ann');
      await seed('s', 'lapsed', null);
      await seed('s', 'lapsed', 'ann');
      await seed('s', 'other', null);
      await seed('s', 'c:bob', 'bob');
      await link('s', 'dev', 'ann', T0 + DAY);
      await link('s', 'lapsed', 'ann', T0 - 1);
      await link('s', 'c:ann', 'ann', Number.MAX_SAFE_INTEGER);
      await link('s', 'c:bob', 'bob', Number.MAX_SAFE_INTEGER);
      const before = await snapshot();
      const res = await inTx((q) => eraseContact(q, 's', 'ann', T0));
      expect(res.site).toBe('s');
      expect(res.contact).toBe('ann');
      expect(res.visitors.sort()).toEqual(['c:ann', 'dev', 'lapsed']);
      for (const n of Object.values(res.removed)) expect(typeof n).toBe('number');
      expect(res.removed.events).toBe(4);
      // No row names ann or its own id any more.
      expect(await mentions(['ann', 'c:ann'])).toEqual({});
      // The lapsed device's anonymous rows stay (it writes as anonymous now); so do bob's rows on dev.
      expect(
        await count(
          `SELECT count(*) AS n FROM events WHERE visitor = 'lapsed' AND contact IS NULL`,
        ),
      ).toBe(1);
      expect(
        await count(`SELECT count(*) AS n FROM events WHERE visitor = 'dev' AND contact = 'bob'`),
      ).toBe(1);
      // dev's own profile and meta (no owner column) went with its link.
      expect(await count(`SELECT count(*) AS n FROM profiles WHERE visitor = 'dev'`)).toBe(0);
      // Every row not naming ann is as it was, except the erased device's unowned rows.
      const after = await snapshot();
      for (const t of PERSON_TABLES) {
        const kept = (before[t] ?? []).filter((r) => {
          const j = JSON.parse((r as { j: string }).j) as Record<string, unknown>;
          const ann = j.contact === 'ann' || j.visitor === 'c:ann';
          const devUnowned = j.visitor === 'dev' && (j.contact ?? null) === null;
          return !ann && !devUnowned;
        });
        expect(after[t], t).toEqual(kept);
      }
    });

    it("claims a device's anonymous rows for its contact, and only those", async () => {
      await seed('s', 'dev', null);
      await seed('s', 'dev', 'bob');
      await seed('s', 'x', null);
      await inTx((q) => claimAnonymousRows(q, 's', 'dev', 'ann'));
      for (const t of [
        'events',
        'segment_changes',
        'webhook_deliveries',
        'quarantine',
        'webhook_cooldowns',
      ]) {
        expect(
          await count(`SELECT count(*) AS n FROM "${t}" WHERE visitor = 'dev' AND contact = 'ann'`),
          t,
        ).toBe(1);
        expect(
          await count(`SELECT count(*) AS n FROM "${t}" WHERE visitor = 'dev' AND contact = 'bob'`),
          t,
        ).toBe(1);
        expect(
          await count(`SELECT count(*) AS n FROM "${t}" WHERE visitor = 'x' AND contact IS NULL`),
          t,
        ).toBe(1);
      }
    });

    it('prunes aged rows in batches, by every aging column', async () => {
      await pool.query(
        `INSERT INTO events (site, id, visitor, type, ts, received) VALUES
           ('s', 'a', 'v', 'page_view', $1, $3), ('s', 'b', 'v', 'page_view', $1, $3),
           ('s', 'c', 'v', 'page_view', $3, $3), ('s', 'd', 'v', 'page_view', $1, $2),
           ('t', 'e', 'v', 'page_view', $1, $3)`,
        [T0 - 10 * DAY, T0 + 10 * DAY, T0],
      );
      const prune = () => inTx((q) => pruneBatch(q, 'events', ['ts', 'received'], 's', T0 + 1, 1));
      // `d` arrived after the cutoff: kept; `e` is another site's.
      expect(await prune()).toBe(1);
      expect(await prune()).toBe(1);
      expect(await prune()).toBe(1);
      expect(await prune()).toBe(0);
      expect(
        (await pool.query(`SELECT site, id FROM events ORDER BY id`)).rows.map((r) => r.id),
      ).toEqual(['d', 'e']);
      expect(await inTx((q) => pruneBatch(q, 'quarantine', ['received'], 's', T0, 100))).toBe(0);
    });

    it('refuses a table or a column that is not an aging one (names are written into the SQL)', async () => {
      await expect(inTx((q) => pruneBatch(q, 'profiles', ['updated'], 's', T0, 1))).rejects.toThrow(
        /not an aging table/,
      );
      await expect(
        inTx((q) => pruneBatch(q, 'events; DROP TABLE events', ['ts'], 's', T0, 1)),
      ).rejects.toThrow(/not an aging table/);
      await expect(
        inTx((q) => pruneBatch(q, 'events', ['ts', 'site'], 's', T0, 1)),
      ).rejects.toThrow(/not an aging column/);
      await expect(inTx((q) => pruneBatch(q, 'events', [], 's', T0, 1))).rejects.toThrow(
        /no aging column/,
      );
    });
  });

  describe('rfm', () => {
    /** Customers: [purchases, monetary, lastPurchase]; with ties at the breakpoints. */
    const customers: [number, number, number][] = [];
    for (let i = 0; i < 23; i++) {
      customers.push([1 + (i % 7), Math.round((i * 37.5) % 400) / 4 + 0.25, T0 - (i % 9) * DAY]);
    }

    beforeEach(async () => {
      await pool.query('TRUNCATE profiles, rfm_breakpoints');
    });

    it("computes the same quintiles as SQLite's on the same customers", async () => {
      // Both backends, the same rows; visitors without purchases count in neither.
      const tmp = tempDir();
      const sqlite = openDb(join(tmp.dir, 'rfm.db'));
      try {
        const put = sqlite.$client.prepare(
          `INSERT INTO profiles (site, visitor, first_seen, last_seen, updated, segment, data,
                                 purchases, monetary, last_purchase)
           VALUES ('s', ?, ?, ?, ?, 'k', '{}', ?, ?, ?)`,
        );
        for (const [i, [f, m, r]] of customers.entries()) {
          put.run(`c${i}`, T0, T0, T0, f, m, r);
          await profile('s', `c${i}`, { purchases: f, monetary: m, lastPurchase: r });
        }
        put.run('browser', T0, T0, T0, 0, 0, null);
        await profile('s', 'browser');
        for (const n of [5, 23, 24]) {
          const lite = rfmStore(sqlite).recompute('s', n, T0);
          const post = await inTx((q) => rfmPg(pool).recompute(q, 's', n, T0));
          expect(post, `minCustomers ${n}`).toEqual(lite);
        }
        const bp = rfmStore(sqlite).recompute('s', 5, T0);
        expect(bp?.customers).toBe(23);
        const rfm = rfmPg(pool);
        const post = await inTx((q) => rfm.recompute(q, 's', 5, T0));
        expect(post).toEqual(bp);
        for (const v of [...(post?.lastPurchase ?? []), ...(post?.frequency ?? [])])
          expect(typeof v).toBe('number');
        // Cached, and read back from the table by a fresh instance (another process).
        expect(await rfm.breakpoints('s')).toEqual(bp);
        expect(await rfmPg(pool).breakpoints('s')).toEqual(bp);
        // Every size from 1 to 23 customers: the same ranks as quintileRanks.
        for (let n = 23; n >= 1; n--) {
          sqlite.$client.prepare(`DELETE FROM profiles WHERE visitor = ?`).run(`c${n}`);
          await pool.query(`DELETE FROM profiles WHERE visitor = $1`, [`c${n}`]);
          expect(await inTx((q) => rfmPg(pool).recompute(q, 's', 1, T0)), `${n} customers`).toEqual(
            rfmStore(sqlite).recompute('s', 1, T0),
          );
        }
      } finally {
        sqlite.$client.close();
        tmp.cleanup();
      }
    });

    it('is null under minCustomers and removes the stored breakpoints', async () => {
      const rfm = rfmPg(pool);
      for (let i = 0; i < 10; i++) {
        await profile('s', `c${i}`, {
          purchases: i + 1,
          monetary: (i + 1) * 10,
          lastPurchase: T0 - i * 10 * DAY,
        });
      }
      expect(await rfm.breakpoints('s')).toBeNull();
      const bp = await inTx((q) => rfm.recompute(q, 's', 5, T0));
      expect(bp).toEqual({
        lastPurchase: [T0 - 80 * DAY, T0 - 60 * DAY, T0 - 40 * DAY, T0 - 20 * DAY],
        frequency: [2, 4, 6, 8],
        monetary: [20, 40, 60, 80],
        customers: 10,
        computed: T0,
      });
      // The cache answered null before: recompute replaced it.
      expect(await rfm.breakpoints('s')).toEqual(bp);
      expect(await inTx((q) => rfm.recompute(q, 's', 11, T0))).toBeNull();
      expect(await rfm.breakpoints('s')).toBeNull();
      expect(await count('SELECT count(*) AS n FROM rfm_breakpoints')).toBe(0);
      expect(await inTx((q) => rfm.recompute(q, 'empty', 0, T0))).toBeNull();
    });

    it("takes another process's quintiles within its cache time", async () => {
      for (let i = 0; i < 10; i++) {
        await profile('t', `c${i}`, {
          purchases: i + 1,
          monetary: (i + 1) * 10,
          lastPurchase: T0 - i * 10 * DAY,
        });
      }
      const clock = { now: 1_000 };
      const here = rfmPg(pool, { cacheMs: 30_000, now: () => clock.now });
      expect(await here.breakpoints('t')).toBeNull();
      // Another process (`microseg rfm`, another collector) stores quintiles.
      const bp = await inTx((q) => rfmPg(pool).recompute(q, 't', 5, T0));
      expect(bp).not.toBeNull();
      clock.now += 29_999;
      expect(await here.breakpoints('t')).toBeNull();
      clock.now += 1;
      expect(await here.breakpoints('t')).toEqual(bp);
    });

    it('reads a row written with recency ages (before times) as the same times', async () => {
      await pool.query(
        `INSERT INTO rfm_breakpoints (site, computed, customers, recency, frequency, monetary)
         VALUES ('old', $1, 10, $2, '[1,2,3,4]', '[1,2,3,4]')`,
        [T0, JSON.stringify([DAY, 2 * DAY, 3 * DAY, 4 * DAY])],
      );
      const rfm = rfmPg(pool);
      expect((await rfm.breakpoints('old'))?.lastPurchase).toEqual([
        T0 - 4 * DAY,
        T0 - 3 * DAY,
        T0 - 2 * DAY,
        T0 - DAY,
      ]);
      // clear() forgets the cache: a row changed by another process is read again.
      await pool.query(`UPDATE rfm_breakpoints SET customers = 11 WHERE site = 'old'`);
      expect((await rfm.breakpoints('old'))?.customers).toBe(10);
      rfm.clear();
      expect((await rfm.breakpoints('old'))?.customers).toBe(11);
    });
  });

  describe('query plans', () => {
    /**
     * Runs each query of a module and records its plan (EXPLAIN with the same parameters, which
     * PostgreSQL plans with their values, as it does node-postgres's unnamed statements). Sequential
     * scans are off: on these small tables the planner would rightly read the whole table, and the
     * question is whether the index serves the query at all.
     */
    async function plansOf(fn: (q: Queryable) => Promise<unknown>): Promise<string> {
      const client = await pool.connect();
      const plans: string[] = [];
      try {
        await client.query('BEGIN');
        await client.query('SET LOCAL enable_seqscan = off');
        const q: Queryable = {
          query: (async (text: string, values?: unknown[]) => {
            if (/^\s*(SELECT|WITH|DELETE|UPDATE)/i.test(text)) {
              const res = await client.query(`EXPLAIN ${text}`, values);
              plans.push(res.rows.map((r) => r['QUERY PLAN']).join('\n'));
            }
            return client.query(text, values);
          }) as Queryable['query'],
        };
        await fn(q);
        return plans.join('\n---\n');
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    }

    it('a key pattern walks its literal prefix in profiles_segment', async () => {
      const plan = await plansOf((q) => countMembers(q, 's', { kind: 'key', pattern: 'newbie:*' }));
      expect(plan).toMatch(/profiles_segment/);
      expect(plan).toMatch(/~>=~/);
    });

    it('the RFM breakpoints walk the partial customer indexes', async () => {
      const plan = await plansOf((q) => rfmPg(pool).recompute(q, 's', 1, T0));
      for (const index of ['profiles_rfm_f', 'profiles_rfm_m', 'profiles_rfm_r'])
        expect(plan).toContain(index);
      // The index gives the order: no sort of customers (only of the four ranks).
      expect(plan).not.toMatch(/Sort Key: .*(last_purchase|purchases|monetary)/);
    });

    it("the quarantine's day count walks quarantine_site backwards; due uses the due index", async () => {
      const plan = await plansOf((q) =>
        quarantinePg(q)
          .keep('s', 'collect', [], T0, DEFAULT_QUARANTINE, () => {})
          .then(() =>
            quarantinePg(q).keep(
              's',
              'collect',
              [{ visitor: 'v', refused: { index: 0, error: 'e', message: 'm' }, raw: 1 }],
              T0,
              DEFAULT_QUARANTINE,
              () => {},
            ),
          ),
      );
      expect(plan).toMatch(/Index Scan Backward using quarantine_site/);
      expect(await plansOf((q) => outboxPg(q).due(T0, 10))).toMatch(/webhook_deliveries_due/);
    });

    it('pruneBatch deletes by TID the rows its subquery chose from events_age', async () => {
      const plan = await plansOf((q) => pruneBatch(q, 'events', ['ts', 'received'], 's', T0, 10));
      expect(plan).toMatch(/Tid Scan/);
      expect(plan).toMatch(/events_age/);
    });
  });

  describe('on a database with a linguistic collation (ICU en-US)', () => {
    let icu: { url: string; drop(): Promise<void> } | undefined;
    let ipool: pg.Pool | undefined;
    beforeAll(async () => {
      const name = `t_icu_${process.pid}_${Date.now().toString(36)}`;
      const admin = new pg.Client({ connectionString: pgUrl });
      await admin.connect();
      try {
        await admin.query(
          `CREATE DATABASE "${name}" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`,
        );
      } finally {
        await admin.end();
      }
      const u = new URL(pgUrl);
      u.pathname = `/${name}`;
      icu = {
        url: u.toString(),
        drop: async () => {
          const c = new pg.Client({ connectionString: pgUrl });
          await c.connect();
          await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
          await c.end();
        },
      };
      await migratePg(icu.url);
      ipool = testPool(icu.url, 2);
      for (const site of ['a-site', 'B-site', 'c-site']) {
        await ipool.query(
          `INSERT INTO profiles (site, visitor, first_seen, last_seen, updated, segment, data)
           VALUES ($1, 'v', 0, 0, 0, 'newbie:cameras:hot', '{}')`,
          [site],
        );
      }
    });
    afterAll(async () => {
      if (ipool) await endPool(ipool);
      await icu?.drop();
    });

    it('lists the sites bytewise, as SQLite does, and a key prefix still walks profiles_segment', async () => {
      const p = ipool as pg.Pool;
      // The database's own order puts a before B; SQLite's (and this list's) does not.
      const own = await p.query('SELECT site FROM profiles ORDER BY site');
      expect(own.rows.map((r) => r.site)).toEqual(['a-site', 'B-site', 'c-site']);
      expect(await sitesWithProfiles(p)).toEqual(['B-site', 'a-site', 'c-site']);
      const client = await p.connect();
      try {
        await client.query('BEGIN');
        await client.query('SET LOCAL enable_seqscan = off');
        const plan = await client.query(
          `EXPLAIN SELECT count(*) FROM profiles WHERE site = $1 AND segment LIKE $2 ESCAPE '\\'`,
          ['a-site', likeOf('newbie:*')],
        );
        expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(
          /profiles_segment[\s\S]*~>=~/,
        );
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      expect(await countMembers(p, 'a-site', { kind: 'key', pattern: 'newbie:*' })).toBe(1);
    });
  });

  describe('health', () => {
    it('answers ok on a database that takes writes', async () => {
      expect(await pgHealth(pool)).toEqual({ ok: true });
      // The check's client went back to the pool.
      expect(pool.totalCount).toBe(pool.idleCount);
    });

    it('reports a read-only database, and one that does not answer', async () => {
      const other = await createTestDatabase();
      const name = new URL(other.url).pathname.slice(1);
      await pool.query(`ALTER DATABASE "${name}" SET default_transaction_read_only = on`);
      const ro = testPool(other.url, 1);
      try {
        expect(await pgHealth(ro)).toMatchObject({
          ok: false,
          error: 'storage_unavailable',
          message: expect.stringMatching(/read-only/),
        });
      } finally {
        await endPool(ro);
        await other.drop();
      }
      // Nothing listens there (a port just closed): down, within the check's timeout.
      const down = trackConnections(
        new pg.Pool({ connectionString: 'postgres://u:secret-pw@127.0.0.1:1/x', max: 1 }),
      );
      try {
        const started = Date.now();
        const res = await pgHealth(down, 500);
        expect(res).toMatchObject({ ok: false, error: 'database_unavailable' });
        expect(Date.now() - started).toBeLessThan(2000);
        expect(JSON.stringify(res)).not.toContain('secret-pw');
      } finally {
        await endPool(down);
      }
    });
  });
});
