import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../collector/cli/cli.ts';
import { SECRET_FILE } from '../../collector/identity/keys.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import type { Segment } from '../../shared/segment.ts';
import { runBuilt, startCollector, stopped } from '../collector-process.ts';
import { collectRequest, ev, tempDir, testApp } from '../helpers.ts';
import { ackedLoad } from '../reliability/load.ts';

const journal = JSON.parse(readFileSync('drizzle/meta/_journal.json', 'utf8')) as {
  entries: { tag: string }[];
};
const lastTag = journal.entries.at(-1)?.tag ?? '';

const post = (url: string, body: unknown) =>
  fetch(`${url}/v1/collect`, { method: 'POST', body: JSON.stringify(body) });

describe('restore drill: backup while serving, restore on a fresh collector', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('copies a consistent snapshot while writes go on, and a collector serves it again', async () => {
    const live = join(tmp.dir, 'live');
    const db = join(live, 'microseg.db');
    const collector = await startCollector({ MICROSEG_DB: db });
    // A visitor with a history: three camera pages make it hot, and its segment change is recorded.
    const seed = [1, 2, 3].map((i) => ({
      id: `seed-e${i}`,
      type: 'page_view',
      ts: Date.now(),
      category: 'cameras',
    }));
    expect(
      (await post(collector.url, { site: 'demo', visitor: 'seed1', events: seed })).status,
    ).toBe(200);
    const load = ackedLoad(collector.url, {
      workers: 4,
      size: 5,
      prefix: 'bk',
      category: 'sports',
    });
    let restored: Awaited<ReturnType<typeof startCollector>> | undefined;
    try {
      await load.acknowledged(100);
      const before = [...load.acked];
      const out = join(tmp.dir, 'backups', 'microseg-1.db');
      mkdirSync(join(tmp.dir, 'backups'));
      const backup = await runBuilt(['backup', '--out', out, '--db', db], { LOG_LEVEL: 'warn' });
      // Writes went on while the backup ran (the CLI process alone takes a while to start).
      await load.acknowledged(before.length + 50);
      await load.stop();
      expect(backup.code, backup.out).toBe(0);
      expect(backup.out).toContain(`backup of ${db} written to ${out}`);
      expect(backup.out).toContain(
        `${journal.entries.length} migrations applied, the last ${lastTag}`,
      );
      expect(backup.out).toMatch(/check: +ok/);
      expect(backup.out).toMatch(/events +\d+/);
      // The key file is named, never its content.
      const secret = readFileSync(join(live, SECRET_FILE), 'utf8').trim();
      expect(backup.out).toContain(join(live, SECRET_FILE));
      expect(backup.out).not.toContain(secret);
      expect(statSync(out).mode & 0o777).toBe(0o600);
      expect(readdirSync(join(tmp.dir, 'backups'))).toEqual(['microseg-1.db']);

      collector.child.kill('SIGTERM');
      expect(await stopped(collector.child)).toBe(0);
      const final = await openStorage(db);
      const finalCount = await final.countEvents('demo');
      const has = sqliteHandle(final)
        .prepare("select 1 from events where site='demo' and id=?")
        .pluck();

      // The copy is one snapshot: every event acknowledged before the backup started is in it,
      // everything in it is in the live database, and each profile counts exactly its events.
      const copy = await openStorage(out);
      try {
        const ids = sqliteHandle(copy)
          .prepare("select id from events where site='demo'")
          .pluck()
          .all() as string[];
        const inCopy = new Set(ids);
        expect(before.filter((id) => !inCopy.has(id))).toEqual([]);
        expect(ids.filter((id) => !has.get(id))).toEqual([]);
        expect(ids.length).toBeLessThan(finalCount);
        const perVisitor = sqliteHandle(copy)
          .prepare("select visitor, count(*) n from events where site='demo' group by visitor")
          .all() as { visitor: string; n: number }[];
        for (const r of perVisitor)
          expect((await copy.profile('demo', r.visitor))?.profile.count).toBe(r.n);
      } finally {
        await copy.close();
        await final.close();
      }

      // Restore: the copy (and the key file) in a fresh folder, a fresh collector on it.
      const home = join(tmp.dir, 'restored');
      mkdirSync(home);
      copyFileSync(out, join(home, 'microseg.db'));
      copyFileSync(join(live, SECRET_FILE), join(home, SECRET_FILE));
      restored = await startCollector({ MICROSEG_DB: join(home, 'microseg.db') });
      const res = await fetch(`${restored.url}/v1/segment?site=demo&visitor=seed1`);
      expect(res.status).toBe(200);
      const seg = (await res.json()) as Segment;
      expect(seg).toMatchObject({ category: 'cameras', engagement: 'hot' });
      // It takes new events on the restored file, with its history.
      const more = await post(restored.url, {
        site: 'demo',
        visitor: 'seed1',
        events: [{ id: 'after-restore', type: 'page_view', ts: Date.now(), category: 'cameras' }],
      });
      expect(more.status).toBe(200);
      restored.child.kill('SIGTERM');
      expect(await stopped(restored.child)).toBe(0);
      const back = new Database(join(home, 'microseg.db'), { readonly: true });
      try {
        const count = (sql: string) => (back.prepare(sql).pluck().get() as number) ?? 0;
        expect(count("select count(*) from events where visitor = 'seed1'")).toBe(4);
        expect(
          count("select count(*) from segment_changes where visitor = 'seed1'"),
        ).toBeGreaterThan(0);
        expect(count('select count(*) from __drizzle_migrations')).toBe(journal.entries.length);
        expect(back.pragma('journal_mode', { simple: true })).toBe('wal');
      } finally {
        back.close();
      }
    } finally {
      await load.stop();
      if (collector.child.exitCode === null) collector.child.kill('SIGKILL');
      if (restored && restored.child.exitCode === null) restored.child.kill('SIGKILL');
    }
  }, 60_000);
});

