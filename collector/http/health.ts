/**
 * Storage failures answered honestly: a write that fails because the disk is full, broken or
 * busy is the collector's condition, not the client's mistake, so it answers 503 with
 * Retry-After (the snippet keeps the batch and sends it again) instead of a 500; and `/healthz`
 * says so instead of answering ok while every write fails.
 */
import type { Storage } from '../storage/contract.ts';

export interface StorageFailure {
  /** The answer's error code. */
  error: 'storage_full' | 'storage_busy' | 'storage_unavailable';
  message: string;
  /** Seconds the client should wait before it sends again. */
  retryAfter: number;
  /** SQLite's code, for the log. */
  code: string;
}

/** How long a failed write keeps `/healthz` at 503 when nothing else shows the problem. */
export const WRITE_FAILURE_HOLD_MS = 30_000;
/** Free bytes on the database's file system below which `/healthz` reports the disk full. */
export const MIN_FREE_BYTES = 1024 * 1024;

/** The storage failure an error stands for (SQLite's code, e.g. SQLITE_FULL, SQLITE_IOERR_WRITE), or null. */
export function storageFailure(err: unknown): StorageFailure | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return null;
  if (code === 'SQLITE_FULL') {
    const message = "the collector's disk is full; the batch was not stored, send it again later";
    return { error: 'storage_full', message, retryAfter: 30, code };
  }
  if (/^SQLITE_(BUSY|LOCKED)/.test(code)) {
    const message = "the collector's database is busy; the batch was not stored, send it again";
    return { error: 'storage_busy', message, retryAfter: 5, code };
  }
  if (/^SQLITE_(IOERR|READONLY|CANTOPEN|PROTOCOL|NOLFS)/.test(code)) {
    const message =
      'the collector cannot write to its database; the batch was not stored, send it again later';
    return { error: 'storage_unavailable', message, retryAfter: 30, code };
  }
  return null;
}

/** The outcome of the last write transactions, kept by the write queue. */
export interface WriteHealth {
  /** The last write that failed for a storage reason and no write succeeded since, or null. */
  failing: { code: string; at: number } | null;
}

export type Health = { ok: true } | { ok: false; error: string; message: string };

/**
 * The collector's health: the database answers a read, writes are not failing (the last one
 * with a storage error, within WRITE_FAILURE_HOLD_MS, and none succeeded since), the database has
 * pages left to grow into (`max_page_count`) and its file system has free space.
 */
export async function checkHealth(storage: Storage, now: number): Promise<Health> {
  const db = await storage.health();
  if (!db.ok && db.error === 'database_unavailable') return db;
  const failing = storage.writes.failing;
  if (failing && now - failing.at < WRITE_FAILURE_HOLD_MS) {
    const message = `the last write failed (${failing.code}) and none succeeded since`;
    return { ok: false, error: 'writes_failing', message };
  }
  return db;
}
