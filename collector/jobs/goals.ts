/**
 * The goal training schedule (docs/goals.md): every `everyMs` (6 hours by default) each site's
 * goals whose model is missing, stale (the goal changed, or trained by an earlier version of the
 * features) or older than `everyMs` are retrained, one at a time, in a child process
 * (goals/trainer.ts). It runs in the jobs leader only (jobs/leader.ts), so one process trains for
 * all; the first pass waits `firstAfterMs` after the start, off the start-up's busiest minute. `microseg train` trains one goal now.
 */
import type { Config } from '../config/config.ts';
import { goalOf, listGoals } from '../goals/catalog.ts';
import { goalKey } from '../goals/goal.ts';
import { TrainingBusy, trainGoal } from '../goals/trainer.ts';
import type { Logger } from '../log.ts';
import type { Storage, StoredGoalModel } from '../storage/contract.ts';
import { MODEL_VERSION } from '../goals/train.ts';

/** A model stored by an earlier version of the features: served by no one, retrained now. */
function olderVersion(row: StoredGoalModel): boolean {
  if (row.model === null) return false;
  try {
    return (JSON.parse(row.model) as { version?: number }).version !== MODEL_VERSION;
  } catch {
    return true;
  }
}

export const GOAL_TRAIN_EVERY_MS = 6 * 60 * 60_000;
export const GOAL_TRAIN_FIRST_AFTER_MS = 60_000;

export function startGoalTraining(
  storage: Storage,
  config: Config,
  opts: {
    now: () => number;
    log: Logger;
    everyMs?: number | undefined;
    firstAfterMs?: number | undefined;
  },
): { run(): Promise<number>; stop(): void } {
  const everyMs = opts.everyMs ?? GOAL_TRAIN_EVERY_MS;
  let stopped = false;
  let running: Promise<number> | null = null;
  /** One pass: the goals due, one after the other. Resolves with how many were trained. */
  const pass = async () => {
    let trained = 0;
    for (const site of config.sites.values()) {
      let goals: Awaited<ReturnType<typeof listGoals>>;
      try {
        goals = await listGoals(storage, site);
      } catch (err) {
        opts.log('error', 'goal training: cannot list goals', { site: site.id, err: String(err) });
        continue;
      }
      for (const view of goals) {
        if (stopped) return trained;
        const goal = goalOf(view);
        const now = opts.now();
        try {
          const last = await storage.goals.model(site.id, view.name);
          const current =
            last !== undefined &&
            last.definition === goalKey(goal) &&
            now - last.trained < everyMs &&
            !olderVersion(last);
          if (current) continue;
          const report = await trainGoal(storage, site, view.name, goal, { now });
          trained++;
          opts.log('info', 'goal trained', {
            site: site.id,
            goal: view.name,
            status: report.status,
            auc: report.holdout?.auc ?? null,
            examples: report.train.examples,
            ms: report.totalMs,
          });
        } catch (err) {
          // Another training (`microseg train` is another process; an on-demand one here) holds
          // the slot: this goal waits for the next pass.
          if (err instanceof TrainingBusy) continue;
          opts.log('error', 'goal training failed', {
            site: site.id,
            goal: view.name,
            err: String(err),
          });
        }
      }
    }
    return trained;
  };
  const run = () => {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  };
  const first = setTimeout(() => void run(), opts.firstAfterMs ?? GOAL_TRAIN_FIRST_AFTER_MS);
  first.unref();
  const timer = setInterval(() => void run(), everyMs);
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
