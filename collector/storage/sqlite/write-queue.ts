/**
 * Group commit: writes that arrive while the event loop is busy are run together in ONE
 * SQLite transaction on the next turn, and each caller is answered only after that commit.
 * A job that throws rolls back alone and the rest of the group still commits: the group first
 * runs without savepoints (two statements per job saved); when a job throws, the whole
 * transaction is rolled back and the group runs again with a savepoint per job (better-sqlite3
 * nests transactions that way). A job may therefore run twice when another job of its group
 * fails: its effects must be the database's, which the rollback undoes.
 */
import type Database from 'better-sqlite3';
import type { Metrics } from '../http/metrics.ts';
import { storageFailure, type WriteHealth } from '../http/health.ts';
import { must } from '../../shared/must.ts';

interface Job {
  run: () => unknown;
  ok: (v: unknown) => void;
  fail: (e: unknown) => void;
}

export interface WriteQueue extends WriteHealth {
  /** Runs `job` inside the next group transaction; resolves once it is committed. */
  run<T>(job: () => T): Promise<T>;
  /** Resolves when every queued job has been committed (graceful shutdown). */
  drain(): Promise<void>;
  readonly depth: number;
}

export function writeQueue(
  sqlite: Database.Database,
  metrics?: Metrics,
  maxGroup = 500,
): WriteQueue {
  let queue: Job[] = [];
  let scheduled = false;
  let idle: (() => void)[] = [];
  let failing: WriteHealth['failing'] = null;
  const failed = (err: unknown) => {
    const storage = storageFailure(err);
    if (storage) failing = { code: storage.code, at: Date.now() };
  };

  const flush = () => {
    scheduled = false;
    const group = queue.slice(0, maxGroup);
    queue = queue.slice(group.length);
    if (queue.length > 0) schedule();
    metrics?.writeQueueDepth.set(queue.length);
    const end = metrics?.commitSeconds.startTimer();
    try {
      let results: { ok: boolean; value: unknown }[];
      try {
        results = sqlite.transaction(() => group.map((job) => ({ ok: true, value: job.run() })))();
      } catch {
        // A job threw (or the commit failed): nothing of the group is kept. Again, one savepoint
        // per job, so that only the jobs that fail fail (and a failing commit fails them all).
        results = [];
        sqlite.transaction(() => {
          for (const job of group) {
            try {
              results.push({ ok: true, value: sqlite.transaction(job.run)() });
            } catch (err) {
              // SQLITE_FULL, IOERR or BUSY may roll back the whole transaction, not just the
              // job's savepoint: then the group's earlier jobs are gone too, and later ones would
              // run in autocommit. Fail the whole group with the cause.
              if (!sqlite.inTransaction) throw err;
              results.push({ ok: false, value: err });
            }
          }
        })();
      }
      // Committed: writes work again, unless a job of this group failed for a storage reason.
      failing = null;
      for (const r of results) if (!r.ok) failed(r.value);
      for (const [i, job] of group.entries()) {
        const r = must(results[i], 'the result of a job');
        if (r.ok) job.ok(r.value);
        else job.fail(r.value);
      }
    } catch (err) {
      // The commit itself failed (disk full, I/O error): nobody in the group is acknowledged.
      failed(err);
      for (const job of group) job.fail(err);
    } finally {
      end?.();
    }
    if (queue.length === 0) {
      const waiting = idle;
      idle = [];
      for (const done of waiting) done();
    }
  };

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };

  return {
    run<T>(run: () => T) {
      return new Promise<T>((ok, fail) => {
        queue.push({ run, ok: ok as (v: unknown) => void, fail });
        metrics?.writeQueueDepth.set(queue.length);
        schedule();
      });
    },
    drain() {
      if (queue.length === 0 && !scheduled) return Promise.resolve();
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
