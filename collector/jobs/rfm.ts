/**
 * The RFM job: every site's quintile breakpoints recomputed at start and then every 10 minutes,
 * off the request path (`microseg rfm --site S` does one site now, on the file).
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { Storage } from '../storage/contract.ts';

/** How often the RFM quintiles are recomputed by default. */
export const RFM_EVERY_MS = 10 * 60_000;

/**
 * Recomputes every site's RFM quintiles now and then every `everyMs`, off the request path.
 * The timer is unref'd (it never holds the process open) and stopped on close.
 */
export function startRfmJob(
  storage: Storage,
  config: Config,
  everyMs: number,
  now: () => number,
  log: Logger,
): { run(): Promise<void>; stop(): void } {
  let stopped = false;
  const run = async () => {
    for (const site of config.sites.values()) {
      // Stopped (shutdown, or the jobs moved to another process): no further site.
      if (stopped) return;
      try {
        const at = now();
        const bp = await storage.write((tx) =>
          tx.recomputeRfm(site.id, site.engine.rfm.minCustomers, at),
        );
        // Stopped meanwhile: the recompute stands, the line is left out (a test or a shutdown
        // reads the log as finished).
        if (stopped) return;
        log('info', 'rfm quintiles', {
          site: site.id,
          customers: bp?.customers ?? 0,
          quintiles: bp !== null,
        });
      } catch (err) {
        log('error', 'rfm recompute failed', { site: site.id, err: String(err) });
      }
    }
  };
  void run();
  const timer = setInterval(() => void run(), everyMs);
  timer.unref();
  return {
    run,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
