/**
 * WAL checkpoints off the event loop. SQLite checkpoints automatically inside the commit that
 * grows the WAL past 1,000 pages, on the connection that commits: it copies the WAL into the
 * database file and fsyncs both, and the collector's only thread waits, every few group commits
 * under load, for as long as the disk takes (the ingest's p99 and half its throughput on a busy
 * disk). Here a worker thread with its own connection runs PASSIVE checkpoints on a timer instead:
 * they never block the writer, which no longer checkpoints unless the WAL grows past
 * `FALLBACK_PAGES` (the worker stopped or too slow). Durability is unchanged: a commit is in the
 * WAL before it is answered, as before; a checkpoint only moves it into the database file.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How long closing waits for the worker's connection at most (it may be starting, or in a checkpoint). */
const STOP_WAIT_MS = 5_000;

/** The writer checkpoints itself past this many WAL pages (~40 MB), as a safety net only. */
export const FALLBACK_PAGES = 10_000;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const run = () => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage(String(err)); }
};
const timer = setInterval(run, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  Atomics.store(workerData.closed, 0, 1);
  Atomics.notify(workerData.closed, 0);
  parentPort.close();
});
`;

export interface Checkpointer {
  /**
   * Stops the worker and waits (blocking, at most a checkpoint's time) until its connection is
   * closed: the writer's own close then runs last and, as SQLite's last connection, checkpoints and
   * removes the WAL before the caller moves on (a test deletes its folder right after).
   */
  stop(): void;
}

/** Starts checkpointing `file` every `everyMs` from a worker; `sqlite` stops checkpointing itself. */
export function startCheckpointer(
  sqlite: Database.Database,
  file: string,
  everyMs = 250,
  onError: (message: string) => void = () => {},
): Checkpointer {
  sqlite.pragma(`wal_autocheckpoint = ${FALLBACK_PAGES}`);
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  // No execArgv of the parent: under --cpu-prof the worker would write over the main thread's profile.
  const closed = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, {
    eval: true,
    execArgv: [],
    workerData: { file, everyMs, driver, closed },
  });
  let alive = true;
  worker.on('message', (m) => onError(String(m)));
  worker.on('error', (err) => onError(String(err)));
  worker.on('exit', () => {
    alive = false;
  });
  // Not a reason to keep the process alive.
  worker.unref();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      if (!alive) return;
      worker.postMessage('stop');
      Atomics.wait(closed, 0, 0, STOP_WAIT_MS);
    },
  };
}
