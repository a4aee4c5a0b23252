/**
 * Runtime custom segment rules (API key), issue 18: `GET /v1/rules`, `GET|PUT|DELETE
 * /v1/rules/:name`, `POST /v1/rules/preview`, `GET /v1/rules/templates`,
 * `POST /v1/rules/templates/:id`, each with `?site=S` but the template list. The rules themselves
 * live in collector/rules/; these parse, check and answer. A builder's loop: load a template or a
 * rule, edit its JSON, preview it, save it (PUT), read it back.
 */
import { type Context, Hono } from 'hono';
import { RULE_LIMITS } from '../../../shared/limits.ts';
import type { RuleInput, SiteConfig } from '../../config/config.ts';
import { previewRule } from '../../rules/preview.ts';
import { badRuleName, checkRule, type LoadedRule, type RuleProblem } from '../../rules/runtime.ts';
import { TEMPLATES } from '../../rules/templates.ts';
import { FACTS, OPS } from '../../engine/rules.ts';
import type { Deps } from '../app.ts';
import { requireApiKey, type AuthEnv } from '../auth.ts';
import { readJson, readText } from '../body.ts';
import { fail } from '../errors.ts';
import { requireSite, type SiteEnv } from '../site.ts';

/** A rule as the API shows it: where it comes from, whether it can be changed here, its state. */
export interface RuleView {
  name: string;
  /** `config`: the config file's (read-only here); `api`: saved through this API. */
  source: 'config' | 'api';
  readOnly: boolean;
  when: unknown;
  description: string | null;
  public: boolean;
  /** Evaluated on reads and writes now (false: a stored rule the config no longer lets compile). */
  inForce: boolean;
  /** Why not in force. */
  problem?: string;
  /** Runtime rules: `pending` until the backfill has computed its members for every profile. */
  backfill?: 'pending' | 'done';
  created?: number;
  updated?: number;
}

const configView = (name: string, r: RuleInput): RuleView => ({
  name,
  source: 'config',
  readOnly: true,
  when: r.when,
  description: r.description ?? null,
  public: r.public ?? false,
  inForce: true,
});

const apiView = (r: LoadedRule): RuleView => ({
  name: r.name,
  source: 'api',
  readOnly: false,
  when: r.rule.when,
  description: r.rule.description ?? null,
  public: r.rule.public ?? false,
  inForce: r.broken === undefined,
  ...(r.broken === undefined ? {} : { problem: r.broken }),
  backfill: r.backfilled < r.revision ? 'pending' : 'done',
  created: r.created,
  updated: r.updated,
});

const invalidRule = (c: Context, problems: RuleProblem[]) =>
  c.json(
    {
      error: 'invalid_rule',
      message: problems.map((p) => `${p.path || '(body)'}: ${p.message}`).join('; '),
      problems,
    },
    400,
  );

/** A refusal from inside the write job: thrown so the job's writes roll back. */
class TooManyRules extends Error {}

