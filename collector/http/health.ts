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
  /** The database's code (SQLite's, PostgreSQL's SQLSTATE, a socket's), for the log. */
  code: string;
}

/** How long a failed write keeps `/healthz` at 503 when nothing else shows the problem. */
export const WRITE_FAILURE_HOLD_MS = 30_000;
/** Free bytes on the database's file system below which `/healthz` reports the disk full. */
export const MIN_FREE_BYTES = 1024 * 1024;

const FULL = "the collector's disk is full; the batch was not stored, send it again later";
const BUSY = "the collector's database is busy; the batch was not stored, send it again";
const UNAVAILABLE =
  'the collector cannot write to its database; the batch was not stored, send it again later';

/**
 * The storage failure an error stands for, or null: SQLite's code (SQLITE_FULL,
 * SQLITE_IOERR_WRITE, …), PostgreSQL's SQLSTATE (`err.code` from pg: 53100 disk full, 08006 a
 * lost connection, …), or a socket error on the way to the PostgreSQL server (ECONNREFUSED, …).
 */
export function storageFailure(err: unknown): StorageFailure | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return connectionLost(err);
  if (code.startsWith('SQLITE_')) return sqliteFailure(code);
  return pgFailure(code) ?? socketFailure(code);
}

function sqliteFailure(code: string): StorageFailure | null {
  if (code === 'SQLITE_FULL') return { error: 'storage_full', message: FULL, retryAfter: 30, code };
  if (/^SQLITE_(BUSY|LOCKED)/.test(code)) {
    return { error: 'storage_busy', message: BUSY, retryAfter: 5, code };
  }
  if (/^SQLITE_(IOERR|READONLY|CANTOPEN|PROTOCOL|NOLFS)/.test(code)) {
    return { error: 'storage_unavailable', message: UNAVAILABLE, retryAfter: 30, code };
  }
  return null;
}

/**
 * PostgreSQL SQLSTATEs that are the server's condition, not the request's
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html). Anything else (a constraint
 * violation, a syntax error) stays a bug, answered 500.
 */
function pgFailure(code: string): StorageFailure | null {
  // 53100 disk_full
  if (code === '53100') return { error: 'storage_full', message: FULL, retryAfter: 30, code };
  // 53000 insufficient resources, 53200 out of memory, 53300 too many connections; 55P03 lock
  // not available; 57014 statement timeout; 40001/40P01 serialization failure or deadlock
  // (after the write path's retries): the server is loaded, a retry soon may pass.
  if (/^(53000|53200|53300|55P03|57014|40001|40P01)$/.test(code)) {
    return { error: 'storage_busy', message: BUSY, retryAfter: 5, code };
  }
  // 08xxx connection exceptions; 57P01-57P05 the server shutting down, crashed, starting, idle
  // timeouts; 25006 read-only transaction (a standby, default_transaction_read_only); 58xxx
  // system errors (I/O); XX001/XX002 corrupted data or index; 53400 configuration limit.
  if (/^(08[0-9A-Z]{3}|57P0[1-5]|25006|58[0-9A-Z]{3}|XX00[12]|53400)$/.test(code)) {
    return { error: 'storage_unavailable', message: UNAVAILABLE, retryAfter: 30, code };
  }
  return null;
}

/** Socket errors of a connection to the database server (PostgreSQL). */
function socketFailure(code: string): StorageFailure | null {
  if (
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(
      code,
    )
  ) {
    return { error: 'storage_unavailable', message: UNAVAILABLE, retryAfter: 30, code };
  }
  return null;
}

/**
 * pg's errors without a code: the server closed the connection (a crash, a restart), or no
 * connection came within the pool's timeout.
 */
function connectionLost(err: unknown): StorageFailure | null {
  if (!(err instanceof Error)) return null;
  if (/^Connection terminated|^timeout exceeded when trying to connect/.test(err.message)) {
    return {
      error: 'storage_unavailable',
      message: UNAVAILABLE,
      retryAfter: 30,
      code: 'connection_lost',
    };
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
