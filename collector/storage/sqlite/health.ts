/**
 * Whether the SQLite database answers and has room to grow: `Storage.health()`. Writes failing
 * are the write queue's to say (`writes.failing`).
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { DbHealth } from '../contract.ts';

/** Free bytes on the database's file system below which the database is reported full. */
export const MIN_FREE_BYTES = 1024 * 1024;

/**
 * The database answers a read, has pages left to grow into (`max_page_count`) and its file
 * system has free space.
 */
export function sqliteHealth(sqlite: Database.Database): DbHealth {
  try {
    sqlite.prepare('select 1').get();
  } catch (err) {
    const message = `the database does not answer: ${String((err as Error).message)}`;
    return { ok: false, error: 'database_unavailable', message };
  }
  const pages = sqlite.pragma('page_count', { simple: true }) as number;
  const max = sqlite.pragma('max_page_count', { simple: true }) as number;
  const free = sqlite.pragma('freelist_count', { simple: true }) as number;
  if (pages >= max && free === 0) {
    return {
      ok: false,
      error: 'storage_full',
      message: `the database is at its max_page_count (${max} pages)`,
    };
  }
  if (!sqlite.memory) {
    try {
      const fs = statfsSync(dirname(sqlite.name));
      if (fs.bavail * fs.bsize < MIN_FREE_BYTES) {
        const message = `less than ${MIN_FREE_BYTES} bytes free beside the database`;
        return { ok: false, error: 'storage_full', message };
      }
    } catch {
      // A file system that cannot say (statfs unsupported) is not a failure of its own.
    }
  }
  return { ok: true };
}
