/**
 * WAL checkpoints from a worker thread (collector/storage/checkpointer.ts): the writer no longer
 * checkpoints inside its commits, and the worker moves committed pages into the database file.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { FALLBACK_PAGES } from '../../collector/storage/checkpointer.ts';
import { openStorage, type Storage } from '../../collector/storage/storage.ts';
import { tempDir } from '../helpers.ts';

let tmp: ReturnType<typeof tempDir>;
let storage: Storage | undefined;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  storage?.close();
  tmp.cleanup();
});

it('the worker checkpoints what the writer committed; the writer only past its fallback', async () => {
  const file = join(tmp.dir, 'db.sqlite');
  storage = openStorage(file, { checkpointEveryMs: 10 });
  const sqlite = storage.db.$client;
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
  storage.close();
  storage = openStorage(file);
  expect(storage.db.$client.prepare('SELECT count(*) FROM quarantine').pluck().get()).toBe(200);
});

it('without it, SQLite checkpoints inside the commit as usual (CLI, tests)', () => {
  storage = openStorage(join(tmp.dir, 'plain.sqlite'));
  expect(storage.db.$client.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
});
