/**
 * Goals (API key), issue 20: `GET /v1/goals`, `GET|PUT|DELETE /v1/goals/:name`,
 * `GET /v1/goals/:name/model` and `GET /v1/goals/:name/audience`, each with `?site=S`. The config file's goals are shown read-only;
 * the others are stored per site. A goal's model is trained in the background (goals/trainer.ts)
 * and on demand (`microseg train`); these routes only read what the last training stored.
 */
import { type Context, Hono } from 'hono';
import { GOAL_LIMITS, LIMITS } from '../../../shared/limits.ts';
import { AudienceBusy, goalAudience, UnknownGoal, UnknownSegment } from '../../goals/audience.ts';
import { findGoal, goalOf, listGoals } from '../../goals/catalog.ts';
import { badGoalName, checkGoal, type GoalProblem } from '../../goals/goal.ts';
import { modelView } from '../../goals/model-view.ts';
import type { Deps } from '../app.ts';
import { requireApiKey, type AuthEnv } from '../auth.ts';
import { readJson } from '../body.ts';
import { fail } from '../errors.ts';
import { requireSite, type SiteEnv } from '../site.ts';

const invalidGoal = (c: Context, problems: GoalProblem[]) =>
  c.json(
    {
      error: 'invalid_goal',
      message: problems.map((p) => `${p.path || '(body)'}: ${p.message}`).join('; '),
      problems,
    },
    400,
  );

/** A refusal from inside the write job: thrown so the job's writes roll back. */
class TooManyGoals extends Error {}

export function goalRoutes(deps: Deps) {
  const app = new Hono<AuthEnv & SiteEnv>();
  const auth = requireApiKey(deps.config);
  const withSite = requireSite(deps.config);
  const { storage } = deps;

  app.get('/v1/goals', auth, withSite, async (c) => {
    const { site } = c.var;
    return c.json({
      site: site.id,
      goals: await listGoals(storage, site),
      limits: { goals: GOAL_LIMITS.goalsPerSite, goalBytes: GOAL_LIMITS.goalBytes },
    });
  });

  app.get('/v1/goals/:name', auth, withSite, async (c) => {
    const { site } = c.var;
    const name = c.req.param('name');
    const goal = await findGoal(storage, site, name);
    if (!goal) return fail(c, 404, 'unknown_goal', `no goal "${name}" on site "${site.id}"`);
    return c.json({ site: site.id, goal });
  });

  app.get('/v1/goals/:name/model', auth, withSite, async (c) => {
    const { site } = c.var;
    const name = c.req.param('name');
    const goal = await findGoal(storage, site, name);
    if (!goal) return fail(c, 404, 'unknown_goal', `no goal "${name}" on site "${site.id}"`);
    const row = await storage.goals.model(site.id, name);
    return c.json({ site: site.id, goal: name, ...modelView(goalOf(goal), row) });
  });

  app.get('/v1/goals/:name/audience', auth, withSite, async (c) => {
    const { site } = c.var;
    const name = c.req.param('name');
    const query = c.req.query();
    const traits: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) {
      if (!k.startsWith('trait.')) continue;
      const trait = k.slice(6);
      if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(trait) || v.length > LIMITS.propValueLength)
        return fail(
          c,
          400,
          'invalid_filter',
          `${k}: a trait name and a value of at most ${LIMITS.propValueLength} characters`,
        );
      traits[trait] = v;
    }
    if (Object.keys(traits).length > GOAL_LIMITS.audienceTraits)
      return fail(c, 400, 'invalid_filter', `at most ${GOAL_LIMITS.audienceTraits} trait filters`);
    try {
      const audience = await goalAudience(
        storage,
        site,
        name,
        { segment: query.segment || undefined, traits },
        deps.now(),
      );
      return c.json({
        site: site.id,
        filter: { segment: query.segment || null, traits },
        ...audience,
      });
    } catch (err) {
      if (err instanceof UnknownGoal) return fail(c, 404, 'unknown_goal', err.message);
      if (err instanceof UnknownSegment) return fail(c, 400, 'unknown_segment', err.message);
      if (err instanceof AudienceBusy) {
        c.header('Retry-After', '1');
        return fail(c, 429, 'busy', `${err.message}: try again in a moment`);
      }
      throw err;
    }
  });

  app.put('/v1/goals/:name', auth, withSite, async (c) => {
    const { site } = c.var;
    const name = c.req.param('name');
    const bad = badGoalName(name);
    if (bad) return fail(c, 400, 'invalid_name', bad);
    if (Object.hasOwn(site.configGoals, name))
      return fail(
        c,
        409,
        'read_only',
        `"${name}" is a goal of the config file: change it there, or save this one under another name`,
      );
    const read = await readJson(c, GOAL_LIMITS.goalBytes);
    if (!read.ok) return fail(c, read.status, read.error, read.message);
    const checked = checkGoal(read.value);
    if ('problems' in checked) return invalidGoal(c, checked.problems);
    const now = deps.now();
    let created = false;
    try {
      await storage.write(async (tx) => {
        const res = await tx.goals.put(
          site.id,
          name,
          JSON.stringify(checked.goal),
          now,
          GOAL_LIMITS.goalsPerSite,
        );
        if (res === 'too_many') throw new TooManyGoals();
        created = res.created;
      });
    } catch (err) {
      if (!(err instanceof TooManyGoals)) throw err;
      return fail(
        c,
        409,
        'too_many_goals',
        `site "${site.id}" has ${GOAL_LIMITS.goalsPerSite} goals: delete one first`,
      );
    }
    await deps.goals.refresh(site.id);
    const saved = await findGoal(storage, site, name);
    return c.json({ site: site.id, goal: saved }, created ? 201 : 200);
  });

  app.delete('/v1/goals/:name', auth, withSite, async (c) => {
    const { site } = c.var;
    const name = c.req.param('name');
    if (Object.hasOwn(site.configGoals, name))
      return fail(c, 409, 'read_only', `"${name}" is a goal of the config file: remove it there`);
    const gone = await storage.write((tx) => tx.goals.delete(site.id, name));
    if (!gone) return fail(c, 404, 'unknown_goal', `no goal "${name}" on site "${site.id}"`);
    await deps.goals.refresh(site.id);
    return c.json({ site: site.id, name, deleted: true });
  });

  return app;
}
