/**
 * WAL checkpoints off the event loop. SQLite checkpoints automatically inside the commit that
 * grows the WAL past 1,000 pages, on the connection that commits: it copies the WAL into the
 * database file and fsyncs both, and the collector's only thread waits, every few group commits
 * under load, for as long as the disk takes (the ingest's p99 and half its throughput on a busy
 * disk). Here a worker thread with its own connection runs PASSIVE checkpoints on a timer instead:
 * they never block the writer, which no longer checkpoints unless the WAL grows past
 * `FALLBACK_PAGES` (the worker stopped or too slow). Durability is unchanged: a commit is in the
 * WAL before it is answered, as before; a checkpoint only moves it into the database file.
 *
 * The WAL starts again from its beginning only when a write begins with every frame of it copied.
 * Under steady writes a commit always lands while a PASSIVE pass copies and fsyncs, so the WAL
 * grew to the fallback, whose checkpoint then ran on the event loop (a 70-ms fsync every few
 * seconds at 1,000 one-event requests a second). So while the WAL is past `RESTART_PAGES` and
 * growing, the worker follows its pass with shorter ones over what came in meanwhile, then asks
 * the writer to hold its next group (`gate`) for one last pass over the few pages left. The
 * writer's next group then starts the WAL again. Only writes wait, a few milliseconds and at most
 * `HOLD_MAX_MS`; the event loop does not.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How long closing waits for the worker's connection at most (it may be starting, or in a checkpoint). */
const STOP_WAIT_MS = 5_000;

/** The writer checkpoints itself past this many WAL pages (~40 MB), as a safety net only. */
export const FALLBACK_PAGES = 10_000;

/** A WAL this long (SQLite's own checkpoint size) and growing is started again, with a hold. */
export const RESTART_PAGES = 1_000;

/** Passes without a hold at most, each over what came in during the one before, ... */
const CATCH_UP_PASSES = 4;
/** ... until one finds this few new pages: the hold's pass copies about as many. */
const TAIL_PAGES = 100;

/** How long the worker waits for the writer's next group: none by then, the writer is idle. */
const ASK_WAIT_MS = 250;

/**
 * How long a group waits for the worker's last pass at most (a pair of fsyncs: 1–120 ms measured
 * under load on the test machine's disk); past it the group goes on, and the WAL starts again
 * another time.
 */
const HOLD_MAX_MS = 250;

/** The gate's states, in an Int32Array both threads see. */
const OPEN = 0;
const ASKED = 1;
const HELD = 2;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const { gate } = workerData;
const pass = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
// The writer's answer: it holds its next group (HELD), or it had none to hold (still ASKED).
const restart = () => {
  Atomics.store(gate, 0, ${ASKED});
  const answer = Atomics.wait(gate, 0, ${ASKED}, ${ASK_WAIT_MS});
  if (answer === 'timed-out' && Atomics.compareExchange(gate, 0, ${ASKED}, ${OPEN}) === ${ASKED}) return;
  try { pass(); } finally {
    Atomics.store(gate, 0, ${OPEN});
    Atomics.notify(gate, 0);
  }
};
// A pass copies the frames up to the WAL's end when it began: it cannot tell if a commit landed
// since. A WAL still this long did not restart; a length that moved since the last pass says
// the writer is busy (an idle one restarts it at its next write, no hold needed). Passes
// without a hold first copy what came in during the one before, until that is short: the
// hold's pass (its fsyncs) then costs the writer a few pages' time, not a whole pass's.
let last = 0;
const run = () => {
  try {
    let { log } = pass();
    if (log >= ${RESTART_PAGES} && log !== last) {
      for (let i = 0; i < ${CATCH_UP_PASSES}; i++) {
        const before = log;
        log = pass().log;
        if (log - before <= ${TAIL_PAGES}) break;
      }
      // Shorter than that now: the writer started it again meanwhile, no hold needed.
      if (log >= ${RESTART_PAGES}) restart();
    }
    last = log;
  } catch (err) { parentPort.postMessage(String(err)); }
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
  /**
   * Called by the writer before each group: while the worker asks for a hold, a promise that
   * resolves when its pass is done (at most `HOLD_MAX_MS`), else null.
   */
  hold(): Promise<unknown> | null;
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
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, {
    eval: true,
    execArgv: [],
    workerData: { file, everyMs, driver, closed, gate },
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
    hold() {
      if (Atomics.compareExchange(gate, 0, ASKED, HELD) !== ASKED) return null;
      Atomics.notify(gate, 0);
      const wait = Atomics.waitAsync(gate, 0, HELD, HOLD_MAX_MS);
      return wait.async ? wait.value : null;
    },
  };
}
