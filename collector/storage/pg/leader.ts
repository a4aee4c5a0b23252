/**
 * One leader among the collector processes on a PostgreSQL database (contract `Leadership`): a
 * session-level advisory lock (`pg_try_advisory_lock`), held on a connection of its own, outside
 * the pool (a pooled connection goes back to the pool and to other work; the lock must live and
 * die with one session). Whoever does not hold it tries again every `retryMs`. The holder checks
 * its connection as often: when the connection breaks (the server restarted, the session was
 * terminated, the network is gone) it stops leading at once, and the lock, released by the
 * server with the session, goes to the next process that tries. A process that dies leaves the
 * same way: its session ends and so does its lock.
 *
 * A network partition is the one case of two leaders for a while: the server ends a session it
 * can no longer reach only after TCP keepalive gives up, and the cut-off holder notices at its
 * next check. The jobs led this way (RFM, the sweep, retention) are idempotent: a round run twice
 * computes and deletes the same things.
 */
import pg from 'pg';
import type { Leadership, LeadershipOptions } from '../contract.ts';

/** How often a non-leader tries for the lock, and the leader checks its connection (ms). */
export const LEADER_RETRY_MS = 5000;

export function pgLeadership(url: string, name: string, opts: LeadershipOptions = {}): Leadership {
  const retryMs = opts.retryMs ?? LEADER_RETRY_MS;
  let held = false;
  let stopped = false;
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | undefined;
  /** The try or check under way: `stop` waits for it, never a second one at once. */
  let busy: Promise<void> | null = null;
  /** Set when the lock was lost: the next try waits longer, so a healthy process takes over. */
  let lost = false;

  const setHeld = (now: boolean) => {
    if (held === now) return;
    held = now;
    if (!now) lost = true;
    opts.onChange?.(now);
  };

  /** Ends the session (and with it the lock, if held). */
  const drop = async () => {
    const c = client;
    client = null;
    setHeld(false);
    if (c) await c.end().catch(() => {});
  };

  const attempt = async () => {
    try {
      if (!client) {
        const c = new pg.Client({
          connectionString: url,
          application_name: 'microseg-leader',
          // A peer that vanished (a host down) is noticed in seconds, not at the OS's 2 hours.
          keepAlive: true,
          keepAliveInitialDelayMillis: 10_000,
        });
        // An error on an idle client (the server ended the session) must not end the process:
        // the next check finds the client gone.
        c.on('error', (err) => {
          opts.onError?.(err.message);
          if (client === c) void drop();
        });
        c.on('end', () => {
          if (client === c) void drop();
        });
        await c.connect();
        client = c;
      }
      if (held) {
        await client.query('SELECT 1');
        return;
      }
      const res = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext($1)) AS ok',
        [`microseg:${name}`],
      );
      if (res.rows[0]?.ok) setHeld(true);
      // Not taken: the session stays open for the next try (one idle connection per process).
    } catch (err) {
      opts.onError?.((err as Error).message);
      await drop();
    }
  };

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = () => {
    if (stopped) return;
    // A process that just lost its session (its network, its server) is the likelier to lose it
    // again: it lets the others try first.
    if (lost) {
      lost = false;
      schedule(2 * retryMs);
      return;
    }
    busy = attempt().finally(() => {
      busy = null;
      schedule(retryMs);
    });
  };
  tick();
  const ready = busy ?? Promise.resolve();

  return {
    ready,
    get held() {
      return held;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await busy;
      await drop();
    },
  };
}
