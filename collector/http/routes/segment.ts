/** `GET /v1/segment?site=S&visitor=V`: the visitor's current segment, for the site's pages. */
import { Hono } from 'hono';
import type { Deps } from '../app.ts';
import { fail } from '../errors.ts';
import { browserAnswerOf } from '../../identity/identify.ts';
import { addCors, originAllowed, originNotice } from '../origins.ts';
import { jsonHeaders, respond, secureHeaderSet } from '../secure-headers.ts';
import { ID_PATTERN } from '../../ingest/validate.ts';
import { missingSite, unknownSite, unknownSiteNotice } from '../site.ts';

export function segmentRoutes(deps: Deps) {
  const app = new Hono();

  app.get('/v1/segment', async (c) => {
    // One parse of the query string for both (each c.req.query(name) parses it again).
    const { site: siteId, visitor } = c.req.query();
    if (!siteId) return missingSite(c);
    if (!visitor || !ID_PATTERN.test(visitor)) {
      return fail(
        c,
        400,
        'invalid_visitor',
        'the visitor query parameter must be a visitor id (letters, digits, - and _)',
      );
    }
    const site = deps.config.sites.get(siteId);
    if (!site) {
      // Only an id that could be a site's reaches the log (any query string could otherwise).
      if (ID_PATTERN.test(siteId))
        deps.notice(siteId, 'unknown_site', () => unknownSiteNotice(siteId, deps.config));
      return unknownSite(c, siteId);
    }
    const origin = c.req.header('origin');
    if (origin && !originAllowed(site, origin, deps.selfOrigins)) {
      deps.notice(site.id, 'origin_not_allowed', () => originNotice(site, origin), { origin });
      c.header('Vary', 'Origin');
      return fail(
        c,
        403,
        'origin_not_allowed',
        `origin ${origin} is not one of site "${site.id}"'s origins`,
      );
    }

    // What a page may see: no private-trait segments, no money (docs/segments.md); kept with the
    // segment until the next time boundary it can cross, as is its ETag.
    const now = deps.now();
    const answer = browserAnswerOf(
      await deps.storage.segmentInputs(site.id, visitor, now),
      site,
      visitor,
      now,
    );
    if (c.req.header('if-none-match') === answer.etag) {
      const headers = addCors(secureHeaderSet(), origin);
      headers.etag = answer.etag;
      headers['cache-control'] = 'private, no-cache';
      return respond(null, 304, headers);
    }
    // The answer's headers are kept with it, for the origin that asked last.
    if (answer.headers === undefined || answer.headers.origin !== origin) {
      answer.headers = {
        origin,
        value: jsonHeaders(origin, 'application/json; charset=utf-8', {
          etag: answer.etag,
          'cache-control': 'private, no-cache',
        }),
      };
    }
    return respond(answer.body, 200, answer.headers.value);
  });
  return app;
}
