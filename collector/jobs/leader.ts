/**
 * The background jobs (RFM recompute, the segment sweep, retention) run in one process at a time
 * among all those sharing the database: the one holding the `jobs` leadership (storage `lead`: on
 * PostgreSQL an advisory lock on a connection of its own; on SQLite, always this process). They
 * start when this process becomes the leader and stop when it stops being one (its connection
 * lost); another process, trying every few seconds, takes them over.
 */
import type { Logger } from '../log.ts';
import type { Leadership, Storage } from '../storage/contract.ts';

export interface Jobs {
  stop(): void;
}

export interface LedJobs {
  /** This process runs the jobs now. */
  readonly leader: boolean;
  /** Resolves once the first try for the leadership is over. */
  readonly ready: Promise<void>;
  /** Stops the jobs and gives up the leadership. */
  stop(): Promise<void>;
}

export function runJobsWhileLeader(
  storage: Storage,
  start: () => Jobs,
  opts: {
    log: Logger;
    retryMs?: number | undefined;
    onChange?: ((leader: boolean) => void) | undefined;
  },
): LedJobs {
  let jobs: Jobs | null = null;
  const leadership: Leadership = storage.lead('jobs', {
    retryMs: opts.retryMs,
    onChange(held) {
      if (held && !jobs) {
        jobs = start();
        opts.log(
          'info',
          'background jobs: this process leads (rfm, sweep, retention, rule backfill, goal training)',
          {
            pid: process.pid,
          },
        );
      } else if (!held && jobs) {
        jobs.stop();
        jobs = null;
        opts.log('warn', 'background jobs: leadership lost, stopped here', { pid: process.pid });
      }
      opts.onChange?.(held);
    },
    onError: (message) => opts.log('warn', 'background jobs: leader election', { message }),
  });
  return {
    get leader() {
      return leadership.held;
    },
    ready: leadership.ready,
    async stop() {
      jobs?.stop();
      jobs = null;
      await leadership.stop();
    },
  };
}
