/**
 * The segment sweep: a segment can change with no event at all (the third camera view falls out
 * of its 7-day window, a customer lapses). Reads see that at once — they evaluate at read time —
 * but the stored state that history, webhooks, counts and exports go by would only notice at the
 * visitor's next event. The sweep walks every stored profile in small batches and records such
 * changes (webhooks included) as an event would have.
 *
 * Bounded: at most `batch` profiles per tick (one short transaction), a tick every `tickMs`, a
 * full pass at most every `passMs`. With the defaults that is about 800 profiles a second, so a
 * change made by time alone is recorded within max(1 minute, profiles / 800 seconds).
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { Storage } from '../storage/contract.ts';

/**
 * Small ticks, often: a tick holds the collector's thread while it runs (at 100k visitors of ~18
 * events, 200 profiles took ~7 ms, 50 ~2 ms: the reads and ingest waiting behind it set the p99).
 */
const SWEEP_DEFAULTS = { batch: 50, tickMs: 62, passMs: 60_000 };

/** One full pass over every site, now (tests and tools); returns the profiles changed. */
export async function sweepAll(
  storage: Storage,
  config: Config,
  now: number,
  batch = SWEEP_DEFAULTS.batch,
): Promise<number> {
  let changed = 0;
  for (const site of config.sites.values()) {
    let after: string | null = '';
    while (after !== null) {
      const from: string = after;
      const res = await storage.write((tx) =>
        tx.refreshSegments(site.id, site.engine, now, from, batch),
      );
      changed += res.changed;
      after = res.next;
    }
  }
  return changed;
}

export function startSegmentSweep(
  storage: Storage,
  config: Config,
  opts: { now: () => number; log: Logger; batch?: number; tickMs?: number; passMs?: number },
): { stop(): void } {
  const { batch, tickMs, passMs } = { ...SWEEP_DEFAULTS, ...opts };
  const sites = [...config.sites.values()];
  let index = 0;
  let after = '';
  let passStarted = opts.now();
  let changed = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const tick = async () => {
    let delay = tickMs;
    const site = sites[index];
    if (site) {
      try {
        const now = opts.now();
        const from = after;
        const res = await storage.write((tx) =>
          tx.refreshSegments(site.id, site.engine, now, from, batch),
        );
        changed += res.changed;
        if (res.next !== null) after = res.next;
        else {
          after = '';
          index++;
        }
      } catch (err) {
        opts.log('error', 'segment sweep failed', { site: site.id, err: String(err) });
        after = '';
        index++;
      }
      if (index >= sites.length) {
        if (changed > 0)
          opts.log('info', 'segment sweep recorded time-driven changes', { profiles: changed });
        index = 0;
        changed = 0;
        delay = Math.max(tickMs, passStarted + passMs - opts.now());
        passStarted = opts.now() + delay;
      }
    }
    if (stopped) return;
    timer = setTimeout(tick, delay);
    timer.unref();
  };
  timer = setTimeout(tick, tickMs);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
