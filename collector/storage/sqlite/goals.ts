/**
 * Goals and their models on SQLite (`site_goals`, `goal_models`), and a training's read of the
 * events (collector/goals/). Plain statements: a handful of rows each, but the event pages, which
 * walk the `events_visitor` index in its own order.
 */
import type Database from 'better-sqlite3';
import type { Props, Utm } from '../../../shared/wire.ts';
import type {
  GoalReads,
  GoalWrites,
  StoredGoal,
  StoredGoalModel,
  TrainingEvent,
} from '../contract.ts';
import { fingerprints } from '../fingerprints.ts';

export function goalStore(sqlite: Database.Database): GoalReads & GoalWrites {
  const list = sqlite.prepare<[string], StoredGoal>(
    'SELECT name, definition, created, updated FROM site_goals WHERE site = ? ORDER BY name',
  );
  const get = sqlite.prepare<[string, string], StoredGoal>(
    'SELECT name, definition, created, updated FROM site_goals WHERE site = ? AND name = ?',
  );
  const others = sqlite.prepare<[string, string], { n: number }>(
    'SELECT count(*) AS n FROM site_goals WHERE site = ? AND name <> ?',
  );
  const upsert = sqlite.prepare<[string, string, string, number, number]>(
    `INSERT INTO site_goals (site, name, definition, created, updated) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (site, name) DO UPDATE SET definition = excluded.definition, updated = excluded.updated`,
  );
  const del = sqlite.prepare<[string, string]>(
    'DELETE FROM site_goals WHERE site = ? AND name = ?',
  );
  const delModel = sqlite.prepare<[string, string]>(
    'DELETE FROM goal_models WHERE site = ? AND goal = ?',
  );
  const model = sqlite.prepare<[string, string], StoredGoalModel>(
    `SELECT goal, definition, trained, status, model, evaluation
     FROM goal_models WHERE site = ? AND goal = ?`,
  );
  const saveModel = sqlite.prepare<[string, string, string, number, string, string | null, string]>(
    `INSERT INTO goal_models (site, goal, definition, trained, status, model, evaluation)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (site, goal) DO UPDATE SET definition = excluded.definition,
       trained = excluded.trained, status = excluded.status, model = excluded.model,
       evaluation = excluded.evaluation`,
  );
  const goalVersions = sqlite.prepare<[], { site: string; v: string }>(
    `SELECT site, 'g' || count(*) || ':' || max(updated) AS v FROM site_goals GROUP BY site
     UNION ALL
     SELECT site, 'm' || count(*) || ':' || max(trained) AS v FROM goal_models GROUP BY site`,
  );
  return {
    async list(site) {
      return list.all(site);
    },
    async versions() {
      return fingerprints(goalVersions.all());
    },
    async get(site, name) {
      return get.get(site, name);
    },
    async model(site, goal) {
      return model.get(site, goal);
    },
    async put(site, name, definition, now, maxGoals) {
      if ((others.get(site, name)?.n ?? 0) >= maxGoals) return 'too_many';
      const created = get.get(site, name) === undefined;
      upsert.run(site, name, definition, now, now);
      return { created };
    },
    async delete(site, name) {
      const gone = del.run(site, name).changes > 0;
      delModel.run(site, name);
      return gone;
    },
    async saveModel(site, r) {
      saveModel.run(site, r.goal, r.definition, r.trained, r.status, r.model, r.evaluation);
    },
  };
}

/** A page of a site's events for a training, in `(visitor, ts, id)` order, bots left out. */
export function trainingEventPages(sqlite: Database.Database) {
  type Row = [
    string,
    string,
    string,
    number,
    string | null,
    number | null,
    string | null,
    string | null,
  ];
  const cols = 'visitor, id, type, ts, category, value, props, utm';
  const first = sqlite
    .prepare<[string, number], Row>(
      `SELECT ${cols} FROM events WHERE site = ? AND NOT bot ORDER BY visitor, ts, id LIMIT ?`,
    )
    .raw();
  // `visitor >= ?` first: a range the index seeks to, whatever the planner makes of the OR (left
  // alone it may gather every later row and sort them, on each page).
  const next = sqlite
    .prepare<[string, string, string, string, number, number, string, number], Row>(
      `SELECT ${cols} FROM events
       WHERE site = ? AND NOT bot AND visitor >= ?
         AND (visitor > ? OR (visitor = ? AND (ts > ? OR (ts = ? AND id > ?))))
       ORDER BY visitor, ts, id LIMIT ?`,
    )
    .raw();
  return (
    site: string,
    after: { visitor: string; ts: number; id: string } | null,
    limit: number,
  ): TrainingEvent[] => {
    const rows = after
      ? next.all(
          site,
          after.visitor,
          after.visitor,
          after.visitor,
          after.ts,
          after.ts,
          after.id,
          limit,
        )
      : first.all(site, limit);
    return rows.map((r) => ({
      visitor: r[0],
      id: r[1],
      type: r[2],
      ts: r[3],
      category: r[4],
      value: r[5],
      props: r[6] === null ? null : (JSON.parse(r[6]) as Props),
      utm: r[7] === null ? null : (JSON.parse(r[7]) as Utm),
    }));
  };
}
