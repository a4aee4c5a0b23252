/**
 * Opens the collector's storage, choosing the backend by the target: a `postgres://` or
 * `postgresql://` URL is a PostgreSQL server (its pending migrations applied at open), anything
 * else a SQLite file (or ':memory:'). Callers see only the contract (contract.ts).
 */
import type { Storage, StorageOptions } from './contract.ts';
import { openPgStorage } from './pg/index.ts';
import { openSqliteStorage } from './sqlite/index.ts';

export type { Storage, StorageOptions } from './contract.ts';
export { DEFAULT_PROFILE_CACHE } from './sqlite/index.ts';

/** Whether the target names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(target);
}

export async function openStorage(target: string, opts: StorageOptions = {}): Promise<Storage> {
  if (isPostgresUrl(target)) return openPgStorage(target, opts);
  return openSqliteStorage(target, opts);
}
