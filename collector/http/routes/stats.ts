/**
 * The dashboard's JSON APIs (API key, like the admin routes): `GET /v1/stats`, a site's audience
 * over a range, and `GET /v1/visitors/:id`, one person and why they are in their segment. Each
 * answer is a handful of bounded queries (storage `dashboard`); the assembling is in
 * ../../storage/stats.ts, so the routes only parse and answer.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { LIMITS } from '../../../shared/limits.ts';
import type { Deps } from '../app.ts';
import { requireApiKey, type AuthEnv } from '../auth.ts';
import { fail } from '../errors.ts';
import { describe, ID_PATTERN } from '../../ingest/validate.ts';
import { requireSite, type SiteEnv } from '../site.ts';
import { siteStats, statsRange, visitorView } from '../../storage/stats.ts';

/** A time: epoch ms, or an ISO 8601 date (`2026-11-01`) or date-time. */
const time = z.union([
  z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
  z.iso.date().transform((s) => Date.parse(s)),
]);

const statsQuery = z
  .object({
    site: z.string(),
    from: time.optional(),
    to: time.optional(),
    bucket: z.enum(['day', 'hour']).default('day'),
  })
  .strict();

const cursor = z
  .string()
  .regex(/^\d{1,15}\.[A-Za-z0-9_-]{1,64}$/, 'before is the "next" value of a previous page');

const visitorQuery = z
  .object({
    site: z.string(),
    limit: z.coerce.number().int().min(1).max(LIMITS.timelinePage).default(50),
    before: cursor.optional(),
    historyLimit: z.coerce.number().int().min(1).max(LIMITS.historyPage).default(100),
    after: z.coerce.number().int().min(0).optional(),
  })
  .strict();

export function statsRoutes(deps: Deps) {
  const app = new Hono<AuthEnv & SiteEnv>();
  const auth = requireApiKey(deps.config);
  const withSite = requireSite(deps.config);
  const { storage } = deps;

  app.get('/v1/stats', auth, withSite, async (c) => {
    const parsed = statsQuery.safeParse(c.req.query());
    if (!parsed.success) return fail(c, 400, 'invalid_query', describe(parsed.error));
    const now = deps.now();
    const range = statsRange(parsed.data, now);
    if (!range.ok) return fail(c, 400, 'invalid_range', range.message);
    c.header('Cache-Control', 'no-store');
    return c.json(await siteStats(storage, c.var.site, range.value, now));
  });

  app.get('/v1/visitors/:id', auth, withSite, async (c) => {
    const id = c.req.param('id');
    if (!ID_PATTERN.test(id) || id.length > LIMITS.idLength)
      return fail(c, 400, 'invalid_visitor', 'a visitor id has letters, digits, - and _ only');
    const parsed = visitorQuery.safeParse(c.req.query());
    if (!parsed.success) return fail(c, 400, 'invalid_query', describe(parsed.error));
    const q = parsed.data;
    const dot = q.before?.indexOf('.') ?? -1;
    const before =
      q.before && dot > 0
        ? { ts: Number(q.before.slice(0, dot)), id: q.before.slice(dot + 1) }
        : undefined;
    const view = await visitorView(storage, c.var.site, id, deps.now(), {
      limit: q.limit,
      before,
      historyLimit: q.historyLimit,
      after: q.after,
    });
    if (!view)
      return fail(c, 404, 'unknown_visitor', `no visitor "${id}" in site "${c.var.site.id}"`);
    c.header('Cache-Control', 'no-store');
    return c.json(view);
  });

  return app;
}
