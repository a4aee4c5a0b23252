/**
 * Known contacts, for email tools and backends (API key):
 * `GET /v1/contacts/:id/segment?site=S` and `PUT /v1/contacts/:id/traits?site=S`.
 */
import { Hono, type Context } from 'hono';
import { LIMITS } from '../../../shared/limits.ts';
import type { Deps } from '../app.ts';
import { readJson } from '../body.ts';
import { requireApiKey, type AuthEnv } from '../auth.ts';
import type { SiteConfig } from '../../config/config.ts';
import { fail } from '../errors.ts';
import { patchTraits, segmentOf } from '../../identity/identify.ts';
import { contactKey, validContactId } from '../../identity/token.ts';
import { traitPatchSchema } from '../../identity/traits.ts';
import { describe } from '../../ingest/validate.ts';
import { siteOf } from './site-query.ts';

type Resolved = { site: SiteConfig; contact: string } | Response;

function resolve(c: Context<AuthEnv>, deps: Deps): Resolved {
  const site = siteOf(c, deps.config);
  if (site instanceof Response) return site;
  const contact = c.req.param('id');
  if (!validContactId(contact)) {
    return fail(
      c,
      400,
      'invalid_contact',
      `a contact id has 1–${LIMITS.idLength} characters and no control characters`,
    );
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
      return fail(
        c,
        404,
        'unknown_contact',
        `no contact "${contact}" on site "${site.id}": no link click, identify or traits yet`,
      );
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

  app.put('/v1/contacts/:id/traits', auth, async (c) => {
    // An oversized body is refused before the site and contact are looked at, as before.
    const read = await readJson(c, LIMITS.bodyBytes);
    if (!('body' in read) && read.status === 413)
      return fail(c, read.status, read.error, read.message);
    const r = resolve(c, deps);
    if (r instanceof Response) return r;
    const { site, contact } = r;
    if (!('body' in read)) return fail(c, read.status, read.error, read.message);
    const body = read.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(
        c,
        400,
        'invalid_traits',
        'the body is a JSON object of traits, e.g. {"age_band":"25-50"}',
      );
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
    return c.json({
      site: site.id,
      contact,
      traits,
      segment: segmentOf(deps.storage, site, { contact }, now),
    });
  });
  return app;
}
