/**
 * The goals in force in this process (docs/goals.md, "Served with the segment"): each site's goals
 * (config file and API) with the model each may trust, put in `site.engine.goals` by replacing
 * the site's engine object, as runtime rules do (rules/runtime.ts): every read evaluates with
 * `site.engine`, and a read's memo compares the engine it was computed with, so nothing computed
 * with an older model is served after the swap.
 *
 * A model serves only if it was trained for the goal as it stands (`goalKey`), by this version of
 * the features (`MODEL_VERSION`), and judged good enough to store (`status: "model"`); otherwise
 * the goal answers with the intent heuristic. Other processes learn of a saved goal or a new model
 * by polling one small query every `checkMs` (1 s); this process refreshes at once after its own.
 */
import type { Config, SiteConfig } from '../config/config.ts';
import { poll } from '../storage/poll.ts';
import type { Storage, StoredGoalModel } from '../storage/contract.ts';
import { goalOf, listGoals } from './catalog.ts';
import { type Goal, goalKey } from './goal.ts';
import type { ServedGoal } from './serve.ts';
import { type GoalModel, MODEL_VERSION } from './train.ts';

export const GOALS_CHECK_MS = 1000;

type Log = (
  level: 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** The model a goal may be served by, or null (the intent heuristic serves). */
export function trustedModel(goal: Goal, row: StoredGoalModel | undefined): GoalModel | null {
  if (row?.status !== 'model' || row.model === null) return null;
  if (row.definition !== goalKey(goal)) return null;
  try {
    const model = JSON.parse(row.model) as GoalModel;
    return model.version === MODEL_VERSION ? model : null;
  } catch {
    return null;
  }
}

/** Puts `goals` in force for `site` (a new engine object: reads' memos see the change). */
export function applyGoals(site: SiteConfig, goals: ServedGoal[]): void {
  site.engine = { ...site.engine, goals };
}

export interface RuntimeGoals {
  /** Reloads a site's goals and models (after a save, a delete or a training here). */
  refresh(site: string): Promise<void>;
  /** Looks for goals and models changed by another process (the poll; tests call it). */
  check(): Promise<void>;
  readonly ready: Promise<void>;
  stop(): void;
}

export function runtimeGoals(
  storage: Storage,
  config: Config,
  opts: { log?: Log | undefined; checkMs?: number | undefined } = {},
): RuntimeGoals {
  const log = opts.log ?? (() => {});
  const seen = new Map<string, string>();
  /** Loads counted per site: a slow reload never replaces a later one. */
  const loads = new Map<string, number>();

  async function refresh(id: string): Promise<void> {
    const site = config.sites.get(id);
    if (!site) return;
    const n = (loads.get(id) ?? 0) + 1;
    loads.set(id, n);
    const served: ServedGoal[] = [];
    for (const view of await listGoals(storage, site)) {
      const goal = goalOf(view);
      served.push({
        name: view.name,
        goal,
        model: trustedModel(goal, await storage.goals.model(id, view.name)),
        public: goal.public === true,
      });
    }
    if (loads.get(id) !== n) return;
    // A site without goals keeps its engine object (and every read's memo with it).
    if (served.length === 0 && !site.engine.goals?.length) return;
    applyGoals(site, served);
  }

  async function check(): Promise<void> {
    const versions = await storage.goals.versions();
    for (const id of config.sites.keys()) {
      const v = versions.get(id) ?? '';
      if (seen.get(id) === v) continue;
      seen.set(id, v);
      await refresh(id);
    }
  }

  const polling = poll(check, opts.checkMs ?? GOALS_CHECK_MS, log, 'goals');

  return {
    refresh,
    check,
    ready: polling.ready,
    stop: polling.stop,
  };
}
