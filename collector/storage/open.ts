/**
 * Opens the collector's storage, choosing the backend by the target: a `postgres://` or
 * `postgresql://` URL is a PostgreSQL server (its pending migrations applied at open), anything
 * else a SQLite file (or ':memory:'). Callers see only the contract (contract.ts).
 */
import { isPostgresUrl } from '../config/db-url.ts';
import type { Storage, StorageOptions } from './contract.ts';
import { openPgStorage } from './pg/index.ts';
import { openSqliteStorage } from './sqlite/index.ts';

export type { Storage, StorageOptions } from './contract.ts';
/** Profiles kept parsed for segment reads when `profileCache` is not set (MICROSEG_PROFILE_CACHE's default). */
export { DEFAULT_PROFILE_CACHE } from './sqlite/index.ts';

export async function openStorage(target: string, opts: StorageOptions = {}): Promise<Storage> {
  if (isPostgresUrl(target)) return openPgStorage(target, opts);
  return openSqliteStorage(target, opts);
}
