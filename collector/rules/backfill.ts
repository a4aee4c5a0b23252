/**
 * The backfill of runtime rules: after a rule is saved, changed or deleted, its members are
 * computed for every stored profile in the background, so `/v1/segments` counts and exports are
 * right without waiting for each visitor's next event. It runs on the jobs' leader
 * (jobs/leader.ts), one site at a time: a pass of the time-driven refresh over the site's profiles
 * (`refreshSegments`, `batch` profiles per transaction, one transaction per tick), then the rules
 * it covered are marked backfilled (a deleted one is dropped).
 *
 * Webhooks: the entries and exits a backfill records are kept in the segment history and the
 * stored membership, but not told to the change listeners (the rules are `quiet` while pending,
 * rules/runtime.ts), so saving a rule that 50,000 people already match does not send 50,000 enter
 * webhooks. The time-driven sweep, which may meet the rule first, keeps them quiet too. An entry
 * caused by a visitor's own event is an entry like any other, whenever it happens.
 *
 * A rule saved again while its pass runs restarts the pass, so the pass that marks a revision
 * backfilled has evaluated every profile with that revision.
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { Storage } from '../storage/contract.ts';
import { pendingOf, type RuntimeRules } from './runtime.ts';

export const BACKFILL_DEFAULTS = { batch: 500, tickMs: 10, idleMs: 500 };

type Pending = { name: string; revision: number }[];
const same = (a: Pending, b: Pending) =>
  a.length === b.length &&
  a.every((p, i) => p.name === b[i]?.name && p.revision === b[i]?.revision);

export function startRuleBackfill(
  storage: Storage,
  config: Config,
  rules: RuntimeRules,
  opts: {
    now: () => number;
    log: Logger;
    batch?: number;
    tickMs?: number;
    idleMs?: number;
    /** Told at the end of each site's pass (tests, the measurement). */
    onDone?: (site: string, profiles: number) => void;
  },
): { stop(): void } {
  const { batch, tickMs, idleMs } = { ...BACKFILL_DEFAULTS, ...opts };
  let pass: {
    site: string;
    pending: Pending;
    after: string;
    profiles: number;
    started: number;
  } | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const nextPass = () => {
    for (const site of config.sites.values()) {
      const pending = pendingOf(rules.state(site.id));
      if (pending.length > 0)
        return { site: site.id, pending, after: '', profiles: 0, started: opts.now() };
    }
    return null;
  };

  const tick = async () => {
    let delay = tickMs;
    try {
      pass ??= nextPass();
      if (pass === null) delay = idleMs;
      else {
        const site = config.sites.get(pass.site);
        const pending = pendingOf(rules.state(pass.site));
        if (!site || pending.length === 0) pass = null;
        else if (!same(pending, pass.pending)) {
          // Saved again meanwhile: start over with the new revisions.
          pass = { ...pass, pending, after: '', profiles: 0, started: opts.now() };
        } else {
          const { after } = pass;
          const now = opts.now();
          const res = await storage.write((tx) =>
            tx.refreshSegments(site.id, site.engine, now, after, batch),
          );
          pass.profiles += batch;
          if (res.next !== null) pass.after = res.next;
          else {
            const done = pass;
            await storage.write((tx) => tx.rules.backfilled(done.site, done.pending, opts.now()));
            await rules.refresh(done.site);
            opts.log('info', 'runtime rules backfilled', {
              site: done.site,
              rules: done.pending.map((p) => p.name),
              ms: opts.now() - done.started,
            });
            opts.onDone?.(done.site, done.profiles);
            pass = null;
          }
        }
      }
    } catch (err) {
      opts.log('error', 'runtime rules backfill failed', { err: String(err) });
      pass = null;
      delay = idleMs;
    }
    if (stopped) return;
    timer = setTimeout(tick, delay);
    timer.unref();
  };
  timer = setTimeout(tick, tickMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
