/**
 * The retention job: per site with `retentionDays`, deletes events (and refused events and
 * segment history) older than that, and refused events after `quarantine.keepDays` (30) anyway,
 * and webhook cooldown turns past the site's longest cooldown, in small batches with a turn of
 * the event loop between them so ingest interleaves. Profiles are aggregates updated as events
 * arrive, so deleting the events they came from changes no segment. Finished webhook deliveries
 * go after DELIVERY_KEEP_DAYS.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Config } from '../config/config.ts';
import { DAY } from '../engine/index.ts';
import { AGING } from '../storage/aging.ts';
import type { Logger } from '../log.ts';
import type { Storage } from '../storage/contract.ts';

const RETENTION_EVERY_MS = 60 * 60_000;
/** Delivered and failed webhook deliveries are listed for this long, whatever the site's retention. */
const DELIVERY_KEEP_DAYS = 30;
const BATCH = 2000;

/**
 * Runs `deleteBatch` until it deletes fewer than `batch` rows, a turn of the event loop between
 * batches so ingest interleaves; returns the rows deleted.
 */
async function drain(batch: number, deleteBatch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deleteBatch();
    total += n;
    if (n < batch) return total;
    await nextTurn();
  }
}

/** Table → rows deleted, per site. */
export type Pruned = Record<string, Record<string, number>>;

export async function runRetention(
  storage: Storage,
  config: Config,
  now: number,
  batch = BATCH,
): Promise<Pruned> {
  const out: Pruned = {};
  for (const site of config.sites.values()) {
    const counts: Record<string, number> = {};
    for (const aging of AGING) {
      const days = aging.keepDays ? aging.keepDays(site) : site.retentionDays;
      if (days === null) continue;
      const cutoff = now - days * DAY;
      const total = await drain(batch, () =>
        storage.write((tx) => tx.pruneAged(aging.table, aging.columns, site.id, cutoff, batch)),
      );
      if (total > 0) counts[aging.table] = total;
    }
    out[site.id] = counts;
  }
  const deliveries = await drain(batch, () =>
    storage.outbox.prune(now - DELIVERY_KEEP_DAYS * DAY, batch),
  );
  if (deliveries > 0) out['*'] = { webhook_deliveries: deliveries };
  // Dashboard sign-outs are kept only while the signed-out cookie could still be presented.
  const signouts = await drain(batch, () => storage.write((tx) => tx.pruneSignouts(now, batch)));
  if (signouts > 0) out['*'] = { ...out['*'], dashboard_signouts: signouts };
  return out;
}

/** Runs retention now and every `everyMs`; the timer never holds the process open. */
export function startRetentionJob(
  storage: Storage,
  config: Config,
  opts: { now: () => number; log: Logger; everyMs?: number },
): { run(): Promise<Pruned>; stop(): void } {
  let running: Promise<Pruned> | null = null;
  let stopped = false;
  const run = () => {
    // One run at a time; a slow run is not stacked on by the next tick.
    running ??= runRetention(storage, config, opts.now())
      .then((pruned) => {
        for (const [site, counts] of Object.entries(pruned)) {
          if (Object.keys(counts).length > 0)
            opts.log('info', 'retention pruned', { site, ...counts });
        }
        return pruned;
      })
      .catch((err) => {
        if (!stopped) opts.log('error', 'retention failed', { err: String(err) });
        return {};
      })
      .finally(() => (running = null));
    return running;
  };
  const first = setTimeout(run, 5_000);
  const timer = setInterval(run, opts.everyMs ?? RETENTION_EVERY_MS);
  first.unref();
  timer.unref();
  return {
    run,
    stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
