/**
 * The delivery worker: sends pending outbox rows in the background, with a cap on requests in
 * flight, a timeout per request and exponential backoff with jitter between attempts. Ingest
 * only inserts rows and wakes it, so a slow or dead receiver never slows a request.
 *
 * Several workers may share one database (collector processes on PostgreSQL): each *claims* the
 * rows it sends under a lease in its name (storage `OutboxLeases`) and renews it while they are in
 * flight, so no other worker sends them meanwhile. A worker that dies stops renewing: once its
 * lease ends, another worker takes the rows over (sent again if the first had sent them: at
 * least once, across a crash only). A worker that cannot renew in time (the database out of
 * reach) aborts those requests itself before another may start them.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';
import { nanoid } from 'nanoid';
import type { Logger } from '../log.ts';
import { WEBHOOK_HEADERS } from '../../shared/webhook.ts';
import { backoffDelay, type DeliveryPolicy } from './config.ts';
import type { DueDelivery, OutboxLeases, OutboxReads, OutboxWrites } from '../storage/contract.ts';
import { signBody } from './sign.ts';
import { excerpt, readCapped } from './response.ts';

export interface WorkerDeps {
  outbox: OutboxReads & OutboxWrites & OutboxLeases;
  /** This worker's name on its leases (default: host, pid and a random part). */
  owner?: string;
  /** How long a claim holds a row without renewal (default the policy's `leaseMs`). */
  leaseMs?: number;
  /** The signing secret of a site's webhook; undefined once the webhook left the config. */
  secretFor(site: string, hook: string): string | undefined;
  policy: DeliveryPolicy;
  now: () => number;
  log?: Logger;
  fetch?: typeof fetch;
  random?: () => number;
  /** Called after each attempt (tests and metrics). */
  onAttempt?: (
    d: DueDelivery,
    outcome: 'delivered' | 'retry' | 'failed',
    status: number | null,
  ) => void;
}

export interface DeliveryWorker {
  /** Look for due deliveries now (after an ingest enqueued some). */
  wake(): void;
  /** Stops polling and aborts requests in flight; their rows stay pending for the next start. */
  stop(): Promise<void>;
  readonly inFlight: number;
}

