/**
 * The PostgreSQL write path: each job in a transaction of its own on a pooled client, jobs running
 * concurrently up to the pool's size. SQLite needs group commit in the collector (one writer, one
 * fsync per transaction); PostgreSQL already groups concurrent commits' WAL flushes, so the jobs
 * stay independent: a job that throws rolls back alone and nobody else runs twice.
 *
 * A job resolves after its COMMIT (answered only once durable); a job that throws is rolled back
 * and rejects with its own error. A transaction that fails with a serialization failure (40001)
 * or a deadlock (40P01: two jobs locking two profiles in opposite orders, e.g. an ingest into a
 * contact's profile and a merge; or an ingest whose visitor's link moved while it waited for a
 * lock, pg/profiles.ts) is run again, a few times, on a fresh transaction: the contract allows a
 * job to run twice. BEGIN costs no round trip of its own: it goes out with the job's first
 * statement (JobClient), and a job that sent nothing commits nothing. Nor does a job's last
 * write: a deferred statement (JobClient.defer, the ingest's profile save) goes with the COMMIT;
 * when it fails, the COMMIT after it is not run, the transaction is rolled back and the job
 * rejects with that statement's error.
 *
 * A job that calls `storage.write` would wait for a client while holding one; with every client
 * held by such jobs the pool would never give one back. It is refused, as SQLite's queue does,
 * by an AsyncLocalStorage token per running job (enabled only while a job runs).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { storageFailure } from '../../http/health.ts';
import type { WriteObserver, WriteState } from '../contract.ts';
import type { Queryable } from './db.ts';
import { checkout } from './pool.ts';
import { NESTED_WRITE } from '../sqlite/write-queue.ts';

export { NESTED_WRITE };

/** Attempts of a job whose transaction lost a deadlock or a serialization conflict. */
export const MAX_ATTEMPTS = 5;

const RETRIED = new Set(['40001', '40P01']);

/**
 * A job's connection as the job sees it. Its transaction begins with its first statement: BEGIN
 * is sent in the same message as `simple`'s SQL (the simple protocol runs a string of statements
 * in one round trip), or just before any other query (pg sends it without waiting for an answer
 * in between: its queue keeps the order).
 */
export interface JobClient extends Queryable {
  /**
   * Runs `sql`, one or more statements in one round trip by the simple protocol (so no
   * parameters: every value in it a numeric literal or one quoted by `literal`), and returns each
   * statement's result in order. Each statement takes its own snapshot (READ COMMITTED) and sees
   * the rows of those before it. As the job's first statement it carries BEGIN.
   */
  simple(sql: string): Promise<pg.QueryResult[]>;
  /** `value` as a quoted SQL string literal (the server's escaping rules, pg's escapeLiteral). */
  literal(value: string): string;
  /**
   * Sends `sql` (simple protocol: literals only, as `simple`) with the job's next statement, or
   * with its COMMIT when none follows: a job's last write costs no round trip of its own. Its
   * result is not returned; an error in it fails the statement it went with, or the COMMIT, so the
   * job rejects with it and nothing of the job is kept. Every statement the job sends after it,
   * through this client or through `Storage` reads inside the job, runs after it and sees its rows.
   */
  defer(sql: string): void;
}

/**
 * `value` as a string literal, exactly as pg's `escapeLiteral` writes it (quotes doubled; with a
 * backslash, an E'' literal with backslashes doubled), by native string search and replace rather
 * than its loop over each character, which costs the ingest's profile JSON (about 1 kB) more CPU
 * and garbage than the rest of its statement.
 */