describe('microseg backup', () => {
  let out: string[];
  let err: string[];
  beforeEach(() => {
    out = [];
    err = [];
    vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  });
  afterEach(() => vi.restoreAllMocks());

  it('never overwrites a file without --force, and replaces it whole with it', async () => {
    const t = await testApp();
    const tmp = tempDir();
    try {
      await t.app.request(collectRequest({ site: 'demo', visitor: 'v1', events: [ev()] }));
      const db = sqliteHandle(t.storage).name;
      const file = join(tmp.dir, 'b.db');
      writeFileSync(file, 'precious');
      expect(await main(['backup', '--out', file, '--db', db])).toBe(1);
      expect(err.join('\n')).toContain('exists');
      expect(readFileSync(file, 'utf8')).toBe('precious');

      expect(await main(['backup', '--out', file, '--db', db, '--force'])).toBe(0);
      const copy = new Database(file, { readonly: true });
      expect(copy.prepare('select count(*) from events').pluck().get()).toBe(1);
      // One self-contained file: a rollback journal, no -wal beside it.
      expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
      copy.close();
      expect(readdirSync(tmp.dir)).toEqual(['b.db']);
      expect(out.join('\n')).toMatch(/events +1/);
    } finally {
      await t.close();
      tmp.cleanup();
    }
  });

  it('says what is wrong: no --out, no database, the database itself as --out', async () => {
    const tmp = tempDir();
    try {
      expect(await main(['backup'])).toBe(2);
      expect(err.join('\n')).toContain('--out is required');
      const missing = join(tmp.dir, 'none.db');
      expect(await main(['backup', '--out', join(tmp.dir, 'b.db'), '--db', missing])).toBe(1);
      expect(err.join('\n')).toContain(`no database at ${missing}`);
      expect(existsSync(missing)).toBe(false);
      const t = await testApp();
      try {
        const db = sqliteHandle(t.storage).name;
        expect(await main(['backup', '--out', db, '--db', db, '--force'])).toBe(2);
        expect(err.join('\n')).toContain('names the database itself');
      } finally {
        await t.close();
      }
    } finally {
      tmp.cleanup();
    }
  });
});
