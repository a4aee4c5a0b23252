/** `POST /v1/collect`: the browser's batches, as a text/plain (or JSON) body. */
import { Hono, type Context } from 'hono';
import { LIMITS } from '../../../shared/limits.ts';
import type { CollectResponse } from '../../../shared/wire.ts';
import type { Deps } from '../app.ts';
import { fail } from '../errors.ts';
import { ingestBatch } from '../../ingest/ingest.ts';
import { browserIdentity } from '../../ingest/browser-identity.ts';
import { forBrowser, identifyBrowser, LINK_REFUSALS } from '../../identity/identify.ts';
import { botNotice, botReason } from '../../ingest/bots.ts';
import { noCategoryNotice } from '../../config/category-rules.ts';
import { unknownSiteNotice } from '../site.ts';
import {
  allowOrigin,
  allowOriginOfAnySite,
  originAllowed,
  originAllowedByAnySite,
  originNotice,
  writerOrigin,
} from '../origins.ts';
import { describe, parseBatch, tooManyEvents } from '../../ingest/validate.ts';
import { tooMany, visitorLimiter } from './limits.ts';
import { jsonHeaders, respond } from '../secure-headers.ts';
import { readJson } from '../body.ts';
import { expandCompact } from '../../ingest/wire-compact.ts';
import {
  collectEntries,
  originEntry,
  privacyEntry,
  rateLimitedEntry,
  requestRefusedEntry,
} from '../../live/outcomes.ts';

/** The configured site a body names, before it is validated (the live feed's scope), else null. */
function claimedSite(deps: Deps, body: unknown): string | null {
  const id = (body as { site?: unknown } | null)?.site;
  return typeof id === 'string' && deps.config.sites.has(id) ? id : null;
}

/** Events a body carries, before it is validated (0 when it is not a batch). */
function claimedCount(body: unknown): number {
  const events = (body as { events?: unknown } | null)?.events;
  return Array.isArray(events) ? events.length : 0;
}

/** Global Privacy Control (`Sec-GPC: 1`) or Do-Not-Track (`DNT: 1`) on the request. */
function privacySignal(
  gpc: string | undefined,
  dnt: string | undefined,
): 'gpc' | 'dnt' | undefined {
  if (gpc === '1') return 'gpc';
  if (dnt === '1') return 'dnt';
  return undefined;
}

/** The Origin header as sent (`null` included), for the live feed's display. */
const rawOrigin = (c: Context) => c.req.header('origin') ?? null;

