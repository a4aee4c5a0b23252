/**
 * Known contacts, for email tools and backends (API key):
 * `GET /v1/contacts/:id/segment?site=S` and `PUT /v1/contacts/:id/traits?site=S`.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { LIMITS } from '../../shared/limits.ts';
import type { Deps } from '../app.ts';
import { requireApiKey, type AuthEnv } from '../auth.ts';
import type { SiteConfig } from '../config.ts';
import { fail } from '../errors.ts';
import { patchTraits, segmentOf } from '../identify.ts';
import { contactKey, validContactId } from '../identity/token.ts';
import { traitPatchSchema } from '../identity/traits.ts';
import { describe } from '../validate.ts';
import { siteOf } from './site-query.ts';

type Resolved = { site: SiteConfig; contact: string } | Response;

function resolve(c: Context<AuthEnv>, deps: Deps): Resolved {
  const site = siteOf(c, deps.config);
  if (site instanceof Response) return site;
  const contact = c.req.param('id');
  if (!validContactId(contact)) {
    return fail(c, 400, 'invalid_contact', `a contact id has 1–${LIMITS.idLength} characters and no control characters`);
  }
  return { site, contact };
}

export function contactRoutes(deps: Deps) {
  const app = new Hono<AuthEnv>();
  const auth = requireApiKey(deps.config);

  app.get('/v1/contacts/:id/segment', auth, (c) => {
    const r = resolve(c, deps);
    if (r instanceof Response) return r;
    const { site, contact } = r;
    if (!deps.storage.identity.contactExists(site.id, contact)) {
      return fail(c, 404, 'unknown_contact', `no contact "${contact}" on site "${site.id}": no link click, identify or traits yet`);
    }
    const segment = segmentOf(deps.storage, site, { contact }, deps.now());
    const meta = deps.storage.identity.meta(site.id, contactKey(contact));
    c.header('Cache-Control', 'private, no-cache');
    return c.json({
      ...segment,
      contact,
      traits: meta?.traits ?? {},
      firstTouch: meta?.first ?? null,
      lastTouch: meta?.last ?? null,
    });
  });

  app.put(
    '/v1/contacts/:id/traits',
    auth,
    bodyLimit({ maxSize: LIMITS.bodyBytes, onError: (c) => fail(c, 413, 'body_too_large', `the body is larger than ${LIMITS.bodyBytes} bytes`) }),
    async (c) => {
      const r = resolve(c, deps);
      if (r instanceof Response) return r;
      const { site, contact } = r;
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return fail(c, 400, 'invalid_json', 'the body is not valid JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return fail(c, 400, 'invalid_traits', 'the body is a JSON object of traits, e.g. {"age_band":"25-50"}');
      }
      const parsed = traitPatchSchema.safeParse(body);
      if (!parsed.success) return fail(c, 400, 'invalid_traits', describe(parsed.error));
      const now = deps.now();
      // PUT replaces every trait of the contact: the body is the whole set (a null is left out).
      const traits = await deps.writes!.run(() => {
        deps.storage.identity.ensureContact(site.id, contact, now);
        return patchTraits(deps.storage, site.id, contactKey(contact), parsed.data, now, true);
      });
      if (!traits) return fail(c, 400, 'invalid_traits', `at most ${LIMITS.traitsKeys} traits`);
      return c.json({ site: site.id, contact, traits, segment: segmentOf(deps.storage, site, { contact }, now) });
    },
  );
  return app;
}
