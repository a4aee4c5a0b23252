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
parentPort.on('message', () => { clearInterval(timer); run(); db.close(); parentPort.close(); });
`;

export interface Checkpointer {
  /** Stops the timer after one last checkpoint; resolves once the worker's connection is closed. */
  stop(): Promise<void>;
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
  const worker = new Worker(WORKER, {
    eval: true,
    execArgv: [],
    workerData: { file, everyMs, driver },
  });
  worker.on('message', (m) => onError(String(m)));
  worker.on('error', (err) => onError(String(err)));
  // Not a reason to keep the process alive.
  worker.unref();
  let stopped: Promise<void> | null = null;
  return {
    stop() {
      stopped ??= new Promise<void>((done) => {
        worker.once('exit', () => done());
        worker.postMessage('stop');
      });
      return stopped;
    },
  };
}
