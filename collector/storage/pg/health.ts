/**
 * Whether the PostgreSQL database answers and can take writes: `Storage.health()`, the port of
 * sqlite/health.ts. Writes failing are the write path's to say (`writes.failing`).
 *
 * "Room" on PostgreSQL is whether the server accepts writes at all: a standby (in recovery) or a
 * database set `default_transaction_read_only` refuses every write: `storage_unavailable`, the
 * code a write refused by a read-only SQLite file is answered with (http/health.ts).
 * What it cannot know: the disk space of the server. That is on another host, and PostgreSQL tells
 * a client nothing about it; a full disk shows as failing writes (`writes_failing`, from the write
 * path's errors), and the operator watches the server's disk.
 */
import type pg from 'pg';
import type { DbHealth } from '../contract.ts';

/** How long the check waits for a connection and an answer before calling the database down. */
export const HEALTH_TIMEOUT_MS = 2000;

interface Answer {
  recovery: boolean;
  readOnly: string;
}

/**
 * One round trip: a read-only transaction with a server-side `statement_timeout` (a hung server
 * stops there), and a client-side timer over connect and query together (a server that does not
 * answer at all, or a pool with no free connection, is down for a health check's purposes).
 */
export async function pgHealth(pool: pg.Pool, timeoutMs = HEALTH_TIMEOUT_MS): Promise<DbHealth> {
  let answer: Answer;
  try {
    answer = await withTimeout(check(pool, timeoutMs), timeoutMs);
  } catch (err) {
    const message = `the database does not answer: ${String((err as Error).message)}`;
    return { ok: false, error: 'database_unavailable', message };
  }
  if (answer.recovery) {
    const message = 'the database server is a standby in recovery: it refuses writes';
    return { ok: false, error: 'storage_unavailable', message };
  }
  if (answer.readOnly === 'on') {
    const message = 'the database is read-only (default_transaction_read_only is on)';
    return { ok: false, error: 'storage_unavailable', message };
  }
  return { ok: true };
}

async function check(pool: pg.Pool, timeoutMs: number): Promise<Answer> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // A simple query of several statements: one round trip, one result per statement.
    // `query_timeout` ends a query the server never answers: the client errs and is destroyed
    // below, instead of staying checked out of the pool.
    // (node-postgres reads it per query; its type declarations know it only per client.)
    const query: pg.QueryConfig & { query_timeout: number } = {
      query_timeout: timeoutMs + 1000,
      text: `BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))};
       SELECT pg_is_in_recovery() AS recovery,
              current_setting('default_transaction_read_only') AS "readOnly";
       COMMIT`,
    };
    const results = (await client.query(query)) as unknown as pg.QueryResult<Answer>[];
    const row = results[2]?.rows[0];
    if (!row) throw new Error('no answer to the health query');
    return row;
  } catch (err) {
    broken = err as Error;
    throw err;
  } finally {
    // A client whose query failed (or timed out mid-transaction) is not given back to the pool.
    client.release(broken);
  }
}

/** `p`, or a rejection after `ms`; a late connection is still released by `check`'s finally. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
