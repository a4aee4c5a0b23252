/**
 * SQLite's page cache is held to PAGE_CACHE_KIB on the collector's connections
 * (collector/storage/sqlite/open.ts): better-sqlite3's build default is 16 MB each, malloc'd
 * outside V8, and it is part of the collector's peak RSS.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { Storage } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { PAGE_CACHE_KIB } from '../../collector/storage/sqlite/open.ts';
import { tempDir } from '../temp.ts';

let tmp: ReturnType<typeof tempDir>;
let storage: Storage | undefined;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await storage?.close();
  tmp.cleanup();
});

it('the collector connection caches PAGE_CACHE_KIB, not the driver default', async () => {
  const file = join(tmp.dir, 'db.sqlite');
  const plain = new Database(join(tmp.dir, 'plain.sqlite'));
  // What the pragma guards against: the driver's default is larger.
  expect(plain.pragma('cache_size', { simple: true })).toBeLessThan(-PAGE_CACHE_KIB);
  plain.close();
  storage = await openStorage(file);
  expect(sqliteHandle(storage).pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
});

it("an export's own read connection caches PAGE_CACHE_KIB too", async () => {
  storage = await openStorage(join(tmp.dir, 'db.sqlite'));
  const sqlite = sqliteHandle(storage);
  const insert = sqlite.prepare(
    `INSERT INTO profiles (site, visitor, first_seen, last_seen, updated, segment, data, segments, purchases, monetary)
     VALUES ('shop', ?, 0, 0, 0, 'newbie:none:active', '{}', '[]', 0, 0)`,
  );
  for (let i = 0; i < 3; i++) insert.run(`v${i}`);
  // The export opens its connection inside `members`: the pragmas it runs are seen on the class.
  const pragma = vi.spyOn(Database.prototype, 'pragma');
  const rows = [];
  for await (const row of storage.members('shop', { kind: 'key', pattern: 'newbie:*' }))
    rows.push(row);
  expect(rows).toHaveLength(3);
  const exportConnection = pragma.mock.contexts.find((db) => db !== sqlite) as
    | Database.Database
    | undefined;
  expect(exportConnection?.readonly).toBe(true);
  expect(pragma).toHaveBeenCalledWith(`cache_size = -${PAGE_CACHE_KIB}`);
  expect(
    pragma.mock.calls.some(
      ([source], i) =>
        source === `cache_size = -${PAGE_CACHE_KIB}` &&
        pragma.mock.contexts[i] === exportConnection,
    ),
  ).toBe(true);
});
