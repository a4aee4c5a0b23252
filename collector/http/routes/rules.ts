/**
 * Runtime custom segment rules (API key), issue 18: `GET /v1/rules`, `GET|PUT|DELETE
 * /v1/rules/:name`, `POST /v1/rules/preview`, `GET /v1/rules/templates`,
 * `POST /v1/rules/templates/:id`, `GET /v1/rules/vocabulary`, each with `?site=S` but the
 * template list. What they do lives in collector/rules/manage.ts (the dashboard's builder calls
 * the same functions); these read the body and answer. A builder's loop: load a template or a
 * rule, edit its JSON, preview it, save it (PUT), read it back.
 */
import { type Context, Hono } from 'hono';
import { RULE_LIMITS } from '../../../shared/limits.ts';
import {
  addTemplate,
  deleteRule,
  getRule,
  listRules,
  previewBody,
  type RuleRefusal,
  saveRule,
  vocabulary,
} from '../../rules/manage.ts';
import { TEMPLATES } from '../../rules/templates.ts';
import type { Deps } from '../app.ts';
import { requireApiKey, type AuthEnv } from '../auth.ts';
import { readJson, readText } from '../body.ts';
import { fail } from '../errors.ts';
import { requireSite, type SiteEnv } from '../site.ts';

/** A refusal as JSON: its code and sentence, and a rule's problems with their paths. */
const refused = (c: Context, r: RuleRefusal) =>
  c.json(
    { error: r.error, message: r.message, ...(r.problems ? { problems: r.problems } : {}) },
    r.status,
  );

export function ruleRoutes(deps: Deps) {
  const app = new Hono<AuthEnv & SiteEnv>();
  const auth = requireApiKey(deps.config);
  const withSite = requireSite(deps.config);

  /** The body as JSON, bounded, or the refusal already answered. */
  async function body(
    c: Context,
  ): Promise<{ ok: true; value: unknown } | { ok: false; res: Response }> {
    const read = await readJson(c, RULE_LIMITS.ruleBytes);
    if (!read.ok) return { ok: false, res: fail(c, read.status, read.error, read.message) };
    return { ok: true, value: read.value };
  }

  app.get('/v1/rules/vocabulary', auth, withSite, (c) => c.json(vocabulary(c.var.site)));

  app.get('/v1/rules/templates', auth, (c) =>
    c.json({ templates: TEMPLATES.map((t) => ({ ...t, name: t.id })) }),
  );

  app.post('/v1/rules/templates/:id', auth, withSite, async (c) => {
    const { site } = c.var;
    // An optional `{"name": …}` saves it under another name (a second copy, a site's own naming).
    let name: string | undefined;
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
      name = given;
    }
    const res = await addTemplate(deps, site, c.req.param('id'), name);
    if (!res.ok) return refused(c, res);
    return c.json({ site: site.id, rule: res.value.rule }, res.value.created ? 201 : 200);
  });

  app.post('/v1/rules/preview', auth, withSite, async (c) => {
    const { site } = c.var;
    const read = await body(c);
    if (!read.ok) return read.res;
    const res = await previewBody(deps, site, read.value);
    if (!res.ok) return refused(c, res);
    return c.json({ site: site.id, ...res.value });
  });

  app.get('/v1/rules', auth, withSite, (c) => {
    const { site } = c.var;
    return c.json({
      site: site.id,
      ...listRules(deps, site),
      limits: { rules: RULE_LIMITS.rulesPerSite, ruleBytes: RULE_LIMITS.ruleBytes },
    });
  });

  app.get('/v1/rules/:name', auth, withSite, (c) => {
    const { site } = c.var;
    const name = c.req.param('name');
    const rule = getRule(deps, site, name);
    if (!rule) return fail(c, 404, 'unknown_rule', `no rule "${name}" on site "${site.id}"`);
    return c.json({ site: site.id, rule });
  });

  app.put('/v1/rules/:name', auth, withSite, async (c) => {
    const { site } = c.var;
    const read = await body(c);
    if (!read.ok) return read.res;
    const res = await saveRule(deps, site, c.req.param('name'), read.value);
    if (!res.ok) return refused(c, res);
    return c.json({ site: site.id, rule: res.value.rule }, res.value.created ? 201 : 200);
  });

  app.delete('/v1/rules/:name', auth, withSite, async (c) => {
    const { site } = c.var;
    const res = await deleteRule(deps, site, c.req.param('name'));
    if (!res.ok) return refused(c, res);
    return c.json({ site: site.id, name: res.value.name, deleted: true });
  });

  return app;
}
