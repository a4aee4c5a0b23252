/**
 * The dashboard's history, kept by one job. The segment size snapshot: every `everyMs` (10
 * minutes), each site's members per key and custom segment, counted from the stored profiles (as
 * `GET /v1/segments` counts them), are written as the snapshot of the current UTC day, replacing
 * the day's earlier one. The last one written before midnight stays as that day's size: `GET /v1/stats` draws segment sizes over time from
 * these rows (one primary-key range), and today's point from the live counts.
 *
 * With it, the stats rollup: each closed hour and day's activity and lifecycle moves, so a chart
 * over weeks reads rolled-up rows and only the open bucket's events (`rollupDue`).
 *
 * At the first tick of a new day the previous day is written once more, so a day's size is its
 * state at its end (give or take a tick), not up to `everyMs` before it. It runs on the jobs'
 * leader (jobs/leader.ts) like the others; idempotent all the same (a leader that has not yet
 * noticed it lost the lead writes the same rows, the last one wins).
 */
import type { Config, SiteConfig } from '../config/config.ts';
import { rfmThresholds } from '../storage/stats.ts';
import { DAY } from '../engine/config.ts';
import type { Logger } from '../log.ts';
import type { Storage } from '../storage/contract.ts';
import { LIMITS } from '../../shared/limits.ts';

export const SNAPSHOT_EVERY_MS = 10 * 60_000;
/** Missing buckets rolled up per tick and bucket size: a year of days catches up within an hour or two. */
export const ROLLUP_PER_TICK = 48;
/** How long after it closes a bucket is rolled up again at each tick. */
const LATE_MS = 30 * 60_000;

/** Start of the UTC day of `t`, epoch ms. */
export const dayOf = (t: number) => t - (t % DAY);

const HOUR = 3_600_000;

/**
 * Rolls up the site's closed hours and days that are not yet (`stats_rollup`), newest first, at
 * most `max` of each per call, within what `GET /v1/stats` may ask for (LIMITS.statsDays days,
 * LIMITS.statsHours hours); and the last closed hour and day again during LATE_MS after they
 * closed, for events that arrived after their bucket closed (a browser's queue sent late). Events
 * stored later into a rolled bucket (an import through `/v1/events` with past times) show in it
 * once it is rolled up again: \`rollupStats\` over the range (docs/security.md). Each bucket is one short write job. Returns
 * the buckets rolled up.
 */
export async function rollupDue(
  storage: Storage,
  site: string,
  now: number,
  max = ROLLUP_PER_TICK,
): Promise<number> {
  let done = 0;
  for (const [bucket, span] of [
    [DAY, LIMITS.statsDays],
    [HOUR, LIMITS.statsHours],
  ] as const) {
    const end = now - (now % bucket);
    const from = end - span * bucket;
    const rows = await storage.dashboard.rollup(site, bucket, from, end);
    const rolled = new Set(rows.filter((r) => r.metric === 'rolled').map((r) => r.start));
    // The bucket just closed is rolled again for a while: late events of a browser's queue.
    const due = rolled.has(end - bucket) && now - end >= LATE_MS ? [] : [end - bucket];
    for (let start = end - 2 * bucket; start >= from && due.length < max; start -= bucket)
      if (!rolled.has(start)) due.push(start);
    // Adjacent buckets in one job, at most a day of them, and a turn for requests between jobs:
    // a job's aggregation holds the collector's thread on SQLite, about 6 µs per stored event (a
    // first catch-up of 48 days and 48 hours over 1.8M events as two jobs held it 11.7 s; a day
    // of that site is ~0.2 s). Jobs sized by their time instead overshot where an empty past met
    // a busy stretch (a 7 s job).
    due.sort((a, b) => a - b);
    for (let k = 0; k < due.length; ) {
      const first = due[k] ?? 0;
      let next = first + bucket;
      for (k++; k < due.length && due[k] === next && next - first < DAY; k++) next += bucket;
      await storage.write((tx) => tx.rollupStats(site, bucket, first, next, now));
      await new Promise((resolve) => setImmediate(resolve));
    }
    done += due.length;
  }
  return done;
}

/** One site's snapshot of `day`, taken at `now`, with its RFM grid; returns the rows written. */
export async function snapshotSite(
  storage: Storage,
  site: SiteConfig,
  day: number,
  now: number,
): Promise<number> {
  const { recency, frequency } = await rfmThresholds(storage, site, now);
  return storage.write((tx) => tx.snapshotSegmentSizes(site.id, day, now, { recency, frequency }));
}

/** Writes every site's snapshot of the day of `now` (tests, the seed); returns the rows written. */
export async function snapshotAll(storage: Storage, config: Config, now: number): Promise<number> {
  let rows = 0;
  for (const site of config.sites.values())
    rows += await snapshotSite(storage, site, dayOf(now), now);
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
        for (const site of config.sites.values())
          await snapshotSite(storage, site, dayOf(last ?? now), now);
      }
      await snapshotAll(storage, config, now);
      for (const site of config.sites.keys()) await rollupDue(storage, site, now);
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
