/**
 * The checkpoint worker's hold (collector/storage/sqlite/checkpointer.ts) under SIGKILL: the
 * collector is killed three times over one SQLite file while one-event batches stream in, so
 * kills land in the worker's passes, in holds and right after WAL restarts. The file must stay
 * whole and keep every acknowledged event. SQLite only: PostgreSQL has no such worker.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { openStorage } from '../../collector/storage/open.ts';
import { startCollector, stopped } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';
import { BACKEND } from '../support/backend.ts';
import { walSalt } from '../support/wal.ts';
import { ackedLoad, missingIds } from './load.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

it.skipIf(BACKEND !== 'sqlite')(
  'killed while the worker checkpoints and holds the writer, the file stays whole',
  async () => {
    const file = join(tmp.dir, 'kill.db');
    const acked: string[] = [];
    // Each value of the WAL header's salt is one start of the WAL from its beginning.
    const salts = new Set<number>();
    const sample = setInterval(() => {
      const salt = walSalt(file);
      if (salt !== null) salts.add(salt);
    }, 5);
    for (const round of [0, 1, 2]) {
      const collector = await startCollector({ MICROSEG_DB: file });
      const load = ackedLoad(collector.url, { workers: 16, size: 1, prefix: `r${round}w` });
      // Past a few restarts' worth of WAL (a one-event commit writes a handful of pages).
      await load.acknowledged(1_500);
      collector.child.kill('SIGKILL');
      await load.stop();
      await stopped(collector.child);
      expect(load.partial).toEqual([]);
      acked.push(...load.acked);
    }
    clearInterval(sample);
    console.log(
      `checkpoint kills: ${acked.length} acknowledged, WAL started again ${salts.size - 1} times`,
    );
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      check.close();
    }
    const storage = await openStorage(file);
    try {
      expect(await missingIds(storage, acked)).toEqual([]);
      // The holds happened: without them the WAL starts again only at the writer's fallback
      // (10,000 pages: 4 times in all here, 13 with them).
      expect(salts.size - 1).toBeGreaterThanOrEqual(8);
    } finally {
      await storage.close();
    }
  },
  120_000,
);
