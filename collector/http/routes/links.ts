/**
 * `POST /v1/links` (API key): signed or plain email links in bulk, for an email tool that
 * fills one link per recipient. Each link succeeds or fails on its own, with its reason.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { LIMITS } from '../../../shared/limits.ts';
import type { LinkRequest, LinkResult, LinksResponse } from '../../../shared/server-api.ts';
import type { Deps } from '../app.ts';
import { readJson } from '../body.ts';
import { requireApiKey, type AuthEnv } from '../auth.ts';
import { fail } from '../errors.ts';
import { type LinkInput, linkInput, makeLink } from '../../identity/links.ts';
import { requestOrigin } from '../origins.ts';
import { describe } from '../../ingest/validate.ts';
import { unknownSite } from '../site.ts';

const requestSchema = z
  .object({
    site: z.string().min(1).max(LIMITS.idLength),
    /** Plain links (the target with parameters) instead of `/r` redirects. */
    plain: z.boolean().optional(),
    links: z
      .array(z.unknown())
      .min(1, 'at least one link')
      .max(LIMITS.linksPerRequest, `at most ${LIMITS.linksPerRequest} links`),
  })
  .strict();

/**
 * The shared wire type (what `microseg/client` sends) is the schema's, field for field: a change to
 * one fails the type check here until the other follows.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const linkTypesAgree: Same<LinkInput, LinkRequest> = true;
void linkTypesAgree;

export function linkRoutes(deps: Deps) {
  const app = new Hono<AuthEnv>();
  app.post('/v1/links', requireApiKey(deps.config), async (c) => {
    const read = await readJson(c, LIMITS.serverBodyBytes);
    if (!read.ok) return fail(c, read.status, read.error, read.message);
    const parsed = requestSchema.safeParse(read.value);
    if (!parsed.success) return fail(c, 400, 'invalid_request', describe(parsed.error));
    const { site: siteId, plain, links } = parsed.data;
    if (!c.var.apiSites.has(siteId))
      return fail(c, 403, 'forbidden', `the API key is not valid for site "${siteId}"`);
    const site = deps.config.sites.get(siteId);
    if (!site) return unknownSite(c, siteId);

    // The collector's public address: configured, else its own (listen) address; the one this
    // request came to only for an app that knows neither.
    const base = deps.publicUrl ?? deps.selfOrigins.values().next().value ?? requestOrigin(c);
    const now = deps.now();
    const results: LinkResult[] = links.map((item, index) => {
      const input = linkInput.safeParse(item);
      if (!input.success) return { index, error: 'invalid_link', message: describe(input.error) };
      const made = makeLink(deps.keys, site, base, input.data, now, plain);
      return made.ok
        ? { index, url: made.url }
        : { index, error: made.error, message: made.message };
    });
    return c.json<LinksResponse>({ links: results });
  });
  return app;
}
