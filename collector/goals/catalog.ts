/**
 * A site's goals: the config file's (read-only) and those saved through `/v1/goals`, as the API,
 * the training schedule and the CLI see them.
 */
import type { SiteConfig } from '../config/config.ts';
import type { Storage, StoredGoal } from '../storage/contract.ts';
import { checkGoal, type Goal } from './goal.ts';

/** A goal as the API shows it: where it comes from and whether it can be changed here. */
export interface GoalView extends Goal {
  name: string;
  source: 'config' | 'api';
  readOnly: boolean;
  created?: number;
  updated?: number;
}

const configView = (name: string, g: Goal): GoalView => ({
  name,
  ...g,
  source: 'config',
  readOnly: true,
});

/** A stored goal, or null when its JSON no longer parses (a later version's field). */
function apiView(row: StoredGoal): GoalView | null {
  try {
    const checked = checkGoal(JSON.parse(row.definition));
    if ('problems' in checked) return null;
    return {
      name: row.name,
      ...checked.goal,
      source: 'api',
      readOnly: false,
      created: row.created,
      updated: row.updated,
    };
  } catch {
    return null;
  }
}

/** The site's goal of this name (the config file's first), or undefined. */
export async function findGoal(
  storage: Storage,
  site: SiteConfig,
  name: string,
): Promise<GoalView | undefined> {
  if (Object.hasOwn(site.configGoals, name)) {
    const g = site.configGoals[name];
    if (g) return configView(name, g);
  }
  const row = await storage.goals.get(site.id, name);
  return row ? (apiView(row) ?? undefined) : undefined;
}

/** Every goal of a site: the config file's, then the stored ones a config goal does not shadow. */
export async function listGoals(storage: Storage, site: SiteConfig): Promise<GoalView[]> {
  const stored = (await storage.goals.list(site.id))
    .filter((r) => !Object.hasOwn(site.configGoals, r.name))
    .map(apiView)
    .filter((g): g is GoalView => g !== null);
  return [...Object.entries(site.configGoals).map(([n, g]) => configView(n, g)), ...stored];
}

/** The goal's definition alone (what a model is trained for, and compared with to tell it stale). */
export function goalOf(view: GoalView): Goal {
  const { name: _n, source: _s, readOnly: _r, created: _c, updated: _u, ...goal } = view;
  return goal;
}
