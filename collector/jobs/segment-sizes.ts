/**
 * The segment size snapshot: every `everyMs` (10 minutes), each site's members per key and custom
 * segment, counted from the stored profiles (as `GET /v1/segments` counts them), are written as
 * the snapshot of the current UTC day, replacing the day's earlier one. The last one written
 * before midnight stays as that day's size: `GET /v1/stats` draws segment sizes over time from
 * these rows (one primary-key range), and today's point from the live counts.
 *
 * At the first tick of a new day the previous day is written once more, so a day's size is its
 * state at its end (give or take a tick), not up to `everyMs` before it. Idempotent: two
 * collectors on one database write the same rows (the last one wins), so no leader is needed.
 */
import type { Config } from '../config/config.ts';
import { DAY } from '../engine/config.ts';
import type { Logger } from '../log.ts';
import type { Storage } from '../storage/contract.ts';

export const SNAPSHOT_EVERY_MS = 10 * 60_000;

/** Start of the UTC day of `t`, epoch ms. */
export const dayOf = (t: number) => t - (t % DAY);

/** Writes every site's snapshot of the day of `now` (tests, the seed); returns the rows written. */
export async function snapshotAll(storage: Storage, config: Config, now: number): Promise<number> {
  let rows = 0;
  for (const site of config.sites.keys())
    rows += await storage.write((tx) => tx.snapshotSegmentSizes(site, dayOf(now), now));
  return rows;
}

export function startSegmentSizes(
  storage: Storage,
  config: Config,
  opts: { now: () => number; log: Logger; everyMs?: number },
): { stop(): void } {
  const everyMs = opts.everyMs ?? SNAPSHOT_EVERY_MS;
  let last: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    const now = opts.now();
    try {
      if (last !== null && dayOf(now) > dayOf(last)) {
        // The day just over: its state at its end, recorded under its own day.
        for (const site of config.sites.keys())
          await storage.write((tx) => tx.snapshotSegmentSizes(site, dayOf(last ?? now), now));
      }
      await snapshotAll(storage, config, now);
      last = now;
    } catch (err) {
      opts.log('error', 'segment size snapshot failed', { err: String(err) });
    }
    if (!stopped) timer = setTimeout(() => void tick(), everyMs);
  };
  timer = setTimeout(() => void tick(), 0);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