export function startDeliveryWorker(deps: WorkerDeps): DeliveryWorker {
  const { outbox, policy } = deps;
  const send = deps.fetch ?? fetch;
  const log = deps.log ?? (() => {});
  const owner = deps.owner ?? `${hostname()}/${process.pid}/${nanoid(8)}`;
  const leaseMs = deps.leaseMs ?? policy.leaseMs;
  const renewEvery = Math.max(10, Math.floor(leaseMs / 3));
  /** Each row in flight: its attempt, its abort (a lost lease) and until when it is ours. */
  const inflight = new Map<
    string,
    { done: Promise<void>; abort: AbortController; until: number }
  >();
  // A dead receiver must not take every slot from the healthy ones: each webhook gets at most half.
  const perHook = Math.max(1, Math.ceil(policy.concurrency / 2));
  const hookLoad = new Map<string, number>();
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  /**
   * The worker's rounds run in the context it was started in, whoever wakes it: a round started
   * from a write job's context would have its outbox writes taken for writes nested in that job.
   */
  const detached = AsyncLocalStorage.snapshot();
  const tickDetached = () => detached(() => void tick());
  let woken = false;
  let stopped = false;
  /** A tick awaits the outbox: a wake meanwhile runs one more tick after it, never two at once. */
  let ticking = false;
  let again = false;

  function schedule(delay: number) {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(tickDetached, Math.max(0, delay));
    // The worker must not keep a CLI or a test process alive on its own.
    timer.unref();
  }

  async function tick() {
    if (timer) clearTimeout(timer);
    timer = undefined;
    woken = false;
    if (stopped) return;
    if (ticking) {
      again = true;
      return;
    }
    ticking = true;
    try {
      await round();
    } finally {
      ticking = false;
      if (again) {
        again = false;
        wake();
      }
    }
  }

  async function round() {
    const now = deps.now();
    let free = policy.concurrency - inflight.size;
    // Each round leaves out what is in flight and webhooks at their share, so it never
    // returns a row it cannot start twice; bounded by the free slots.
    while (free > 0) {
      let rows: DueDelivery[] = [];
      try {
        const full = [...hookLoad].filter(([, n]) => n >= perHook).map(([hook]) => hook);
        rows = await outbox.claim(owner, now, leaseMs, free, {
          ids: [...inflight.keys()],
          hooks: full,
        });
      } catch (err) {
        log('error', 'webhook outbox read failed', { err: String(err) });
      }
      let started = 0;
      for (const row of rows) {
        if (free === 0) break;
        const hook = `${row.site}/${row.hook}`;
        const load = hookLoad.get(hook) ?? 0;
        if (load >= perHook) continue;
        hookLoad.set(hook, load + 1);
        free--;
        started++;
        const lease = new AbortController();
        const p = attempt(row, lease.signal).finally(() => {
          inflight.delete(row.id);
          const left = (hookLoad.get(hook) ?? 1) - 1;
          if (left > 0) hookLoad.set(hook, left);
          else hookLoad.delete(hook);
          wake();
        });
        inflight.set(row.id, { done: p, abort: lease, until: now + leaseMs });
      }
      if (started === 0) break;
    }
    const next = await outbox.nextDue().catch(() => null);
    schedule(next !== null && next > now ? Math.min(policy.pollMs, next - now) : policy.pollMs);
  }

  /**
   * Extends the leases of the rows in flight, every third of the lease: two renewals may fail
   * before one runs out. A row no longer ours (a renewal came too late), or whose lease would run
   * out before the next renewal, has its request aborted: another worker may start it then.
   */
  async function renew() {
    if (inflight.size === 0) return;
    const now = deps.now();
    const until = now + leaseMs;
    const ids = [...inflight.keys()];
    try {
      const held = new Set(await outbox.renew(owner, ids, until));
      for (const id of ids) {
        const f = inflight.get(id);
        if (!f) continue;
        if (held.has(id)) f.until = until;
        else f.abort.abort();
      }
    } catch (err) {
      log('warn', 'webhook lease renewal failed', { err: String(err) });
      for (const f of inflight.values()) if (f.until - deps.now() <= renewEvery) f.abort.abort();
    }
  }
  const renewal = setInterval(() => detached(() => void renew()), renewEvery);
  renewal.unref();

  async function attempt(row: DueDelivery, lease: AbortSignal): Promise<void> {
    const attempts = row.attempts + 1;
    const secret = deps.secretFor(row.site, row.hook);
    if (secret === undefined) {
      await record(
        row,
        attempts,
        null,
        `webhook "${row.hook}" is no longer in site "${row.site}"'s config`,
        true,
      );
      return;
    }
    const timestamp = deps.now();
    let status: number | null = null;
    let error = '';
    try {
      const res = await send(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'microseg-webhooks/1',
          [WEBHOOK_HEADERS.delivery]: row.id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signBody(secret, timestamp, row.body),
        },
        body: row.body,
        // A redirect could point anywhere; a receiver answers itself or the attempt fails.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(policy.timeoutMs), abort.signal, lease]),
      });
      status = res.status;
      // A few KiB at most, within the same timeout: the receiver chooses the body's size and pace.
      const answer = await readCapped(res).catch(() => '');
      if (res.ok) {
        await outbox.delivered(row.id, attempts, res.status, deps.now());
        deps.onAttempt?.(row, 'delivered', status);
        return;
      }
      const text = excerpt(answer);
      error = text ? `HTTP ${res.status}: ${text}` : `HTTP ${res.status}`;
    } catch (err) {
      // Shutting down is not the receiver's fault: the row stays pending, attempt uncounted.
      // Nor is a lease lost: the row is another worker's now, its outcome theirs to record.
      if (abort.signal.aborted || lease.aborted) return;
      const e = err as Error & { cause?: { code?: string; message?: string } };
      error =
        e.name === 'TimeoutError'
          ? `no answer within ${policy.timeoutMs} ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message);
    }
    await record(row, attempts, status, error, attempts >= policy.attempts);
  }

  async function record(
    row: DueDelivery,
    attempts: number,
    status: number | null,
    error: string,
    final: boolean,
  ) {
    const now = deps.now();
    const next = final ? null : now + backoffDelay(attempts, policy, deps.random);
    try {
      await outbox.attemptFailed(row.id, attempts, status, error, now, next);
    } catch (err) {
      log('error', 'webhook outbox write failed', { delivery: row.id, err: String(err) });
    }
    // The URL may carry a receiver's token in its query: log the origin only.
    log(
      final ? 'error' : 'warn',
      final ? 'webhook delivery failed' : 'webhook delivery will be retried',
      {
        delivery: row.id,
        site: row.site,
        hook: row.hook,
        to: safeOrigin(row.url),
        attempts,
        status,
        error,
        ...(next !== null ? { retryInMs: next - now } : {}),
      },
    );
    deps.onAttempt?.(row, final ? 'failed' : 'retry', status);
  }

  function wake() {
    if (stopped || woken) return;
    woken = true;
    setImmediate(tickDetached);
  }

  schedule(0);
  return {
    wake,
    get inFlight() {
      return inflight.size;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      clearInterval(renewal);
      const ids = [...inflight.keys()];
      abort.abort();
      await Promise.allSettled([...inflight.values()].map((f) => f.done));
      // The aborted rows are due again at once for the workers still running, not after the lease.
      await outbox
        .release(owner, ids)
        .catch((err) => log('warn', 'webhook lease release failed', { err: String(err) }));
    },
  };
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '?';
  }
}
