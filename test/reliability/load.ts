/** Load of acknowledged batches against a collector process, for the crash and shutdown tests. */
import type { Storage } from '../../collector/storage/contract.ts';
import { rows } from '../support/backend.ts';

export interface AckedLoad {
  /** Ids of events in batches answered 200 with every event accepted. */
  acked: string[];
  /** Events sent, answered or not. */
  readonly sent: number;
  /** Batches answered 200 that did not accept every event (should be none). */
  partial: number[];
  /** Stops the senders and resolves once each has returned. */
  stop(): Promise<void>;
  /**
   * Resolves once at least `n` events are acknowledged: a test waits for an amount of work, not a
   * fixed time, so a slow or loaded machine makes it slower, never wrong. Rejects if every sender
   * has stopped first.
   */
  acknowledged(n: number): Promise<void>;
}

/**
 * `workers` senders, each posting batches of `size` page views with unique ids as fast as
 * answers come back, until stopped or the collector goes away.
 */
export function ackedLoad(
  url: string,
  opts: {
    workers: number;
    size: number;
    prefix: string;
    category?: string;
    /** The visitor of sender `w` (default: prefix and w): senders of two loads may share visitors. */
    visitor?: (w: number) => string;
  },
): AckedLoad {
  let stopped = false;
  const visitorOf = opts.visitor ?? ((w: number) => `${opts.prefix}${w}`);
  const load: AckedLoad = {
    acked: [],
    sent: 0,
    partial: [],
    stop: async () => {},
    acknowledged: async () => {},
  };
  let sent = 0;
  let waiting: { n: number; ok: () => void; fail: (e: Error) => void }[] = [];
  const check = () => {
    const ready = waiting.filter((w) => load.acked.length >= w.n);
    waiting = waiting.filter((w) => load.acked.length < w.n);
    for (const w of ready) w.ok();
  };
  const sender = async (w: number) => {
    for (let i = 0; !stopped; i++) {
      const events = Array.from({ length: opts.size }, (_, k) => ({
        id: `${opts.prefix}${w}b${i}e${k}`,
        type: 'page_view',
        ts: Date.now(),
        ...(opts.category ? { category: opts.category } : {}),
      }));
      sent += events.length;
      try {
        const res = await fetch(`${url}/v1/collect`, {
          method: 'POST',
          body: JSON.stringify({ site: 'demo', visitor: visitorOf(w), events }),
        });
        if (res.status !== 200) continue;
        const { accepted } = (await res.json()) as { accepted: number };
        if (accepted === opts.size) load.acked.push(...events.map((e) => e.id));
        else load.partial.push(accepted);
        check();
      } catch {
        return; // the collector is gone
      }
    }
  };
  const workers = Array.from({ length: opts.workers }, (_, w) => sender(w));
  void Promise.all(workers).then(() => {
    const ended = (n: number) =>
      new Error(`the load ended with ${load.acked.length} of ${n} events acknowledged`);
    for (const w of waiting) w.fail(ended(w.n));
    waiting = [];
  });
  Object.defineProperty(load, 'sent', { get: () => sent });
  load.acknowledged = (n) =>
    load.acked.length >= n
      ? Promise.resolve()
      : new Promise((ok, fail) => waiting.push({ n, ok, fail }));
  load.stop = async () => {
    stopped = true;
    await Promise.all(workers);
  };
  return load;
}

/** The acknowledged ids that are not in the events table (no storage read finds an event by id). */
export async function missingIds(storage: Storage, ids: string[]): Promise<string[]> {
  const stored = await rows<{ id: string }>(storage, "select id from events where site = 'demo'");
  const has = new Set(stored.map((r) => r.id));
  return ids.filter((id) => !has.has(id));
}
