/**
 * The PostgreSQL backend's core (collector/storage/pg/): ingest and the segment read, merge,
 * refresh, identity, change listeners in the transaction, the write path (a transaction per job,
 * concurrent jobs, retries, the nested-write refusal, drain and close), and storage failures
 * answered as the server's condition. Against the run's throwaway server (test/support/postgres.ts),
 * a database of this file's own; skipped when PostgreSQL is not installed.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { storageFailure } from '../../collector/http/health.ts';
import type { NewEvent, Storage } from '../../collector/storage/contract.ts';
import { isPostgresUrl } from '../../collector/config/db-url.ts';
import { patchTraits } from '../../collector/identity/identify.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { MAX_ATTEMPTS } from '../../collector/storage/pg/write.ts';
import { NESTED_WRITE } from '../../collector/storage/sqlite/write-queue.ts';
import { pgTestDatabase } from '../support/pg-database.ts';
import { engine, eventsWith, hostileEvent, storedEvents } from './pg-fixtures.ts';
import { DAY, T0, tempDir } from '../temp.ts';

const ev = eventsWith('p');

describe('storageFailure: PostgreSQL conditions answer 503, bugs stay 500', () => {
  const codeOf = (code: string) => storageFailure(Object.assign(new Error('x'), { code }));
  it('maps disk full, busy and unavailable SQLSTATEs and socket errors', () => {
    expect(codeOf('53100')?.error).toBe('storage_full');
    for (const c of ['53300', '53200', '55P03', '57014', '40001', '40P01'])
      expect(codeOf(c)?.error).toBe('storage_busy');
    for (const c of ['08006', '08001', '57P01', '57P03', '25006', '58030', 'XX001', 'ECONNREFUSED'])
      expect(codeOf(c)?.error).toBe('storage_unavailable');
    expect(storageFailure(new Error('Connection terminated unexpectedly'))?.code).toBe(
      'connection_lost',
    );
  });
  it('leaves constraint violations, syntax errors and plain errors alone', () => {
    for (const c of ['23505', '42601', '22P02', 'ERR_INVALID_ARG_TYPE'])
      expect(codeOf(c)).toBeNull();
    expect(storageFailure(new Error('boom'))).toBeNull();
    expect(codeOf('SQLITE_FULL')?.error).toBe('storage_full');
  });
});

const pgUrl = inject('pgUrl');

describe.skipIf(!pgUrl)('PostgreSQL backend', () => {
  const db = pgTestDatabase();
  let storage: Storage;
  /** A second connection, to look at rows and to play the server's tricks. */
  let admin: pg.Client;
  beforeAll(async () => {
    // Its idle connections are ended too by the pool error test: quietly.
    storage = await openStorage(db.url, { poolSize: 8, onPoolError: () => {} });
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await storage?.close();
  });

  const ingest = (visitor: string, events: NewEvent[], now = T0, site = 's') =>
    storage.write((tx) => tx.ingest(site, visitor, events, engine, now));

  it('opens a postgres:// URL as PostgreSQL, migrations applied', async () => {
    expect(isPostgresUrl(db.url)).toBe(true);
    expect(storage.kind).toBe('postgres');
    const { rows } = await admin.query<{ n: string }>(
      'SELECT count(*) AS n FROM drizzle.__drizzle_migrations',
    );
    expect(Number(rows[0]?.n)).toBeGreaterThan(0);
  });

  it('ingests and reads the segment back; numbers are numbers', async () => {
    const last = ev({ ts: T0 + 1000 });
    const first = await ingest('v1', [ev(), last]);
    expect(first).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(first.before).toEqual({ key: null, segments: [] });
    expect(first.changes).toEqual([{ kind: 'key', name: first.segment.segment, previous: null }]);
    const read = await storage.segmentInputs('s', 'v1', T0 + 2000);
    expect(read.key).toBe('v1');
    expect(read.contact).toBeNull();
    expect(read.stored?.profile.count).toBe(2);
    expect(read.stored?.updated).toBe(T0);
    expect(read.entry.kept).toBe(false);
    expect(await storage.countEvents('s', 'v1')).toBe(2);
    expect(typeof (await storage.countEvents('s'))).toBe('number');
    const history = await storage.segmentHistory('s', 'v1');
    expect(history).toMatchObject([{ kind: 'key', at: T0, event: last.id }]);
    expect(typeof history[0]?.seq).toBe('number');
    // An unknown visitor reads as nobody.
    const nobody = await storage.segmentInputs('s', 'nobody');
    expect(nobody).toMatchObject({ key: 'nobody', contact: null, stored: undefined });
  });

  it('stores an event id once: a retried batch is all duplicates and changes nothing', async () => {
    const batch = [ev(), ev()];
    await ingest('v2', batch);
    const again = await ingest('v2', [...batch, ev()]);
    expect(again).toMatchObject({ accepted: 1, duplicates: 2 });
    expect((await storage.profile('s', 'v2'))?.profile.count).toBe(3);
    expect(await storage.countEvents('s', 'v2')).toBe(3);
  });

  it('assigns sessions at ingest: a gap of 30 minutes starts a new one', async () => {
    const a = ev({ ts: T0 });
    const b = ev({ ts: T0 + 10 * 60_000 });
    const c = ev({ ts: T0 + 60 * 60_000 });
    await ingest('v3', [a, b, c]);
    // A late event just before the first one joins it (the nearest after, within 30 minutes).
    const late = ev({ ts: T0 - 5 * 60_000 });
    await ingest('v3', [late]);
    const { rows } = await admin.query<{ id: string; session: string }>(
      "SELECT id, session FROM events WHERE site = 's' AND visitor = 'v3' ORDER BY ts",
    );
    expect(rows.map((r) => [r.id, r.session])).toEqual([
      [late.id, a.id],
      [a.id, a.id],
      [b.id, a.id],
      [c.id, c.id],
    ]);
  });

  it('links a visitor to a contact: reads follow the link while in force; meta round-trips', async () => {
    await storage.identity.ensureContact('s', 'ann', T0);
    await storage.identity.ensureContact('s', 'ann', T0); // a no-op
    expect(await storage.identity.contactExists('s', 'ann')).toBe(true);
    expect(await storage.identity.contactExists('s', 'bob')).toBe(false);
    await storage.identity.link('s', 'dev1', 'ann', 'g1', T0 + DAY, T0);
    await storage.identity.link('s', 'dev2', 'ann', 'g1', T0 + DAY, T0);
    expect(await storage.identity.linkOf('s', 'dev1')).toEqual({
      contact: 'ann',
      expires: T0 + DAY,
      grant: 'g1',
    });
    expect(await storage.identity.grantDevices('s', 'g1', 'dev1')).toBe(1);
    expect((await storage.identity.linkedVisitors('s', 'ann')).sort()).toEqual([
      'c:ann',
      'dev1',
      'dev2',
    ]);
    expect(await storage.identity.subject('s', 'dev1', T0)).toEqual({
      key: 'c:ann',
      contact: 'ann',
    });
    expect(await storage.identity.subject('s', 'dev1', T0 + DAY)).toEqual({
      key: 'dev1',
      contact: null,
    });
    const meta = { traits: { plan: 'pro' }, first: null, last: null };
    await storage.identity.setMeta('s', 'c:ann', meta, T0);
    expect(await storage.identity.meta('s', 'c:ann')).toEqual(meta);
    await storage.write((tx) =>
      tx.ingest('s', 'dev1', [ev()], engine, T0, { profile: 'c:ann', traits: meta.traits }),
    );
    const read = await storage.segmentInputs('s', 'dev1', T0 + 1);
    expect(read).toMatchObject({ key: 'c:ann', contact: 'ann', traits: { plan: 'pro' } });
    expect(read.stored?.profile.count).toBe(1);
    // Lapsed: the device reads its own (empty) profile again.
    expect(await storage.segmentInputs('s', 'dev1', T0 + DAY)).toMatchObject({
      key: 'dev1',
      stored: undefined,
      traits: undefined,
    });
    const { rows } = await admin.query("SELECT contact FROM events WHERE visitor = 'dev1'");
    expect(rows).toEqual([{ contact: 'ann' }]);
    await storage.identity.deleteMeta('s', 'c:ann');
    expect(await storage.identity.meta('s', 'c:ann')).toBeUndefined();
  });

  it('merges a profile into another once: the source is gone, the change told', async () => {
    await ingest('anon', [ev(), ev({ type: 'purchase', value: 150 })]);
    await ingest('c:zed', [ev()]);
    const told: string[] = [];
    const merged = await storage.write(async (tx) => {
      const seg = await tx.mergeProfile('s', 'anon', 'c:zed', engine, T0 + 1);
      told.push(...(await tx.segmentHistory('s', 'c:zed')).map((h) => h.name));
      return seg;
    });
    expect(merged?.segments).toEqual(['big']);
    expect(told).toContain('big');
    expect(await storage.profile('s', 'anon')).toBeUndefined();
    expect((await storage.profile('s', 'c:zed'))?.profile.count).toBe(3);
    expect(await storage.write((tx) => tx.mergeProfile('s', 'anon', 'c:zed', engine, T0))).toBe(
      null,
    );
  });

  it('refreshes what time alone changed, page by page', async () => {
    for (const v of ['r1', 'r2', 'r3']) await ingest(v, [ev()], T0, 'rs');
    const later = T0 + 60 * DAY;
    const first = await storage.write((tx) => tx.refreshSegments('rs', engine, later, '', 2));
    expect(first).toEqual({ next: 'r2', changed: 2 });
    const second = await storage.write((tx) => tx.refreshSegments('rs', engine, later, 'r2', 2));
    expect(second).toEqual({ next: null, changed: 1 });
    const again = await storage.write((tx) => tx.refreshSegments('rs', engine, later, '', 10));
    expect(again).toEqual({ next: null, changed: 0 });
    const history = await storage.segmentHistory('rs', 'r1');
    expect(history).toHaveLength(2);
    expect(history[1]).toMatchObject({ kind: 'key', at: later, previous: history[0]?.name });
  });

  it('does what SQLite does: the same batches give the same results, profiles and history', async () => {
    const tmp = tempDir();
    const lite = await openStorage(join(tmp.dir, 'db.sqlite'));
    try {
      const script = async (s: Storage) => {
        const out: unknown[] = [];
        const e = (id: string, over: Partial<NewEvent> = {}) => ({ ...ev(over), id });
        out.push(await s.write((tx) => tx.ingest('par', 'x', [e('a1'), e('a2')], engine, T0)));
        out.push(
          await s.write((tx) =>
            tx.ingest(
              'par',
              'x',
              [e('a2'), e('a3', { type: 'purchase', value: 120 })],
              engine,
              T0 + 5,
            ),
          ),
        );
        out.push(
          await s.write((tx) => tx.ingest('par', 'y', [e('b1', { bot: true })], engine, T0)),
        );
        out.push(await s.write((tx) => tx.ingest('par', 'c:k', [e('c1')], engine, T0)));
        out.push(await s.write((tx) => tx.mergeProfile('par', 'x', 'c:k', engine, T0 + 9)));
        out.push(await s.write((tx) => tx.refreshSegments('par', engine, T0 + 90 * DAY, '', 10)));
        out.push(await s.profile('par', 'c:k'), await s.profile('par', 'x'));
        out.push(await s.profile('par', 'y'), await s.countEvents('par'));
        out.push((await s.segmentHistory('par', 'c:k')).map(({ seq: _, ...h }) => h));
        return out;
      };
      expect(await script(storage)).toEqual(await script(lite));
    } finally {
      await lite.close();
      tmp.cleanup();
    }
  });

  it('tells change listeners inside the transaction: a listener that throws rolls the ingest back', async () => {
    const storage2 = await openStorage(db.url);
    try {
      const told: string[] = [];
      storage2.onChanges(async (change, tx) => {
        told.push(change.visitor);
        await tx.identity.ensureContact('s', `seen-${change.visitor}`, change.at);
        if (change.visitor === 'lbad') throw new Error('listener failed');
      });
      await storage2.write((tx) => tx.ingest('s', 'lok', [ev()], engine, T0));
      await expect(
        storage2.write((tx) => tx.ingest('s', 'lbad', [ev()], engine, T0)),
      ).rejects.toThrow('listener failed');
      expect(told).toEqual(['lok', 'lbad']);
      expect(await storage2.identity.contactExists('s', 'seen-lok')).toBe(true);
      expect(await storage2.identity.contactExists('s', 'seen-lbad')).toBe(false);
      expect(await storage2.countEvents('s', 'lbad')).toBe(0);
      expect(await storage2.profile('s', 'lbad')).toBeUndefined();
      expect(await storage2.segmentHistory('s', 'lbad')).toEqual([]);
    } finally {
      await storage2.close();
    }
  });

  it('keeps every trait when many jobs patch ONE contact at once (meta read under the lock)', async () => {
    await storage.identity.ensureContact('s', 'many', T0);
    const jobs = 30;
    await Promise.all(
      Array.from({ length: jobs }, (_, i) =>
        storage.write((tx) => patchTraits(tx, 's', 'c:many', { [`t${i}`]: i }, T0 + i)),
      ),
    );
    const traits = (await storage.identity.meta('s', 'c:many'))?.traits ?? {};
    expect(Object.keys(traits)).toHaveLength(jobs);
  });

  it('gives exact totals when many jobs ingest into ONE visitor at once (the profile lock)', async () => {
    const jobs = 40;
    const results = await Promise.all(
      Array.from({ length: jobs }, (_, i) =>
        ingest('hot', [ev({ ts: T0 + i }), ev({ ts: T0 + i, type: 'purchase', value: 1 })]),
      ),
    );
    expect(results.every((r) => r.accepted === 2)).toBe(true);
    const stored = await storage.profile('s', 'hot');
    expect(stored?.profile.count).toBe(jobs * 2);
    expect(stored?.profile.purchases.n).toBe(jobs);
    expect(await storage.countEvents('s', 'hot')).toBe(jobs * 2);
    // The first batch alone saw no profile: one key change with previous null.
    const firsts = results.filter((r) => r.before.key === null);
    expect(firsts).toHaveLength(1);
  });

  /** Resolves once a job of this database waits for an advisory lock (a profile's). */
  const someoneWaits = async () => {
    for (;;) {
      const { rows } = await admin.query<{ n: number }>(
        // This database's only, as said: other files' sessions take advisory locks on the same
        // server meanwhile (the migration's, the test template's).
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      if ((rows[0]?.n ?? 0) > 0) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const gated = () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    return { gate, open };
  };

  it("ingestSubject: two devices of one contact at once fold exactly into the contact's profile (its lock)", async () => {
    await storage.identity.ensureContact('s', 'zoe', T0);
    for (const d of ['zd1', 'zd2']) await storage.identity.link('s', d, 'zoe', 'gz', T0 + DAY, T0);
    const jobs = 30;
    const results = await Promise.all(
      Array.from({ length: jobs }, (_, i) =>
        storage.write((tx) =>
          tx.ingestSubject(
            's',
            { visitor: i % 2 ? 'zd1' : 'zd2' },
            [ev({ ts: T0 + i }), ev({ ts: T0 + i, type: 'purchase', value: 1 })],
            engine,
            T0,
          ),
        ),
      ),
    );
    expect(results.every((r) => r.key === 'c:zoe' && r.known && r.result.accepted === 2)).toBe(
      true,
    );
    const stored = await storage.profile('s', 'c:zoe');
    expect(stored?.profile.count).toBe(jobs * 2);
    expect(stored?.profile.purchases.n).toBe(jobs);
    expect(results.filter((r) => r.result.before.key === null)).toHaveLength(1);
  });

  it('ingestSubject: a batch that waited while its visitor was linked folds into the contact, run again', async () => {
    await ingest('kv', [ev()]);
    const { gate, open } = gated();
    const linked = gated();
    // An identify in flight: the anonymous profile merged into the contact's, the link made.
    const identifying = storage.write(async (tx) => {
      await tx.identity.ensureContact('s', 'kim', T0);
      await tx.mergeProfile('s', 'kv', 'c:kim', engine, T0);
      await tx.identity.link('s', 'kv', 'kim', 'gk', T0 + DAY, T0);
      linked.open();
      await gate;
    });
    await linked.gate;
    let runs = 0;
    const batch = [ev()];
    const ingesting = storage.write((tx) => {
      runs++;
      return tx.ingestSubject('s', { visitor: 'kv' }, batch, engine, T0);
    });
    // It read no link (not committed yet) and waits for the lock of the visitor's own profile.
    await someoneWaits();
    open();
    await identifying;
    const out = await ingesting;
    expect(runs).toBe(2);
    expect(out).toMatchObject({ key: 'c:kim', known: true });
    expect(out.result.accepted).toBe(1);
    expect(await storage.profile('s', 'kv')).toBeUndefined();
    expect((await storage.profile('s', 'c:kim'))?.profile.count).toBe(2);
    const { rows } = await admin.query('SELECT contact FROM events WHERE site = $1 AND id = $2', [
      's',
      batch[0]?.id,
    ]);
    expect(rows).toEqual([{ contact: 'kim' }]);
  });

  it('ingestSubject locks by quoted literals what ingest locks by parameters (odd ids)', async () => {
    const odd = "q'v\\1";
    const { gate, open } = gated();
    const holding = storage.write(async (tx) => {
      await tx.ingest('s', odd, [ev()], engine, T0);
      await gate;
    });
    await new Promise((r) => setTimeout(r, 30));
    const waiting = storage.write((tx) =>
      tx.ingestSubject('s', { visitor: odd }, [ev()], engine, T0),
    );
    await someoneWaits();
    open();
    await holding;
    expect((await waiting).result.before.key).not.toBeNull();
    expect((await storage.profile('s', odd))?.profile.count).toBe(2);
  });

  it("stores a batch's further events, sent as literals in one message, as the parameterized way does", async () => {
    const odd = (id: string, ts: number) => hostileEvent(id, ts);
    // One event per batch: each the first of its batch, stored by parameters.
    for (const [i, t] of [T0, T0 + 1, T0 + 2].entries()) await ingest('lit-a', [odd(`la${i}`, t)]);
    // One batch: the first by parameters, the others as literals (a duplicate among them).
    const batch = [odd('lb0', T0), odd('lb1', T0 + 1), odd('lb0', T0 + 5), odd('lb2', T0 + 2)];
    const out = await ingest('lit-b', batch);
    expect(out).toMatchObject({ accepted: 3, duplicates: 1 });
    const rowsOf = (visitor: string) => storedEvents(admin, visitor);
    const a = await rowsOf('lit-a');
    const b = await rowsOf('lit-b');
    expect(b).toHaveLength(3);
    expect(b.map(({ session, ...r }) => r)).toEqual(a.map(({ session, ...r }) => r));
    // One session, named by the first event, as the parameterized inserts give.
    expect(a.map((r) => r.session)).toEqual(['la0', 'la0', 'la0']);
    expect(b.map((r) => r.session)).toEqual(['lb0', 'lb0', 'lb0']);
    expect((await storage.profile('s', 'lit-b'))?.profile.count).toBe(3);
    // A NUL cannot be a literal: that event goes by parameters, which the server refuses as before.
    const nul = storage.write((tx) =>
      tx.ingest('s', 'lit-c', [ev(), ev({ url: 'https://x.example/\u0000' })], engine, T0),
    );
    await expect(nul).rejects.toMatchObject({ code: '22021' });
    expect(await storage.countEvents('s', 'lit-c')).toBe(0);
  });

  it('an erasure waits for an ingest of the same visitor in flight: nothing comes back after it', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const ingesting = storage.write(async (tx) => {
      const r = await tx.ingest('s', 'erased', [ev()], engine, T0);
      await gate;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    const erasing = storage.write((tx) => tx.eraseVisitor('s', 'erased'));
    await new Promise((r) => setTimeout(r, 50));
    release();
    const [, erased] = await Promise.all([ingesting, erasing]);
    expect(erased.removed).toMatchObject({ events: 1, profiles: 1 });
    expect(await storage.profile('s', 'erased')).toBeUndefined();
    expect(await storage.countEvents('s', 'erased')).toBe(0);
  });

  it('a job that throws rolls back alone; the others commit', async () => {
    const outcomes = await Promise.allSettled([
      ingest('ok1', [ev()]),
      storage.write(async (tx) => {
        await tx.ingest('s', 'fails', [ev()], engine, T0);
        throw new Error('job failed');
      }),
      ingest('ok2', [ev()]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('job failed');
    expect(await storage.countEvents('s', 'fails')).toBe(0);
    expect(await storage.countEvents('s', 'ok1')).toBe(1);
    expect(await storage.countEvents('s', 'ok2')).toBe(1);
    expect(storage.writes.failing).toBeNull();
  });

  it('refuses a write inside a write job, but not from a task a finished job left behind', async () => {
    let later: Promise<unknown> | undefined;
    await expect(
      storage.write(async () => {
        later = new Promise((resolve) => setTimeout(resolve, 20)).then(() =>
          storage.identity.ensureContact('s', 'from-timer', T0),
        );
        return storage.identity.ensureContact('s', 'nested', T0);
      }),
    ).rejects.toThrow(NESTED_WRITE);
    await later;
    expect(await storage.identity.contactExists('s', 'from-timer')).toBe(true);
    expect(await storage.identity.contactExists('s', 'nested')).toBe(false);
  });

  it('runs a job again when its transaction loses a deadlock', async () => {
    let runs = 0;
    let arrived = 0;
    let release: () => void = () => {};
    const both = new Promise<void>((r) => {
      release = r;
    });
    // Each job locks one profile, waits for the other to lock its own, then wants the other's.
    const crossing = (first: string, second: string) =>
      storage.write(async (tx) => {
        runs++;
        await tx.ingest('s', first, [ev({ id: `dl-${first}` })], engine, T0);
        if (++arrived === 2) release();
        await both;
        await tx.ingest('s', second, [ev({ id: `dl-${second}-2` })], engine, T0);
        return first;
      });
    expect(await Promise.all([crossing('dA', 'dB'), crossing('dB', 'dA')])).toEqual(['dA', 'dB']);
    expect(runs).toBe(3);
    expect(await storage.countEvents('s', 'dA')).toBe(2);
    expect(await storage.countEvents('s', 'dB')).toBe(2);
    expect(MAX_ATTEMPTS).toBeGreaterThan(1);
  }, 20_000);

  it('records a storage failure (disk full) as failing until a write succeeds', async () => {
    const err = await storage
      .write(async (tx) => {
        await tx.identity.ensureContact('s', 'never', T0);
        // What the server raises when it cannot extend a file.
        throw Object.assign(new Error('could not extend file: No space left on device'), {
          code: '53100',
        });
      })
      .catch((e: Error & { code: string }) => e);
    expect(storageFailure(err)?.error).toBe('storage_full');
    expect(storage.writes.failing?.code).toBe('53100');
    expect(await storage.identity.contactExists('s', 'never')).toBe(false);
    await storage.identity.ensureContact('s', 'after', T0);
    expect(storage.writes.failing).toBeNull();
  });

  it('survives the server ending its idle connections (the pool error listener)', async () => {
    const errors: string[] = [];
    const s = await openStorage(db.url, { poolSize: 2, onPoolError: (m) => errors.push(m) });
    try {
      await Promise.all([s.countEvents('s'), s.countEvents('s', 'v1')]);
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'microseg' AND state = 'idle'`,
      );
      await new Promise((r) => setTimeout(r, 100));
      expect(errors.length).toBeGreaterThan(0);
      expect(await s.countEvents('s', 'v1')).toBe(2);
      await s.identity.ensureContact('s', 'after-restart', T0);
    } finally {
      await s.close();
    }
  });

  it('a job reads through its own connection: one connection serves concurrent jobs', async () => {
    const s = await openStorage(db.url, { poolSize: 1 });
    try {
      const results = await Promise.all([
        s.write(async (tx) => {
          await tx.recomputeRfm('one', 1, T0);
          return tx.rfmBreakpoints('one');
        }),
        s.write((tx) => tx.ingest('one', 'solo', [ev()], engine, T0)),
        s.write(async (tx) => (await tx.segmentInputs('one', 'solo', T0)).key),
      ]);
      expect(results[1]).toMatchObject({ accepted: 1 });
      expect(results[2]).toBe('solo');
    } finally {
      await s.close();
    }
  });

  it('BEGIN goes with the first statement: a job that sent none leaves no transaction open; one that failed there rolls back', async () => {
    const s = await openStorage(db.url, { poolSize: 1 });
    try {
      expect(await s.write(async () => 'nothing sent')).toBe('nothing sent');
      // The one connection is not left inside a transaction: the next job's rows commit.
      await s.write((tx) => tx.ingestSubject('one', { visitor: 'lazy' }, [ev()], engine, T0));
      expect(await s.countEvents('one', 'lazy')).toBe(1);
      const failing = s.write(async (tx) => {
        await tx.ingestSubject('one', { visitor: 'lazy2' }, [ev()], engine, T0);
        throw new Error('after the first statements');
      });
      await expect(failing).rejects.toThrow('after the first statements');
      expect(await s.countEvents('one', 'lazy2')).toBe(0);
      // This database's sessions only: other files' storages run on the same server meanwhile.
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()
            AND application_name = 'microseg' AND state LIKE 'idle in transaction%'`,
      );
      expect(rows[0]?.n).toBe(0);
    } finally {
      await s.close();
    }
  });

  it("a read through Storage inside a job uses the job's connection and sees its rows", async () => {
    const s = await openStorage(db.url, { poolSize: 1 });
    try {
      const seen = await Promise.all(
        ['in-job-1', 'in-job-2'].map((v) =>
          s.write(async (tx) => {
            await tx.ingest('s', v, [ev()], engine, T0);
            // Not the tx: with one connection, held by this job, a pool read would wait for ever.
            return [(await s.profile('s', v))?.profile.count, await s.countEvents('s', v)];
          }),
        ),
      );
      expect(seen).toEqual([
        [1, 1],
        [1, 1],
      ]);
    } finally {
      await s.close();
    }
  });

  it('drain waits for a job that was waiting for a connection when the one before it ended', async () => {
    const s = await openStorage(db.url, { poolSize: 1 });
    try {
      let release: () => void = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      let secondDone = false;
      const first = s.write(async () => held);
      const second = s.write(async (tx) => {
        await tx.identity.ensureContact('s', 'drained', T0);
        secondDone = true;
      });
      const drained = s.drain();
      release();
      await drained;
      expect(secondDone).toBe(true);
      await Promise.all([first, second]);
    } finally {
      await s.close();
    }
  });

  it('tells write observers the depth and each transaction; drain waits, close refuses after', async () => {
    const s = await openStorage(db.url, { poolSize: 2 });
    const depths: number[] = [];
    const seconds: number[] = [];
    s.observeWrites({ depth: (d) => depths.push(d), committed: (t) => seconds.push(t) });
    const writes = Array.from({ length: 6 }, (_, i) =>
      s.write((tx) => tx.ingest('s', `obs${i}`, [ev()], engine, T0)),
    );
    expect(s.writes.depth).toBeGreaterThan(0);
    await s.drain();
    expect(s.writes.depth).toBe(0);
    const settled = await Promise.allSettled(writes);
    expect(settled.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(seconds).toHaveLength(6);
    expect(Math.max(...depths)).toBeGreaterThanOrEqual(2);
    expect(depths.at(-1)).toBe(0);
    const pending = s.write((tx) => tx.ingest('s', 'obs-last', [ev()], engine, T0));
    await s.close();
    await pending; // drained before the pool ended
    await s.close(); // a second call does nothing
    await expect(s.identity.ensureContact('s', 'closed', T0)).rejects.toThrow(/closed/);
    expect(await storage.countEvents('s', 'obs-last')).toBe(1);
  });
});
