/** Opens the SQLite file (WAL mode) and applies the committed drizzle migrations. */
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as schema from './schema.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/** The `drizzle/` folder, found from this module whether it runs from source or from `dist/`. */
export function migrationsFolder(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'drizzle');
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('drizzle migrations folder not found');
    dir = parent;
  }
}

/**
 * SQLite's page cache of each collector connection, in KiB. better-sqlite3 builds SQLite with 16 MB
 * (`SQLITE_DEFAULT_CACHE_SIZE=-16000`), malloc'd outside V8's heap, and a collector's lookups fill
 * all of it on any file that large: the bench's 1M-event collectors held ~23 MB more outside the
 * heap at 16 MB than at 4 MB. Past the B-trees' upper levels the pages a read needs are rarely in
 * either (a 95k-visitor `profiles` table is ~100 MB); a page from the OS's cache costs a `pread`.
 * Reads and ingest measured the same CPU per request at both sizes (README, Performance).
 */
export const PAGE_CACHE_KIB = 4_000;

export function openDb(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  // In WAL mode NORMAL survives a process crash (SIGKILL) with every commit intact; only an
  // OS crash or power loss can roll back the last transactions.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  const db = drizzle(sqlite, { schema }) as Db;
  migrate(db, { migrationsFolder: migrationsFolder() });
  return db;
}
