/**
 * Group commit: write jobs that arrive while the event loop is busy run together in ONE SQLite
 * transaction on the next turn, and each caller is answered only after that commit. A job that
 * throws rolls back alone and the rest of the group still commits: the group first runs without
 * savepoints (two statements per job saved); when a job throws, the whole transaction is rolled
 * back and the group runs again with a SAVEPOINT per job. A job may therefore run twice when
 * another job of its group fails: its effects must be the database's, which the rollback undoes.
 *
 * Jobs are async (the storage contract), so the transaction is opened and ended by hand:
 * better-sqlite3's `transaction()` cannot span an `await`. The backend's own synchronous
 * `sqlite.transaction(...)` wrappers still work inside a job: under an open transaction
 * better-sqlite3 makes them savepoints.
 *
 * Reads outside the queue while a group is open: a job's awaits on its `tx` resolve on the
 * microtask queue, where other requests' continuations may run between two of them, and their
 * reads (same connection) may see the group's rows before the COMMIT, for the microseconds until
 * it. That is acceptable: those rows commit unless the disk fails at that very commit, a read that
 * came a moment later would see them anyway, and nothing read is kept: the read cache is filled
 * only outside a transaction (reads.ts), so a rolled-back row never outlives the group.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import { storageFailure } from '../../http/health.ts';
import type { WriteObserver, WriteState } from '../contract.ts';

interface Job<Tx> {
  run: (tx: Tx) => Promise<unknown>;
  /** What the job asked to run once it is committed (`afterCommit`); emptied when it reruns or fails. */
  after: (() => void)[];
  ok: (v: unknown) => void;
  fail: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; value: unknown };

export interface WriteQueue<Tx> extends WriteState {
  /** Runs `job` inside the next group transaction; resolves once it is committed. */
  run<T>(job: (tx: Tx) => Promise<T>): Promise<T>;
  /** Resolves when every queued job has been committed (graceful shutdown). */
  drain(): Promise<void>;
  /** Runs `fn` on a later turn once the job running now is committed (never if it fails). */
  afterCommit(fn: () => void): void;
}

export const NESTED_WRITE =
  "storage.write() was called inside a write job: it would wait for its own transaction; write through the job's tx";

