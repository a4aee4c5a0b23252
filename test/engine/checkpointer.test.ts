/**
 * WAL checkpoints from a worker thread (collector/storage/sqlite/checkpointer.ts): the writer no longer
 * checkpoints inside its commits, and the worker moves committed pages into the database file.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { FALLBACK_PAGES } from '../../collector/storage/sqlite/checkpointer.ts';
import type { Storage } from '../../collector/storage/contract.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { tempDir } from '../temp.ts';

let tmp: ReturnType<typeof tempDir>;
let storage: Storage | undefined;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(async () => {
  await storage?.close();
  tmp.cleanup();
});

it('the worker checkpoints what the writer committed; the writer only past its fallback', async () => {
  const file = join(tmp.dir, 'db.sqlite');
  storage = await openStorage(file, { checkpointEveryMs: 10 });
  const sqlite = sqliteHandle(storage);
  expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(FALLBACK_PAGES);
  const before = statSync(file).size;
  // ~100 pages of rows: far below SQLite's own checkpoint (1,000 pages), so only the worker
  // puts them in the database file.
  const insert = sqlite.prepare(
    "INSERT INTO quarantine (site, source, received, error, message, payload) VALUES ('s', 'collect', 0, 'e', 'm', ?)",
  );
  sqlite.transaction(() => {
    for (let i = 0; i < 200; i++) insert.run('x'.repeat(2000));
  })();
  await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(before + 300_000), {
    timeout: 10_000,
    interval: 20,
  });
  await storage.close();
  storage = await openStorage(file);
  expect(sqliteHandle(storage).prepare('SELECT count(*) FROM quarantine').pluck().get()).toBe(200);
});

it('without it, SQLite checkpoints inside the commit as usual (CLI, tests)', async () => {
  storage = await openStorage(join(tmp.dir, 'plain.sqlite'));
  expect(sqliteHandle(storage).pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
});
