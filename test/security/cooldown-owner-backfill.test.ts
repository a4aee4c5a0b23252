/**
 * `webhook_cooldowns` rows written before the table named their owner get one from the custom
 * migration 0010: a contact's own `c:` row is the contact's; a device's row is the contact its
 * visitor id is linked to, unless the row was taken after that link lapsed (the device was
 * anonymous then); a device never linked stays anonymous. A database migrated up to 0009 with
 * such rows is then migrated to the end, as a collector start does.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { migrationsFolder, openDb } from '../../collector/storage/sqlite/open.ts';
import { NEVER } from '../../collector/storage/sqlite/identity.ts';
import { tempDir } from '../temp.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** A copy of the migrations folder that stops before `tag`. */
function migrationsBefore(tag: string): string {
  const dir = join(tmp.dir, 'drizzle');
  cpSync(migrationsFolder(), dir, { recursive: true });
  const journalFile = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === tag);
  expect(at).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, at);
  writeFileSync(journalFile, JSON.stringify(journal));
  return dir;
}

describe('migration 0010: owners of existing webhook cooldown rows', () => {
  it("a contact's row, a linked device's, a lapsed device's before and after its lapse, an anonymous one", () => {
    const file = join(tmp.dir, 'old.db');
    const sqlite = new Database(file);
    migrate(drizzle(sqlite), {
      migrationsFolder: migrationsBefore('0010_webhook_cooldown_owner_backfill'),
    });
    const linkSql =
      'insert into links (site, visitor, contact, linked_at, expires) values (?, ?, ?, ?, ?)';
    const link = sqlite.prepare(linkSql);
    link.run('s', 'c:X', 'X', 0, NEVER);
    link.run('s', 'linked', 'X', 100, 10_000);
    link.run('s', 'lapsed', 'X', 100, 1_000);
    const turn = sqlite.prepare(
      'insert into webhook_cooldowns (site, visitor, hook, at) values (?, ?, ?, ?)',
    );
    turn.run('s', 'c:X', 'h', 500);
    turn.run('s', 'linked', 'h', 50);
    turn.run('s', 'lapsed', 'h', 50);
    turn.run('s', 'lapsed', 'h2', 2_000);
    turn.run('s', 'anonymous', 'h', 50);
    // Another site's device of the same id is not this site's contact's.
    turn.run('t', 'linked', 'h', 50);
    sqlite.close();

    const db = openDb(file);
    try {
      const rows = db.$client
        .prepare(
          'select site, visitor, hook, contact from webhook_cooldowns order by site, visitor, hook',
        )
        .raw()
        .all();
      expect(rows).toEqual([
        ['s', 'anonymous', 'h', null],
        ['s', 'c:X', 'h', 'X'],
        ['s', 'lapsed', 'h', 'X'],
        ['s', 'lapsed', 'h2', null],
        ['s', 'linked', 'h', 'X'],
        ['t', 'linked', 'h', null],
      ]);
    } finally {
      db.$client.close();
    }
  });
});