export function writeQueue<Tx>(
  sqlite: Database.Database,
  tx: Tx,
  observers: readonly WriteObserver[] = [],
  maxGroup = 500,
  /** Before each group: what to wait for first (the checkpointer's hold, checkpointer.ts), or null. */
  hold: () => Promise<unknown> | null = () => null,
): WriteQueue<Tx> {
  /**
   * Whether code runs inside a group: a job that calls `storage.write` would wait for the group
   * it is part of, forever. Only the flush enters it, and disables it when done: while no instance
   * is enabled Node runs no promise hooks, so the rest of the process pays nothing for it (~2 µs a
   * group, measured; a hook on every promise cost 0.2 µs per await process-wide).
   */
  const inGroup = new AsyncLocalStorage<object>();
  /**
   * The running group's token. A timer or a detached task started by a job carries the token of
   * that job's group for good: compared with the running group's, its later writes are not
   * mistaken for nested ones.
   */
  let current: object | null = null;
  /** The job running now, whose `afterCommit` callbacks are being collected. */
  let active: Job<Tx> | null = null;
  let queue: Job<Tx>[] = [];
  let scheduled = false;
  let running = false;
  let idle: (() => void)[] = [];
  let failing: WriteState['failing'] = null;
  const failed = (err: unknown) => {
    const storage = storageFailure(err);
    if (storage) failing = { code: storage.code, at: Date.now() };
  };

  /** Runs a job (again, on a rerun: what it asked for before is forgotten). */
  function start(job: Job<Tx>): Promise<unknown> {
    job.after = [];
    active = job;
    return job.run(tx);
  }

  /** The group without savepoints: all or nothing. */
  async function plain(group: Job<Tx>[]): Promise<Outcome[]> {
    sqlite.exec('BEGIN IMMEDIATE');
    const results: Outcome[] = [];
    try {
      for (const job of group) results.push({ ok: true, value: await start(job) });
      sqlite.exec('COMMIT');
    } catch (err) {
      if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
      throw err;
    }
    return results;
  }

  /** The group again, one savepoint per job, so that only the jobs that fail fail. */
  async function oneByOne(group: Job<Tx>[]): Promise<Outcome[]> {
    sqlite.exec('BEGIN IMMEDIATE');
    const results: Outcome[] = [];
    try {
      for (const job of group) {
        sqlite.exec('SAVEPOINT microseg_job');
        try {
          const value = await start(job);
          sqlite.exec('RELEASE microseg_job');
          results.push({ ok: true, value });
        } catch (err) {
          // SQLITE_FULL, IOERR or BUSY may roll back the whole transaction, not just the job's
          // savepoint: then the group's earlier jobs are gone too, and later ones would run in
          // autocommit. Fail the whole group with the cause.
          if (!sqlite.inTransaction) throw err;
          job.after = [];
          sqlite.exec('ROLLBACK TO microseg_job');
          sqlite.exec('RELEASE microseg_job');
          results.push({ ok: false, value: err });
        }
      }
      sqlite.exec('COMMIT');
    } catch (err) {
      if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
      throw err;
    }
    return results;
  }

  /** Returns the `afterCommit` callbacks of the jobs that committed. */
  async function runGroup(group: Job<Tx>[]): Promise<(() => void)[]> {
    const started = performance.now();
    const after: (() => void)[] = [];
    try {
      let results: Outcome[];
      try {
        results = await plain(group);
      } catch (err) {
        // A job threw (or the commit failed): nothing of the group is kept. Again, one savepoint
        // per job (and a failing commit fails them all); a job alone has its answer already.
        if (group.length === 1) results = [{ ok: false, value: err }];
        else results = await oneByOne(group);
      }
      // Committed: writes work again, unless a job of this group failed for a storage reason.
      failing = null;
      for (const [i, job] of group.entries()) {
        const r = results[i];
        if (r === undefined) job.fail(new Error('microseg: a write job has no result'));
        else if (r.ok) {
          job.ok(r.value);
          after.push(...job.after);
        } else {
          failed(r.value);
          job.fail(r.value);
        }
      }
    } catch (err) {
      // The commit itself failed (disk full, I/O error): nobody in the group is acknowledged.
      failed(err);
      for (const job of group) job.fail(err);
    } finally {
      active = null;
      const seconds = (performance.now() - started) / 1000;
      for (const o of observers) o.committed(seconds);
    }
    return after;
  }

  async function flush() {
    scheduled = false;
    running = true;
    // Jobs that arrive meanwhile join this group.
    const held = hold();
    if (held) await held;
    const group = queue.length <= maxGroup ? queue : queue.slice(0, maxGroup);
    queue = queue.length <= maxGroup ? [] : queue.slice(group.length);
    for (const o of observers) o.depth(queue.length);
    const token = {};
    current = token;
    let after: (() => void)[] = [];
    try {
      after = await inGroup.run(token, () => runGroup(group));
    } finally {
      current = null;
      inGroup.disable();
      running = false;
    }
    // Outside the group (no job's context): their writes are jobs of a later group.
    for (const fn of after) setImmediate(fn);
    if (queue.length > 0) schedule();
    else {
      const waiting = idle;
      idle = [];
      for (const done of waiting) done();
    }
  }

  function schedule() {
    if (scheduled || running) return;
    scheduled = true;
    setImmediate(flush);
  }

  return {
    run<T>(run: (tx: Tx) => Promise<T>): Promise<T> {
      if (current !== null && inGroup.getStore() === current)
        return Promise.reject(new Error(NESTED_WRITE));
      return new Promise<T>((ok, fail) => {
        queue.push({ run, after: [], ok: ok as (v: unknown) => void, fail });
        for (const o of observers) o.depth(queue.length);
        schedule();
      });
    },
    afterCommit(fn) {
      if (!active) throw new Error('microseg: afterCommit() is for a write job, inside it');
      active.after.push(fn);
    },
    drain() {
      if (queue.length === 0 && !scheduled && !running) return Promise.resolve();
      return new Promise<void>((done) => idle.push(done));
    },
    get depth() {
      return queue.length;
    },
    get failing() {
      return failing;
    },
  };
}
