/**
 * `microseg serve --workers N`: N collector processes on one listening port (node:cluster; the
 * primary accepts the connections and hands them to the workers in turn). Each worker is a whole
 * collector (`start()`: its own pool, webhook worker, rate limiters), sharing the PostgreSQL
 * database with the others: the webhook outbox is claimed under leases and the background jobs
 * run on one leader (docs/operations.md, "Several collectors on one PostgreSQL"). The primary
 * opens no database; it forks, prints the banner once every worker listens, restarts a worker
 * that dies (with backoff) and, on SIGTERM or SIGINT, has every worker close gracefully (requests
 * in flight answered, writes committed) before it exits.
 */
import cluster, { type Worker } from 'node:cluster';
import { isPostgresUrl } from '../config/db-url.ts';
import type { Logger } from '../log.ts';
import { LiveHub } from '../live/cluster-relay.ts';

/** What a worker tells the primary once it listens. */
export interface ListeningMessage {
  type: 'microseg:listening';
  url: string;
  metricsUrl?: string | undefined;
  demo: boolean;
}

const isListening = (m: unknown): m is ListeningMessage =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'microseg:listening';

/** Tells the primary this worker listens (a no-op outside a cluster worker). */
export function reportListening(m: Omit<ListeningMessage, 'type'>): void {
  if (cluster.isWorker) process.send?.({ type: 'microseg:listening', ...m });
}

/** Why `--workers n` cannot run with these settings, or undefined when it can. */
export function workersProblem(n: number, db: string, secret: string | undefined) {
  if (n <= 1) return undefined;
  if (!isPostgresUrl(db)) {
    return `--workers ${n} needs PostgreSQL: a SQLite file has one writer (its group commit, read cache and key file live in one process, and a second process would wait on the file's lock), so SQLite runs one process. Run without --workers, or give a postgres:// database (MICROSEG_DB or --db; README "Running on PostgreSQL")`;
  }
  if (!secret) {
    return `MICROSEG_SECRET is required with --workers ${n}: every worker signs identity tokens and email links, and what one worker signed must verify on any other, so they all take the same secret from the environment (generate one with \`openssl rand -base64 32\`)`;
  }
  return undefined;
}

/** Restart delays after a crash: 0.5 s doubling to 30 s, back to 0.5 s after a minute up. */
export const RESTART_MIN_MS = 500;
export const RESTART_MAX_MS = 30_000;
const STABLE_MS = 60_000;
/** How long the primary waits for the workers' graceful close before it kills them. */
const STOP_GRACE_MS = 30_000;

/**
 * Runs the primary: forks `n` workers (each runs this program's `serve` again) and resolves with
 * the exit code: 0 after a graceful stop, 1 when a worker could not start.
 */
export function runPrimary(
  n: number,
  opts: { log: Logger; banner(first: ListeningMessage, pids: number[]): void },
): Promise<number> {
  const { log } = opts;
  const started = new Map<Worker, number>();
  const listening = new Set<Worker>();
  const timers = new Set<NodeJS.Timeout>();
  let everyoneUp = false;
  let stopping = false;
  let crashes = 0;
  let first: ListeningMessage | undefined;
  // The dashboard's live feed across workers: the primary forwards entries between them.
  const hub = new LiveHub(
    (id, m) => {
      const w = cluster.workers?.[id];
      // A worker exiting has its channel closed: it no longer watches anything.
      if (w?.isConnected()) w.send(m);
    },
    () => [...listening].map((w) => w.id),
  );

  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      for (const t of timers) clearTimeout(t);
      resolve(code);
    };
    const alive = () => Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead());

    const stopAll = (code: number) => {
      if (stopping) return;
      stopping = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const workers = alive();
      if (workers.length === 0) return finish(code);
      for (const w of workers) w?.process.kill('SIGTERM');
      const kill = setTimeout(() => {
        for (const w of alive()) w?.process.kill('SIGKILL');
      }, STOP_GRACE_MS);
      kill.unref();
      cluster.on('exit', () => {
        if (alive().length === 0) {
          clearTimeout(kill);
          finish(code);
        }
      });
    };

    const fork = () => {
      const w = cluster.fork();
      started.set(w, Date.now());
      w.on('message', (m: unknown) => {
        if (hub.message(w.id, m)) return;
        if (!isListening(m)) return;
        listening.add(w);
        hub.joined(w.id);
        first ??= m;
        if (!everyoneUp && listening.size === n) {
          everyoneUp = true;
          opts.banner(
            first,
            alive().map((x) => x?.process.pid ?? 0),
          );
        } else if (everyoneUp) {
          log('info', 'worker restarted', { pid: w.process.pid });
        }
      });
      w.on('exit', (code, signal) => {
        const up = started.get(w) ?? Date.now();
        started.delete(w);
        const wasListening = listening.delete(w);
        hub.gone(w.id);
        if (stopping) return;
        // One that never listened (a port taken, a bad setting) fails again: the start fails.
        if (!wasListening) {
          log('error', 'a worker exited before it listened: stopping', { code, signal });
          stopAll(1);
          return;
        }
        crashes = Date.now() - up > STABLE_MS ? 0 : crashes + 1;
        const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.max(0, crashes - 1));
        log('error', 'worker exited: restarting', {
          pid: w.process.pid,
          code,
          signal,
          restartInMs: delay,
        });
        const t = setTimeout(() => {
          timers.delete(t);
          if (!stopping) fork();
        }, delay);
        timers.add(t);
      });
    };

    process.once('SIGTERM', () => {
      log('info', 'SIGTERM: closing every worker', {});
      stopAll(0);
    });
    process.once('SIGINT', () => {
      log('info', 'SIGINT: closing every worker', {});
      stopAll(0);
    });
    for (let i = 0; i < n; i++) fork();
  });
}
