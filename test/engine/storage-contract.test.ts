/**
 * The storage contract, module by module, on each backend: audience counts and the export
 * snapshot, the quarantine, the outbox, erasure and retention, health. Through `openStorage` and
 * the contract only (SQLite's handle to look where only SQLite has something to look at). The
 * PostgreSQL run uses the run's throwaway server (test/support/pg-database.ts), a database of this
 * file's own emptied before each test, and is skipped when PostgreSQL is not installed. The
 * backend choice and the escape hatch come first, outside the parametrised blocks.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { parseConfig } from '../../collector/config/config.ts';
import { DEFAULT_ENGINE } from '../../collector/engine/index.ts';
import type { MemberRow, NewEvent, Storage } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { DEFAULT_QUARANTINE } from '../../collector/storage/quarantine.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { pgTestDatabase } from '../support/pg-database.ts';
import { DAY, T0, tempDir } from '../temp.ts';

let storage: Storage;

let n = 0;
const pv = (category: string, over: Partial<NewEvent> = {}): NewEvent => ({
  id: `e${++n}`,
  type: 'page_view',
  ts: T0,
  category,
  ...over,
});
const ingest = (visitor: string, events: NewEvent[], site = 's') =>
  storage.write((tx) => tx.ingest(site, visitor, events, DEFAULT_ENGINE, T0));

describe('openStorage', () => {
  it('takes a PostgreSQL URL to the PostgreSQL backend: an unreachable one fails without its password', async () => {
    for (const url of [
      'postgres://u:secret-pw@127.0.0.1:1/m',
      'postgresql://u:secret-pw@127.0.0.1:1/m',
    ]) {
      const err = await openStorage(url).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/ECONNREFUSED/);
      expect(err?.message).not.toContain('secret-pw');
    }
  });

  it("opens ':memory:' as SQLite; the handle is only a SQLite storage's", async () => {
    const mem = await openStorage(':memory:');
    try {
      expect(mem.kind).toBe('sqlite');
      expect(sqliteHandle(mem).memory).toBe(true);
      const other = { ...mem } as Storage;
      expect(() => sqliteHandle(other)).toThrow(/not a SQLite storage/);
      // Exports need a file: the first row asked for says so.
      await expect(
        mem.members('s', { kind: 'key', pattern: '*' })[Symbol.asyncIterator]().next(),
      ).rejects.toThrow(/database file/);
    } finally {
      await mem.close();
    }
  });
});

/** Every table of the schema, emptied between tests on PostgreSQL (SQLite gets a new file). */
const TABLES =
  'events, profiles, segment_changes, rfm_breakpoints, webhook_deliveries, quarantine, links, webhook_cooldowns, profile_meta';

const pgUrl = inject('pgUrl');
const backends = [{ kind: 'sqlite' as const }, ...(pgUrl ? [{ kind: 'postgres' as const }] : [])];