export function ruleRoutes(deps: Deps) {
  const app = new Hono<AuthEnv & SiteEnv>();
  const auth = requireApiKey(deps.config);
  const withSite = requireSite(deps.config);
  const { storage, rules } = deps;
  let previews = 0;

  const inForce = (site: SiteConfig, name: string) =>
    rules.state(site.id).rules.find((r) => r.name === name && !r.deleted);

  /** Saves a checked rule and puts it in force here before answering (201 new, 200 changed). */
  async function save(c: Context, site: SiteConfig, name: string, rule: RuleInput) {
    const existed = inForce(site, name) !== undefined;
    const now = deps.now();
    const definition = JSON.stringify(rule);
    try {
      await storage.write(async (tx) => {
        const res = await tx.rules.put(site.id, name, definition, now, RULE_LIMITS.rulesPerSite);
        if (res === 'too_many') throw new TooManyRules();
      });
    } catch (err) {
      if (!(err instanceof TooManyRules)) throw err;
      return fail(
        c,
        409,
        'too_many_rules',
        `site "${site.id}" has ${RULE_LIMITS.rulesPerSite} runtime rules: delete one first`,
      );
    }
    await rules.refresh(site.id);
    const saved = inForce(site, name);
    if (!saved) return fail(c, 500, 'internal', 'the rule was saved but is not loaded');
    return c.json({ site: site.id, rule: apiView(saved) }, existed ? 200 : 201);
  }

  /** The body as JSON, bounded, or the refusal already answered. */
  async function body(
    c: Context,
  ): Promise<{ ok: true; value: unknown } | { ok: false; res: Response }> {
    const read = await readJson(c, RULE_LIMITS.ruleBytes);
    if (!read.ok) return { ok: false, res: fail(c, read.status, read.error, read.message) };
    return { ok: true, value: read.value };
  }

  // What a builder offers to pick from: every fact with its kind and values, the comparisons, the
  // condition kinds, the site's window (the longest `within`), and the event types and categories
  // the site's config names (others may be typed in).
  app.get('/v1/rules/vocabulary', auth, withSite, (c) => {
    const { site } = c.var;
    const e = site.engine;
    return c.json({
      site: site.id,
      facts: Object.entries(FACTS).map(([name, f]) => ({ name, ...f })),
      patterns: [
        { name: 'affinity.<category>', kind: 'number', note: "the category's share, 0 to 1" },
        { name: 'trait.<name>', kind: 'any', note: 'a trait set by the backend or the page' },
      ],
      ops: OPS,
      conditions: ['all', 'any', 'not', 'fact', 'count', 'sequence'],
      windowDays: e.windowDays,
      eventTypes: [...new Set([...Object.keys(e.weights), ...e.intentEvents])],
      categories: [...new Set(site.categories.map((r) => r.category))],
      publicTraits: site.publicTraits,
    });
  });

  app.get('/v1/rules/templates', auth, (c) =>
    c.json({ templates: TEMPLATES.map((t) => ({ ...t, name: t.id })) }),
  );

  app.post('/v1/rules/templates/:id', auth, withSite, async (c) => {
    const { site } = c.var;
    const template = TEMPLATES.find((t) => t.id === c.req.param('id'));
    if (!template)
      return fail(
        c,
        404,
        'unknown_template',
        `no template "${c.req.param('id')}"; templates are ${TEMPLATES.map((t) => t.id).join(', ')}`,
      );
    // An optional `{"name": …}` saves it under another name (a second copy, a site's own naming).
    let name = template.id;
    const text = await readText(c, RULE_LIMITS.ruleBytes);
    if (text === null)
      return fail(
        c,
        413,
        'body_too_large',
        `the body is larger than ${RULE_LIMITS.ruleBytes} bytes`,
      );
    if (text.trim() !== '') {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        return fail(c, 400, 'invalid_json', 'the body is not valid JSON');
      }
      const given = typeof v === 'object' && v !== null ? (v as { name?: unknown }).name : 0;
      if (given !== undefined && typeof given !== 'string')
        return fail(c, 400, 'invalid_body', 'the body is empty or {"name": "…"}');
      if (typeof given === 'string') name = given;
    }
    const bad = badRuleName(name);
    if (bad) return fail(c, 400, 'invalid_name', bad);
    if (Object.hasOwn(site.configRules, name))
      return fail(
        c,
        409,
        'name_taken',
        `"${name}" is a rule of the config file; give another name`,
      );
    const checked = checkRule(site, name, template.rule);
    if ('problems' in checked) return invalidRule(c, checked.problems);
    return save(c, site, name, checked.rule);
  });

  app.post('/v1/rules/preview', auth, withSite, async (c) => {
    const { site } = c.var;
    const read = await body(c);
    if (!read.ok) return read.res;
    const checked = checkRule(site, 'preview', read.value);
    if ('problems' in checked) return invalidRule(c, checked.problems);
    // Each preview may scan every profile for up to previewMs: a few at once, not a queue.
    if (previews >= RULE_LIMITS.previewsAtOnce)
      return fail(c, 429, 'busy', 'other previews are running: try again in a moment');
    previews++;
    try {
      const result = await previewRule(storage, site, checked.rule.when, deps.now());
      return c.json({ site: site.id, ...result });
    } finally {
      previews--;
    }
  });

  app.get('/v1/rules', auth, withSite, (c) => {
    const { site } = c.var;
    const state = rules.state(site.id);
    const stored = state.rules.filter((r) => !r.deleted).map(apiView);
    return c.json({
      site: site.id,
      version: state.version,
      rules: [...Object.entries(site.configRules).map(([n, r]) => configView(n, r)), ...stored],
      limits: { rules: RULE_LIMITS.rulesPerSite, ruleBytes: RULE_LIMITS.ruleBytes },
    });
  });

  app.get('/v1/rules/:name', auth, withSite, (c) => {
    const { site } = c.var;
    const name = c.req.param('name');
    const config = site.configRules[name];
    if (config && Object.hasOwn(site.configRules, name))
      return c.json({ site: site.id, rule: configView(name, config) });
    const stored = inForce(site, name);
    if (!stored) return fail(c, 404, 'unknown_rule', `no rule "${name}" on site "${site.id}"`);
    return c.json({ site: site.id, rule: apiView(stored) });
  });

  app.put('/v1/rules/:name', auth, withSite, async (c) => {
    const { site } = c.var;
    const name = c.req.param('name');
    const bad = badRuleName(name);
    if (bad) return fail(c, 400, 'invalid_name', bad);
    if (Object.hasOwn(site.configRules, name))
      return fail(
        c,
        409,
        'name_taken',
        `"${name}" is a rule of the config file: change it there, or save this one under another name`,
      );
    const read = await body(c);
    if (!read.ok) return read.res;
    const checked = checkRule(site, name, read.value);
    if ('problems' in checked) return invalidRule(c, checked.problems);
    return save(c, site, name, checked.rule);
  });

  app.delete('/v1/rules/:name', auth, withSite, async (c) => {
    const { site } = c.var;
    const name = c.req.param('name');
    if (Object.hasOwn(site.configRules, name))
      return fail(c, 409, 'read_only', `"${name}" is a rule of the config file: remove it there`);
    const now = deps.now();
    const done = await storage.write((tx) => tx.rules.delete(site.id, name, now));
    if (done === null)
      return fail(c, 404, 'unknown_rule', `no rule "${name}" on site "${site.id}"`);
    await rules.refresh(site.id);
    return c.json({ site: site.id, name, deleted: true });
  });

  return app;
}