export function literal(value: string): string {
  const quoted = value.includes("'") ? value.replaceAll("'", "''") : value;
  return value.includes('\\') ? ` E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

/** The job's client, as `attempt` drives it: whether it began, and the SQL its COMMIT carries. */
interface AttemptClient extends JobClient {
  begun(): boolean;
  /** COMMIT with the deferred statements before it (and BEGIN when the job sent nothing else). */
  commitSql(): string;
}

/** The job's client: BEGIN sent lazily with its first statement, `defer` (see JobClient). */
function jobClient(client: pg.PoolClient, lost: { err?: Error }): AttemptClient {
  let begun = false;
  /** Deferred statements not sent yet, and how many. */
  let deferred = '';
  let deferredCount = 0;
  const begin = () => {
    begun = true;
    // Not awaited: pg sends the next query after it, on the same connection, in order. A failed
    // BEGIN fails that query too; the connection is not trusted again.
    client.query('BEGIN').catch((e: Error) => {
      lost.err = e;
    });
  };
  /** Runs `sql` with BEGIN and the deferred statements before it; the results of `sql`'s own. */
  async function simple(sql: string): Promise<pg.QueryResult[]> {
    const skip = (begun ? 0 : 1) + deferredCount;
    const text = `${begun ? '' : 'BEGIN;'}${deferred}${sql}`;
    begun = true;
    deferred = '';
    deferredCount = 0;
    const res = (await client.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
    const all = Array.isArray(res) ? res : [res];
    return all.slice(skip);
  }
  return {
    query: ((...args: Parameters<pg.PoolClient['query']>) => {
      // Deferred statements first, in the same order as sent: their own round trip here.
      if (deferredCount > 0) return simple('SELECT 1').then(() => client.query(...args));
      if (!begun) begin();
      return client.query(...args);
    }) as Queryable['query'],
    simple,
    literal,
    defer(sql: string) {
      deferred += `${sql};\n`;
      deferredCount++;
    },
    begun: () => begun || deferredCount > 0,
    commitSql: () => `${begun || deferredCount === 0 ? '' : 'BEGIN;'}${deferred}COMMIT`,
  };
}

export interface PgWritePath extends WriteState {
  run<T>(job: (client: JobClient) => Promise<T>): Promise<T>;
  /**
   * The connection of the job the calling code runs in (its JobClient: statements the job deferred
   * go first), or undefined outside a job. A read through `Storage` (not the job's tx) inside a
   * job goes there: it sees the job's own rows, as on SQLite's one connection, and never waits for
   * a second connection that jobs holding every other one would never give back.
   */
  current(): Queryable | undefined;
  /** Resolves when no job is waiting or running. */
  drain(): Promise<void>;
  /** Refuses new jobs (after drain, the pool closes). */
  close(): void;
}

const codeOf = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;

export function pgWritePath(pool: pg.Pool, observers: readonly WriteObserver[] = []): PgWritePath {
  const inJob = new AsyncLocalStorage<object>();
  /** Tokens of the jobs running now: a detached task of a finished job is not a nested write. */
  const running = new Map<object, Queryable>();
  let waiting = 0;
  let closed = false;
  let idle: (() => void)[] = [];
  let failing: WriteState['failing'] = null;

  const depthChanged = () => {
    for (const o of observers) o.depth(waiting);
  };
  const settle = () => {
    if (waiting > 0 || running.size > 0) return;
    const done = idle;
    idle = [];
    for (const d of done) d();
  };

  /**
   * One transaction: BEGIN, the job, COMMIT; ROLLBACK on a throw, and the job's error thrown.
   * BEGIN is not a round trip of its own: it goes out with the job's first statement (jobClient).
   * A job that sent nothing has nothing to commit. `lost` is set when the connection cannot be
   * trusted again (a BEGIN, ROLLBACK or COMMIT that failed).
   */
  async function attempt<T>(
    client: pg.PoolClient,
    job: (client: JobClient) => Promise<T>,
    lost: { err?: Error },
    token: object,
  ): Promise<T> {
    const tx = jobClient(client, lost);
    running.set(token, tx);
    let value: T;
    try {
      value = await job(tx);
    } catch (err) {
      if (tx.begun()) {
        await client.query('ROLLBACK').catch((e: Error) => {
          lost.err = e;
        });
      }
      throw err;
    }
    if (!tx.begun()) return value;
    try {
      await client.query(tx.commitSql());
    } catch (err) {
      // Not committed: a deferred statement that failed (the COMMIT after it was not run: the
      // transaction is aborted, and ROLLBACK ends it) or a COMMIT that failed (it rolled back;
      // ROLLBACK then only warns). A ROLLBACK that fails too: the connection dropped, the outcome
      // is unknown, and the connection is not trusted again.
      await client.query('ROLLBACK').catch((e: Error) => {
        lost.err = e;
      });
      throw err;
    }
    return value;
  }

  async function runJob<T>(job: (client: JobClient) => Promise<T>): Promise<T> {
    waiting++;
    depthChanged();
    let client: pg.PoolClient;
    try {
      client = await checkout(pool);
    } catch (err) {
      recordFailure(err);
      // Counted out below (finally runs first); with nothing else waiting or running, drain ends.
      queueMicrotask(settle);
      throw err;
    } finally {
      waiting--;
      depthChanged();
    }
    const token = {};
    running.set(token, client);
    const started = performance.now();
    const lost: { err?: Error } = {};
    // The pool listens for errors of idle clients only: a held one whose connection drops between
    // two statements would emit `error` with no listener, which ends the process.
    const onClientError = (err: Error) => {
      lost.err = err;
    };
    client.on('error', onClientError);
    try {
      for (let n = 1; ; n++) {
        try {
          const value = await inJob.run(token, () => attempt(client, job, lost, token));
          failing = null;
          return value;
        } catch (err) {
          if (lost.err === undefined && RETRIED.has(String(codeOf(err))) && n < MAX_ATTEMPTS) {
            continue;
          }
          recordFailure(err);
          throw err;
        }
      }
    } finally {
      // A connection in an unknown state is closed rather than given to the next job.
      client.off('error', onClientError);
      client.release(lost.err);
      running.delete(token);
      if (running.size === 0) inJob.disable();
      const seconds = (performance.now() - started) / 1000;
      for (const o of observers) o.committed(seconds);
      settle();
    }
  }

  function recordFailure(err: unknown) {
    const failure = storageFailure(err);
    if (failure) failing = { code: failure.code, at: Date.now() };
  }

  return {
    run<T>(job: (client: JobClient) => Promise<T>): Promise<T> {
      const store = inJob.getStore();
      if (store !== undefined && running.has(store)) return Promise.reject(new Error(NESTED_WRITE));
      if (closed) return Promise.reject(new Error('microseg: the storage is closed'));
      return runJob(job);
    },
    current() {
      if (running.size === 0) return undefined;
      const store = inJob.getStore();
      return store === undefined ? undefined : running.get(store);
    },
    drain() {
      if (waiting === 0 && running.size === 0) return Promise.resolve();
      return new Promise<void>((done) => idle.push(done));
    },
    close() {
      closed = true;
    },
    get depth() {
      return waiting;
    },
    get failing() {
      return failing;
    },
  };
}