describe.each(backends)('on $kind', ({ kind }) => {
  const pgDb = kind === 'postgres' ? pgTestDatabase() : null;
  let tmp: ReturnType<typeof tempDir> | undefined;
  beforeEach(async () => {
    if (pgDb) {
      const admin = new pg.Client({ connectionString: pgDb.url });
      await admin.connect();
      try {
        // Before the first open the tables do not exist yet: openStorage migrates.
        await admin.query(
          `DO $$ BEGIN IF to_regclass('public.events') IS NOT NULL THEN TRUNCATE ${TABLES} RESTART IDENTITY; END IF; END $$`,
        );
      } finally {
        await admin.end();
      }
      storage = await openStorage(pgDb.url);
    } else {
      tmp = tempDir();
      storage = await openStorage(join(tmp.dir, 'db.sqlite'));
    }
  });
  afterEach(async () => {
    await storage.close();
    tmp?.cleanup();
  });

  describe('afterCommit', () => {
    it('runs after the commit, on a later turn, where the rows are seen and a write is no nested one', async () => {
      const seen: string[] = [];
      let written: Promise<void> | undefined;
      await storage.write(async (tx) => {
        await tx.identity.ensureContact('s', 'c1', 1);
        tx.afterCommit(() => {
          written = (async () => {
            seen.push(String(await storage.identity.contactExists('s', 'c1')));
            // A write from here is a job of its own, not refused as nested in the one committed.
            await storage.identity.setMeta(
              's',
              'c:c1',
              { traits: { a: 'b' }, first: null, last: null },
              2,
            );
            seen.push('written');
          })();
        });
        seen.push('job');
      });
      seen.push('committed');
      await vi.waitFor(() => expect(written).toBeDefined());
      await written;
      expect(seen).toEqual(['job', 'committed', 'true', 'written']);
      expect((await storage.identity.meta('s', 'c:c1'))?.traits).toEqual({ a: 'b' });
    });

    it('never runs for a job that fails', async () => {
      let ran = false;
      await expect(
        storage.write(async (tx) => {
          tx.afterCommit(() => {
            ran = true;
          });
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      await new Promise((r) => setTimeout(r, 20));
      expect(ran).toBe(false);
    });
  });

  describe('ingestSubject', () => {
    const at = (who: { visitor: string } | { contact: string }, events: NewEvent[], now = T0) =>
      storage.write((tx) => tx.ingestSubject('s', who, events, DEFAULT_ENGINE, now));

    it("folds a visitor's batch into its own profile, its linked contact's while in force, a contact's into its own", async () => {
      const own = await at({ visitor: 'anon' }, [pv('a')]);
      expect(own).toMatchObject({ key: 'anon', known: false, meta: undefined });
      expect(own.result).toMatchObject({ accepted: 1, duplicates: 0 });

      await storage.identity.ensureContact('s', "o'ne\\x", T0);
      await storage.identity.link('s', 'dev', "o'ne\\x", 'g', T0 + DAY, T0);
      const meta = { traits: { plan: 'pro' }, first: null, last: null };
      await storage.identity.setMeta('s', "c:o'ne\\x", meta, T0);
      const linked = await at({ visitor: 'dev' }, [pv('a'), pv('b')]);
      expect(linked).toMatchObject({ key: "c:o'ne\\x", known: true, meta });
      expect(linked.result.accepted).toBe(2);
      const mine = await at({ contact: "o'ne\\x" }, [pv('c')]);
      expect(mine).toMatchObject({ key: "c:o'ne\\x", known: true, meta });
      expect((await storage.profile('s', "c:o'ne\\x"))?.profile.count).toBe(3);
      expect(await storage.profile('s', 'dev')).toBeUndefined();
      // Events stay under who sent them.
      expect(await storage.countEvents('s', 'dev')).toBe(2);
      expect(await storage.countEvents('s', "c:o'ne\\x")).toBe(1);

      // Lapsed: the device folds into its own profile again.
      const lapsed = await at({ visitor: 'dev' }, [pv('d', { ts: T0 + DAY })], T0 + DAY);
      expect(lapsed).toMatchObject({ key: 'dev', known: false, meta: undefined });
      expect((await storage.profile('s', 'dev'))?.profile.count).toBe(1);
      // A retried batch: all duplicates, the profile stands.
      const retried = pv('a');
      await at({ visitor: 'anon' }, [retried]);
      const again = await at({ visitor: 'anon' }, [retried, pv('a')]);
      expect(again.result).toMatchObject({ accepted: 1, duplicates: 1 });
      expect((await storage.profile('s', 'anon'))?.profile.count).toBe(3);
    });

    it('gives the rules the traits it read', async () => {
      const engine =
        parseConfig({
          sites: { s: { rules: { vip: { when: { fact: 'trait.vip', eq: true } } } } },
        }).sites.get('s')?.engine ?? DEFAULT_ENGINE;
      await storage.identity.setMeta(
        's',
        'tv',
        { traits: { vip: true }, first: null, last: null },
        T0,
      );
      const out = await storage.write((tx) =>
        tx.ingestSubject('s', { visitor: 'tv' }, [pv('a')], engine, T0),
      );
      expect(out.result.segment.segments).toContain('vip');
      const plain = await storage.write((tx) =>
        tx.ingestSubject('s', { visitor: 'tw' }, [pv('a')], engine, T0),
      );
      expect(plain.result.segment.segments).not.toContain('vip');
    });
  });

  describe('audience', () => {
    it('counts members per key and custom segment and lists the sites', async () => {
      await ingest('a', [pv('cameras')]);
      await ingest('b', [pv('cameras')]);
      await ingest('c', [pv('books')], 't');
      const counts = await storage.segmentCounts('s');
      expect(Object.values(counts.keys).reduce((x, y) => x + y, 0)).toBe(2);
      expect(counts.custom).toEqual({});
      const key = Object.keys(counts.keys)[0] ?? '';
      expect(await storage.countMembers('s', { kind: 'key', pattern: key })).toBe(2);
      expect(await storage.countMembers('s', { kind: 'key', pattern: '*' })).toBe(2);
      expect(await storage.countMembers('s', { kind: 'custom', name: 'none' })).toBe(0);
      expect(await storage.sitesWithProfiles()).toEqual(['s', 't']);
    });

    it('streams members from one snapshot, released when the iteration ends early', async () => {
      for (let i = 0; i < 5; i++) await ingest(`v${i}`, [pv('cameras')]);
      // SQLite: the export's read transaction is seen holding the WAL (PostgreSQL's snapshot has
      // nothing as visible to test here: test/storage/pg-modules.test.ts looks at its cursor).
      const sqlite = kind === 'sqlite' ? sqliteHandle(storage) : null;
      const walBusy = () => {
        if (!sqlite) return undefined;
        const rows = sqlite.pragma('wal_checkpoint(TRUNCATE)', { simple: false });
        return (rows as { busy: number }[])[0]?.busy;
      };
      const seen: MemberRow[] = [];
      for await (const m of storage.members('s', { kind: 'key', pattern: '*' })) {
        seen.push(m);
        if (seen.length === 2) {
          // A write now is not in this export (its snapshot), and the snapshot holds the WAL.
          await ingest('late', [pv('cameras')]);
          if (sqlite) expect(walBusy()).toBe(1);
        }
        if (seen.length === 3) break;
      }
      expect(seen.map((m) => m.visitor)).toEqual(['v0', 'v1', 'v2']);
      // The break closed the reader: nothing holds the WAL any more.
      if (sqlite) expect(walBusy()).toBe(0);
      const all: string[] = [];
      for await (const m of storage.members('s', { kind: 'key', pattern: '*' }))
        all.push(m.visitor);
      expect(all).toHaveLength(6);
    });
  });

  describe('quarantine', () => {
    it('keeps refusals up to the day cap, tells the listeners of the rest, lists newest first', async () => {
      const skipped: [string, number][] = [];
      storage.onSkipped((site, k) => skipped.push([site, k]));
      const refusal = (i: number) => ({
        visitor: 'v',
        refused: { index: i, id: `r${i}`, error: 'invalid_event', message: 'bad' },
        raw: { i },
      });
      const policy = { ...DEFAULT_QUARANTINE, rowsPerDay: 3 };
      const notKept = await storage.write((tx) =>
        tx.keepRefused('s', 'collect', [0, 1, 2, 3, 4].map(refusal), T0, policy),
      );
      expect(notKept).toBe(2);
      expect(skipped).toEqual([['s', 2]]);
      const rows = await storage.quarantined('s');
      expect(rows.map((r) => r.eventId)).toEqual(['r2', 'r1', 'r0']);
      expect(await storage.quarantined('s', 1, rows[0]?.seq)).toHaveLength(1);
    });
  });

  describe('outbox', () => {
    it('enqueues in a job, hands out what is due, records the delivery', async () => {
      const [id] = await storage.write(async (tx) => {
        expect(await tx.outbox.takeTurn('s', 'v', 'h', 60_000, T0)).toBe(true);
        expect(await tx.outbox.takeTurn('s', 'v', 'h', 60_000, T0 + 1)).toBe(false);
        return tx.outbox.enqueue(
          [
            {
              site: 's',
              visitor: 'v',
              contact: null,
              hook: 'h',
              url: 'https://hooks.example/',
              segment: 'big',
              change: 'enter',
              body: (dlv) => JSON.stringify({ id: dlv }),
            },
          ],
          T0,
        );
      });
      const due = await storage.outbox.due(T0, 10);
      expect(due.map((d) => [d.id, d.body])).toEqual([[id, JSON.stringify({ id })]]);
      expect(await storage.outbox.nextDue()).toBe(T0);
      await storage.outbox.delivered(id ?? '', 1, 200, T0 + 5);
      expect(await storage.outbox.counts()).toEqual({ pending: 0, delivered: 1, failed: 0 });
      expect((await storage.outbox.get('s', id ?? ''))?.status).toBe('delivered');
      expect(await storage.outbox.replay('s', id ?? '', T0 + 6)).toBe('not_failed');
      expect(await storage.outbox.prune(T0 + 10, 100)).toBe(1);
      expect(await storage.outbox.list('s')).toEqual([]);
    });
  });

  describe('erasure and retention', () => {
    it("erases a contact's rows and its linked device's anonymous ones, nobody else's", async () => {
      await ingest('dev', [pv('cameras')]);
      await ingest('other', [pv('cameras')]);
      await storage.write(async (tx) => {
        await tx.identity.ensureContact('s', 'ann', T0);
        await tx.identity.link('s', 'dev', 'ann', null, T0 + DAY, T0);
        await tx.identity.claimAnonymousRows('s', 'dev', 'ann');
      });
      expect(await storage.identity.subject('s', 'dev', T0)).toEqual({
        key: 'c:ann',
        contact: 'ann',
      });
      const res = await storage.write((tx) => tx.eraseContact('s', 'ann', T0));
      expect(res.visitors.sort()).toEqual(['c:ann', 'dev']);
      expect(res.removed.events).toBe(1);
      expect(await storage.countEvents('s', 'dev')).toBe(0);
      expect(await storage.countEvents('s', 'other')).toBe(1);
      const gone = await storage.write((tx) => tx.eraseVisitor('s', 'other'));
      expect(gone.removed).toMatchObject({ events: 1, profiles: 1 });
    });

    it('prunes aged rows in batches', async () => {
      await ingest('v', [pv('a', { ts: T0 - 10 * DAY }), pv('b', { ts: T0 - 10 * DAY }), pv('c')]);
      const prune = () =>
        storage.write((tx) => tx.pruneAged('events', ['ts', 'received'], 's', T0 + 1, 1));
      // `received` is T0 for all three: only those with both columns before the cutoff go.
      expect(await prune()).toBe(1);
      expect(await prune()).toBe(1);
      expect(await prune()).toBe(1);
      expect(await prune()).toBe(0);
    });
  });

  describe('health', () => {
    it('answers ok', async () => {
      expect(await storage.health()).toEqual({ ok: true });
      expect(storage.writes.failing).toBeNull();
    });

    it.skipIf(kind !== 'sqlite')('answers storage_full at max_page_count (SQLite)', async () => {
      const sqlite = sqliteHandle(storage);
      const pages = sqlite.pragma('page_count', { simple: true }) as number;
      sqlite.pragma(`max_page_count = ${pages}`);
      // Use up the free pages, if any: then the file can grow no more.
      sqlite.exec('VACUUM');
      expect(await storage.health()).toMatchObject({ ok: false, error: 'storage_full' });
      expect(storage.writes.failing).toBeNull();
    });
  });
});
