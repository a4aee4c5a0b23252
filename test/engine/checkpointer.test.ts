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
import { walSalt } from '../support/wal.ts';
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

it('under writes without a pause the WAL still starts again from its beginning: the worker holds the writer for it', async () => {
  const file = join(tmp.dir, 'busy.sqlite');
  storage = await openStorage(file, { checkpointEveryMs: 10 });
  const sqlite = sqliteHandle(storage);
  const insert = sqlite.prepare(
    "INSERT INTO quarantine (site, source, received, error, message, payload) VALUES ('s', 'collect', 0, 'e', 'm', ?)",
  );
  // Four writers, each a commit after the other's: a group commits every turn, so a PASSIVE
  // checkpoint alone never finds the WAL all copied. ~28,000 pages go through the WAL in all.
  let jobs = 0;
  const salts = new Set<number>();
  // The worker's connection opens first (a new thread loads the driver).
  await new Promise((r) => setTimeout(r, 500));
  const writer = async () => {
    while (jobs < 4_000) {
      jobs++;
      await storage!.write(async () => {
        for (let i = 0; i < 5; i++) insert.run('x'.repeat(3000));
      });
      const salt = walSalt(file);
      if (salt !== null) salts.add(salt);
    }
  };
  await Promise.all([writer(), writer(), writer(), writer()]);
  console.log(`WAL started again ${salts.size - 1} times`);
  // Without the hold it starts again only after the writer's own fallback checkpoint (every
  // 10,000 pages): twice. With it 20-28 times (measured).
  expect(salts.size - 1).toBeGreaterThanOrEqual(5);
  expect(sqlite.prepare('SELECT count(*) FROM quarantine').pluck().get()).toBe(20_000);
}, 60_000);
