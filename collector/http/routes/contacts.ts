/**
 * Known contacts, for email tools and backends (API key):
 * `GET /v1/contacts/:id/segment?site=S` and `PUT /v1/contacts/:id/traits?site=S`.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { LIMITS } from '../../../shared/limits.ts';
import type { ContactSegment, TraitsResponse } from '../../../shared/server-api.ts';
import type { Deps } from '../app.ts';
import { type BodyEnv, readJson } from '../body.ts';
import { requireApiKey, type AuthEnv } from '../auth.ts';
import { fail } from '../errors.ts';
import { patchTraits, segmentOf } from '../../identity/identify.ts';
import { contactKey, validContactId } from '../../identity/token.ts';
import { traitPatchSchema } from '../../identity/traits.ts';
import { describe } from '../../ingest/validate.ts';
import { requireSite, type SiteEnv } from '../site.ts';

/** The contact `:id` names, or the refusal to answer with when it is not a contact id. */
function contactOf(c: Context): string | null {
  const contact = c.req.param('id');
  return contact !== undefined && validContactId(contact) ? contact : null;
}

const invalidContact = (c: Context) =>
  fail(
    c,
    400,
    'invalid_contact',
    `a contact id has 1–${LIMITS.idLength} characters and no control characters`,
  );

/**
 * The body as JSON in `c.var.read`; an oversized one is refused at once, before the site and
 * contact are looked at, other body errors only after them.
 */
const jsonBody: MiddlewareHandler<BodyEnv> = async (c, next) => {
  const read = await readJson(c, LIMITS.bodyBytes);
  if (!read.ok && read.status === 413) return fail(c, read.status, read.error, read.message);
  c.set('read', read);
  await next();
};

export function contactRoutes(deps: Deps) {
  const app = new Hono<AuthEnv & SiteEnv & BodyEnv>();
  const auth = requireApiKey(deps.config);
  const withSite = requireSite(deps.config);

  app.get('/v1/contacts/:id/segment', auth, withSite, async (c) => {
    const { site } = c.var;
    const contact = contactOf(c);
    if (contact === null) return invalidContact(c);
    if (!(await deps.storage.identity.contactExists(site.id, contact))) {
      return fail(
        c,
        404,
        'unknown_contact',
        `no contact "${contact}" on site "${site.id}": no link click, identify or traits yet`,
      );
    }
    const segment = await segmentOf(deps.storage, site, { contact }, deps.now());
    const meta = await deps.storage.identity.meta(site.id, contactKey(contact));
    c.header('Cache-Control', 'private, no-cache');
    return c.json<ContactSegment>({
      ...segment,
      contact,
      traits: meta?.traits ?? {},
      firstTouch: meta?.first ?? null,
      lastTouch: meta?.last ?? null,
    });
  });

  app.put('/v1/contacts/:id/traits', auth, jsonBody, withSite, async (c) => {
    const { site, read } = c.var;
    const contact = contactOf(c);
    if (contact === null) return invalidContact(c);
    if (!read.ok) return fail(c, read.status, read.error, read.message);
    const body = read.value;
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
    const traits = await deps.storage.write(async (tx) => {
      await tx.identity.ensureContact(site.id, contact, now);
      return patchTraits(tx, site.id, contactKey(contact), parsed.data, now, true);
    });
    if (!traits) return fail(c, 400, 'invalid_traits', `at most ${LIMITS.traitsKeys} traits`);
    return c.json<TraitsResponse>({
      site: site.id,
      contact,
      traits,
      segment: await segmentOf(deps.storage, site, { contact }, now),
    });
  });
  return app;
}
