/**
 * Goals and their models on PostgreSQL (`site_goals`, `goal_models`), the port of
 * sqlite/goals.ts, and a training's read of the events.
 */
import type { Props, Utm } from '../../../shared/wire.ts';
import type {
  GoalReads,
  GoalWrites,
  StoredGoal,
  StoredGoalModel,
  TrainingEvent,
} from '../contract.ts';
import { fingerprints } from '../fingerprints.ts';
import type { Queryable } from './db.ts';

export function goalsPg(q: Queryable): GoalReads & GoalWrites {
  const get = async (site: string, name: string) => {
    const { rows } = await q.query<StoredGoal>({
      name: 'microseg_goals_get',
      text: 'SELECT name, definition, created, updated FROM site_goals WHERE site = $1 AND name = $2',
      values: [site, name],
    });
    return rows[0];
  };
  return {
    async list(site) {
      const { rows } = await q.query<StoredGoal>({
        name: 'microseg_goals_list',
        text: 'SELECT name, definition, created, updated FROM site_goals WHERE site = $1 ORDER BY name',
        values: [site],
      });
      return rows;
    },
    get,
    async versions() {
      const { rows } = await q.query<{ site: string; v: string }>({
        name: 'microseg_goals_versions',
        text: `SELECT site, 'g' || count(*)::text || ':' || max(updated)::text AS v FROM site_goals GROUP BY site
               UNION ALL
               SELECT site, 'm' || count(*)::text || ':' || max(trained)::text AS v FROM goal_models GROUP BY site`,
      });
      return fingerprints(rows);
    },
    async model(site, goal) {
      const { rows } = await q.query<StoredGoalModel>({
        name: 'microseg_goals_model',
        text: `SELECT goal, definition, trained, status, model, evaluation
               FROM goal_models WHERE site = $1 AND goal = $2`,
        values: [site, goal],
      });
      return rows[0];
    },
    async put(site, name, definition, now, maxGoals) {
      // Two saves of one site at once could each see room for one more: the site's first goal
      // row is not there to lock, so a transaction-level advisory lock on the site orders them.
      await q.query({
        name: 'microseg_goals_lock',
        text: "SELECT pg_advisory_xact_lock(hashtext('microseg_goals:' || $1))",
        values: [site],
      });
      const { rows } = await q.query<{ n: number }>({
        name: 'microseg_goals_others',
        text: 'SELECT count(*) AS n FROM site_goals WHERE site = $1 AND name <> $2',
        values: [site, name],
      });
      if ((rows[0]?.n ?? 0) >= maxGoals) return 'too_many';
      const res = await q.query<{ created: boolean }>({
        name: 'microseg_goals_upsert',
        text: `INSERT INTO site_goals (site, name, definition, created, updated) VALUES ($1, $2, $3, $4, $4)
               ON CONFLICT (site, name) DO UPDATE SET definition = excluded.definition, updated = excluded.updated
               RETURNING (xmax = 0) AS created`,
        values: [site, name, definition, now],
      });
      return { created: res.rows[0]?.created ?? false };
    },
    async delete(site, name) {
      const res = await q.query({
        name: 'microseg_goals_delete',
        text: 'DELETE FROM site_goals WHERE site = $1 AND name = $2',
        values: [site, name],
      });
      await q.query({
        name: 'microseg_goals_delete_model',
        text: 'DELETE FROM goal_models WHERE site = $1 AND goal = $2',
        values: [site, name],
      });
      return (res.rowCount ?? 0) > 0;
    },
    async saveModel(site, r) {
      await q.query({
        name: 'microseg_goals_save_model',
        text: `INSERT INTO goal_models (site, goal, definition, trained, status, model, evaluation)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (site, goal) DO UPDATE SET definition = excluded.definition,
                 trained = excluded.trained, status = excluded.status, model = excluded.model,
                 evaluation = excluded.evaluation`,
        values: [site, r.goal, r.definition, r.trained, r.status, r.model, r.evaluation],
      });
    },
  };
}

/** A page of a site's events for a training, in `(visitor, ts, id)` order, bots left out. */
export async function trainingEvents(
  q: Queryable,
  site: string,
  after: { visitor: string; ts: number; id: string } | null,
  limit: number,
): Promise<TrainingEvent[]> {
  const cols = 'visitor, id, type, ts, category, value, props, utm';
  const { rows } = await q.query<{
    visitor: string;
    id: string;
    type: string;
    ts: number;
    category: string | null;
    value: number | null;
    props: string | null;
    utm: string | null;
  }>(
    after
      ? {
          name: 'microseg_training_events_next',
          text: `SELECT ${cols} FROM events WHERE site = $1 AND NOT bot AND visitor >= $2 AND (visitor, ts, id) > ($2, $3, $4)
                 ORDER BY visitor, ts, id LIMIT $5`,
          values: [site, after.visitor, after.ts, after.id, limit],
        }
      : {
          name: 'microseg_training_events_first',
          text: `SELECT ${cols} FROM events WHERE site = $1 AND NOT bot ORDER BY visitor, ts, id LIMIT $2`,
          values: [site, limit],
        },
  );
  return rows.map((r) => ({
    ...r,
    props: r.props === null ? null : (JSON.parse(r.props) as Props),
    utm: r.utm === null ? null : (JSON.parse(r.utm) as Utm),
  }));
}
