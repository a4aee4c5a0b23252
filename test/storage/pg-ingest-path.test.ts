/**
 * The PostgreSQL ingest's fast path (collector/storage/pg/profiles.ts ingestSubject): two round
 * trips a batch, whatever its size (BEGIN with the microseg_ingest call; the profile's save, a
 * deferred statement, with COMMIT), and what that must not change: the rows stored, the sessions,
 * a failing save failing the job whole, a later read in the job seeing the save. And the session
 * lookup's plan: on the visitor's index even when the planner's statistics are stale.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { NewEvent, Storage } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { sessionSql } from '../../collector/storage/pg/sessions.ts';
import { SESSION_IDLE_MS } from '../../collector/storage/sqlite/sessions.ts';
import { literal } from '../../collector/storage/pg/write.ts';
import { pgTestDatabase } from '../support/pg-database.ts';
import { engine, eventsWith, hostileEvent, storedEvents } from './pg-fixtures.ts';
import { DAY, T0 } from '../temp.ts';

const ev = eventsWith('q');

describe('literal: the string literal pg escapeLiteral writes, by native replace', () => {
  it('writes the same literal for quotes, backslashes, both, none, unicode, the empty string', () => {
    const client = new pg.Client();
    const cases = [
      '',
      'plain',
      "it's",
      "''",
      '\\',
      'a\\b',
      "x\\'y",
      "\\'\\''",
      'é€🙂\u2028',
      '{"a":"b\\"c"}',
    ];
    for (const s of cases) expect(literal(s), s).toBe(client.escapeLiteral(s));
  });
});

const pgUrl = inject('pgUrl');

describe('microseg_ingest (drizzle-pg/0004_ingest_functions.sql)', () => {
  it('looks sessions up with the idle time the rest of the collector uses (SESSION_IDLE_MS)', () => {
    // PL/pgSQL cannot import the constant: a change of it needs a migration replacing the function.
    const sql = readFileSync(
      new URL('../../drizzle-pg/0004_ingest_functions.sql', import.meta.url),
      'utf8',
    );
    expect(sql.match(/\b\d{6,}\b/g)).toEqual([String(SESSION_IDLE_MS), String(SESSION_IDLE_MS)]);
  });
});

describe.skipIf(!pgUrl)('PostgreSQL ingest path', () => {
  const db = pgTestDatabase();
  let storage: Storage;
  let admin: pg.Client;
  beforeAll(async () => {
    storage = await openStorage(db.url, { poolSize: 4 });
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await storage?.close();
  });

  const ingest = (visitor: string, events: NewEvent[], now = T0) =>
    storage.write((tx) => tx.ingest('s', visitor, events, engine, now));
  const ingestSubject = (visitor: string, events: NewEvent[], now = T0) =>
    storage.write((tx) => tx.ingestSubject('s', { visitor }, events, engine, now));

  /** The statements (pg `query` calls: one round trip each) the job sends, BEGIN to COMMIT. */
  async function roundTrips<T>(job: () => Promise<T>): Promise<{ value: T; sent: string[] }> {
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const value = await job();
      const sent = spy.mock.calls.map(([q]) =>
        typeof q === 'string' ? q : (q as { text: string }).text,
      );
      return { value, sent };
    } finally {
      spy.mockRestore();
    }
  }

  it('stores a batch of any size in two round trips: BEGIN with the ingest, the save with COMMIT', async () => {
    // The site's RFM quintiles are read once (then cached): not part of a batch's round trips.
    await ingestSubject('rt-first', [ev()]);
    for (const size of [1, 10]) {
      const batch = Array.from({ length: size }, (_, i) => ev({ ts: T0 + i }));
      const { value, sent } = await roundTrips(() => ingestSubject(`rt${size}`, batch));
      expect(value.result.accepted).toBe(size);
      expect(sent).toHaveLength(2);
      expect(sent[0]).toMatch(/^BEGIN;SELECT \* FROM microseg_ingest\(/);
      expect(sent[1]).toMatch(/^SELECT microseg_save_profile\(.*;\nCOMMIT$/s);
      expect((await storage.profile('s', `rt${size}`))?.profile.count).toBe(size);
    }
  });

  it('stores what the parameterized statements store: every column, sessions, duplicates', async () => {
    const odd = (id: string, ts: number) =>
      hostileEvent(id, ts, {
        props: { k: 'v\'\\"', n: 1.5e300, b: false, z: 'a\\u0000' },
        session: id === 'jb2' ? 'given' : undefined,
      });
    // By parameters (tx.ingest: the first event of each batch), one event a batch.
    for (const [i, t] of [T0, T0 + 1, T0 + 2].entries()) await ingest('json-a', [odd(`ja${i}`, t)]);
    // By microseg_ingest: one batch, a duplicate inside it.
    const batch = [odd('jb0', T0), odd('jb1', T0 + 1), odd('jb0', T0 + 5), odd('jb2', T0 + 2)];
    const out = await ingestSubject('json-b', batch);
    expect(out.result).toMatchObject({ accepted: 3, duplicates: 1 });
    const rowsOf = (visitor: string) => storedEvents(admin, visitor);
    const a = await rowsOf('json-a');
    const b = await rowsOf('json-b');
    expect(b).toHaveLength(3);
    expect(b.map(({ session, ...r }) => r)).toEqual(a.map(({ session, ...r }) => r));
    expect(a.map((r) => r.session)).toEqual(['ja0', 'ja0', 'ja0']);
    // A session the event brings is kept; the others join the batch's first.
    expect(b.map((r) => r.session)).toEqual(['jb0', 'jb0', 'given']);
    const pa = (await storage.profile('s', 'json-a'))?.profile;
    const pb = (await storage.profile('s', 'json-b'))?.profile;
    expect(pb?.count).toBe(3);
    expect(JSON.parse(JSON.stringify(pb).replaceAll('jb', 'ja'))).toEqual(pa);
    // A late event 5 minutes before the first joins its session (the nearest after it).
    await ingestSubject('json-b', [odd('jb3', T0 - 5 * 60_000)]);
    expect((await rowsOf('json-b'))[0]).toMatchObject({ session: 'jb0' });
  });

  it('a batch with a lone surrogate (jsonb refuses it) is stored as by parameters: U+FFFD', async () => {
    const out = await ingestSubject('json-sur', [ev(), ev({ category: '\ud800', url: 'x\udfff' })]);
    expect(out.result.accepted).toBe(2);
    const { rows } = await admin.query(
      "SELECT category, url FROM events WHERE visitor = 'json-sur' AND url IS NOT NULL",
    );
    expect(rows).toEqual([{ category: '\ufffd', url: 'x\ufffd' }]);
  });

  it('a batch with a NUL goes statement by statement, and the server refuses it as before', async () => {
    const nul = ingestSubject('json-nul', [ev(), ev({ url: 'https://x.example/\u0000' })]);
    await expect(nul).rejects.toMatchObject({ code: '22021' });
    expect(await storage.countEvents('s', 'json-nul')).toBe(0);
  });

  it("a job's identity, outbox and rules are built on first use, once, on the job's connection", async () => {
    const seen = await storage.write(async (tx) => {
      // Not built by an ingest (txOn's getters); the same object each time once built.
      await tx.ingestSubject('s', { visitor: 'lazy' }, [ev()], engine, T0);
      const first = [tx.identity, tx.outbox, tx.rules];
      const same = [tx.identity, tx.outbox, tx.rules].map((o, i) => o === first[i]);
      // On the job's transaction: they see its uncommitted rows.
      await tx.identity.setMeta(
        's',
        'lazy',
        { traits: { plan: 'pro' }, first: null, last: null },
        T0,
      );
      return { same, meta: await tx.identity.meta('s', 'lazy') };
    });
    expect(seen.same).toEqual([true, true, true]);
    expect(seen.meta?.traits).toEqual({ plan: 'pro' });
  });

  it('a later read in the job sees the deferred save, through the tx and through Storage', async () => {
    const seen = await storage.write(async (tx) => {
      await tx.ingestSubject('s', { visitor: 'later' }, [ev()], engine, T0);
      const viaTx = (await tx.profile('s', 'later'))?.profile.count;
      await tx.ingestSubject('s', { visitor: 'later' }, [ev({ ts: T0 + 1 })], engine, T0 + 1);
      const viaStorage = (await storage.profile('s', 'later'))?.profile.count;
      return [viaTx, viaStorage];
    });
    expect(seen).toEqual([1, 2]);
    expect((await storage.profile('s', 'later'))?.profile.count).toBe(2);
  });

  it('a save that fails with COMMIT fails its job, and nothing of the job is kept', async () => {
    await admin.query("ALTER TABLE profiles ADD CONSTRAINT no_boom CHECK (visitor <> 'boom')");
    try {
      const boom = ingestSubject('boom', [ev()]);
      await expect(boom).rejects.toMatchObject({ code: '23514' });
      expect(await storage.countEvents('s', 'boom')).toBe(0);
      // The connection was given back usable: the next jobs commit.
      for (let i = 0; i < 6; i++) await ingestSubject(`after-boom-${i}`, [ev()]);
      expect(await storage.countEvents('s', 'after-boom-5')).toBe(1);
    } finally {
      await admin.query('ALTER TABLE profiles DROP CONSTRAINT no_boom');
    }
  });

  it("looks a session up on the visitor's index, even when the statistics are stale", async () => {
    // Many events of old, analyzed: the planner believes that no event is as recent as now, and
    // finds a range of `events_age` (every visitor's events of the last 30 minutes) cheaper than
    // the visitor's own, whereas that range is the site's whole recent traffic (the bench: ~580
    // buffers a lookup, against 20). Plans made for the values at hand, as the first executions
    // of a prepared statement are (a generic plan chose `events_age` too, on a fresh table).
    await admin.query(`INSERT INTO events (site, id, visitor, type, ts, received, session)
      SELECT 'big', 'old' || g, 'v' || (g % 500), 'page_view', ${T0 - 30 * DAY} + g, 0, 'x'
        FROM generate_series(1, 5000) g`);
    await admin.query('ANALYZE events');
    // Then the last half hour's traffic, of other visitors, not analyzed yet.
    await admin.query(`INSERT INTO events (site, id, visitor, type, ts, received, session)
      SELECT 'big', 'new' || g, 'w' || (g % 500), 'page_view', ${T0} - g * 300, 0, 'x'
        FROM generate_series(1, 5000) g`);
    await admin.query(
      `PREPARE lookup(text, text, bigint, text) AS SELECT ${sessionSql('$1', '$2', '$3::bigint', '$4')}`,
    );
    await admin.query('SET plan_cache_mode = force_custom_plan');
    try {
      const plan = (await admin.query(`EXPLAIN EXECUTE lookup('big', 'v1', ${T0}, 'e')`)).rows.map(
        (r) => r['QUERY PLAN'] as string,
      );
      expect(plan.join('\n')).toContain('events_visitor');
      expect(plan.join('\n')).not.toContain('events_age');
      // The same lookup inside microseg_ingest, seen by auto_explain.
      const notices: string[] = [];
      const onNotice = (m: { message?: string }) => notices.push(m.message ?? '');
      admin.on('notice', onNotice);
      await admin.query("LOAD 'auto_explain'");
      await admin.query(
        "SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = 'notice'",
      );
      await admin.query('BEGIN');
      await admin.query(
        `SELECT * FROM microseg_ingest('big', 'v1', NULL, ${T0}, '[{"id":"new1","type":"page_view","ts":${T0}}]'::jsonb)`,
      );
      await admin.query('ROLLBACK');
      await admin.query('SET auto_explain.log_min_duration = -1');
      admin.off('notice', onNotice);
      const insert = notices.find((m) => m.includes('Insert on events'));
      expect(insert).toContain('events_visitor');
      expect(insert).not.toContain('events_age');
    } finally {
      await admin.query('RESET plan_cache_mode');
      await admin.query('DEALLOCATE lookup');
    }
  });
});