export function collectRoutes(deps: Deps) {
  const app = new Hono();
  const perVisitor = visitorLimiter(deps.limits);
  const { metrics, notice, live } = deps;
  const self = deps.selfOrigins;
  const refuse = (c: Context, status: 400 | 403 | 408 | 413, error: string, message: string) => {
    metrics.eventsRefused.inc({ reason: error });
    return fail(c, status, error, message);
  };

  // A JSON content type makes the browser send a preflight; the site is only known from the body.
  app.options('/v1/collect', (c) => {
    const origin = c.req.header('origin');
    c.header('Vary', 'Origin');
    if (!origin || !originAllowedByAnySite(deps.config, origin, self)) return c.body(null, 204);
    c.header('Access-Control-Allow-Origin', origin);
    c.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
    c.header('Access-Control-Allow-Headers', 'Content-Type');
    c.header('Access-Control-Max-Age', '86400');
    return c.body(null, 204);
  });

  app.post('/v1/collect', async (c) => {
    const now = deps.now();
    const origin = writerOrigin(c);
    // A refusal the page must be able to read (to drop the batch, not retry it): before the
    // site is known, CORS for an origin some site allows.
    const refuseEarly = (
      status: 400 | 408 | 413,
      error: string,
      message: string,
      body: unknown = null,
      fix = 'fix the sender: the snippet never sends this; a hand-made sender follows docs/snippet.md',
    ) => {
      allowOriginOfAnySite(c, deps.config, self, origin);
      // The site a refused body names is attributed when it is configured; else every-site watchers only.
      const claimed = claimedSite(deps, body);
      if (live.wants(claimed)) {
        live.publish([
          requestRefusedEntry(
            now,
            claimed,
            'collect',
            rawOrigin(c),
            claimedCount(body),
            error,
            message,
            fix,
          ),
        ]);
      }
      return refuse(c, status, error, message);
    };
    const read = await readJson(c, LIMITS.bodyBytes, deps.bodyTimeoutMs);
    if (!read.ok) return refuseEarly(read.status, read.error, read.message);
    // The snippet's compact form becomes the long form here, so one schema judges both.
    const body = expandCompact(read.value, now);
    if (tooManyEvents(body, LIMITS.batchEvents)) {
      return refuseEarly(
        413,
        'batch_too_large',
        `at most ${LIMITS.batchEvents} events per batch`,
        body,
      );
    }
    const parsed = parseBatch(body);
    if (!parsed.success) return refuseEarly(400, 'invalid_batch', describe(parsed.error), body);
    const batch = parsed.data;

    const site = deps.config.sites.get(batch.site);
    if (!site) {
      notice(batch.site, 'unknown_site', () => unknownSiteNotice(batch.site, deps.config));
      return refuseEarly(
        400,
        'unknown_site',
        `no site "${batch.site}" in the collector's config`,
        body,
        unknownSiteNotice(batch.site, deps.config),
      );
    }
    if (origin && !originAllowed(site, origin, self)) {
      notice(site.id, 'origin_not_allowed', () => originNotice(site, origin), { origin });
      if (live.wants(site.id)) live.publish([originEntry(now, site, origin, batch.events.length)]);
      // No grant: a page of another origin learns nothing, not even the refusal.
      allowOrigin(c, undefined);
      return refuse(
        c,
        403,
        'origin_not_allowed',
        `origin ${origin} is not one of site "${site.id}"'s origins`,
      );
    }
    // From here every answer is for an allowed origin: CORS on each (the success one is built
    // with its headers in one object, see respond()).
    const cors = () => allowOrigin(c, origin);
    const wait = perVisitor?.hit(`${site.id}/${batch.visitor}`, now) ?? 0;
    if (wait > 0) {
      metrics.rateLimited.inc({ scope: 'visitor' });
      if (live.wants(site.id)) {
        live.publish([
          rateLimitedEntry(now, site.id, rawOrigin(c), 'visitor', batch.events.length),
        ]);
      }
      cors();
      return tooMany(c, wait, 'visitor');
    }

    // The snippet honors DNT/GPC itself; this catches any other sender, and old snippets.
    const privacy = site.consent
      ? undefined
      : privacySignal(c.req.header('sec-gpc'), c.req.header('dnt'));
    if (privacy) {
      if (live.wants(site.id))
        live.publish([privacyEntry(now, site, rawOrigin(c), privacy, batch.events.length)]);
      cors();
      return c.json<CollectResponse>({
        accepted: 0,
        duplicates: 0,
        refused: [],
        privacy,
        segment: null,
      });
    }

    // Sites that allow automation (the demo, test sites) count everything.
    const bot = site.allowAutomation
      ? null
      : botReason(c.req.header('user-agent'), batch.webdriver);
    if (bot) notice(site.id, `bot_${bot}`, () => botNotice(site.id, bot));
    const checked = browserIdentity(c, deps, site, batch, now);
    if (!checked.ok) {
      if (live.wants(site.id)) {
        live.publish([
          requestRefusedEntry(
            now,
            site.id,
            'collect',
            rawOrigin(c),
            batch.events.length,
            checked.error,
            checked.message,
            'the page sent an identity token or traits the collector refuses: see docs/snippet.md (identify) for how a page gets a valid token',
          ),
        ]);
      }
      cors();
      return refuse(c, 400, checked.error, checked.message);
    }
    const identity = checked.value;
    const { res, linked } = await deps.storage.write(async (tx) => {
      // Bot traffic is never linked to a contact nor sets traits.
      const { id, patch } = identity;
      const linked = bot ? null : await identifyBrowser(tx, site, batch.visitor, id, patch, now);
      return {
        res: await ingestBatch(tx, site, batch.visitor, batch.events, now, bot, (path) =>
          notice(site.id, 'no_category_rule', () => noCategoryNotice(site.id, path), { path }),
        ),
        linked,
      };
    });
    if (identity.outcome) {
      res.identify = bot
        ? {
            ok: false,
            error: 'not_linked',
            message: 'bot or automation traffic is never linked to a contact',
          }
        : linked === 'linked_elsewhere' || linked === 'device_limit'
          ? { ok: false, error: linked, message: LINK_REFUSALS[linked](site) }
          : identity.outcome;
    }
    // What a page may see: no private-trait segments, no money (docs/segments.md).
    if (res.segment) res.segment = forBrowser(site, res.segment);
    if (identity.refusedTraits.length > 0) res.refusedTraits = identity.refusedTraits;
    metrics.eventsAccepted.inc({ site: site.id }, res.accepted);
    if (live.wants(site.id)) {
      live.publish(collectEntries(now, site, rawOrigin(c), batch.visitor, batch.events, res, bot));
    }
    // Events a browser's retry queue had to give up (full while the collector was unreachable);
    // a figure the client states, so bounded.
    if (batch.dropped)
      metrics.snippetDropped.inc({ site: site.id }, Math.min(batch.dropped, LIMITS.droppedEvents));
    metrics.eventsDuplicate.inc({ site: site.id }, res.duplicates);
    for (const r of res.refused) metrics.eventsRefused.inc({ reason: r.error });
    if (res.accepted === 0 && res.duplicates === 0 && res.refused.length > 0) {
      cors();
      return c.json(
        { error: 'invalid_events', message: 'no event of the batch is valid', ...res },
        400,
      );
    }
    return respond(JSON.stringify(res), 200, jsonHeaders(origin));
  });
  return app;
}
