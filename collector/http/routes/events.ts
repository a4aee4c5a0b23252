/**
 * `POST /v1/events` (API key): server-side events — purchases from a backend, app screens,
 * imports of history. Unlike browser events, timestamps are trusted (no 7-day clamp), so a
 * site can import years of past events; each event succeeds or fails on its own.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { CLOCK, LIMITS } from '../../../shared/limits.ts';
import type { EventsResponse } from '../../../shared/server-events.ts';
import type { RefusedEvent } from '../../../shared/wire.ts';
import type { Deps } from '../app.ts';
import { readJson } from '../body.ts';
import { digest } from '../digest.ts';
import { requireApiKey, type AuthEnv } from '../auth.ts';
import { fail } from '../errors.ts';
import { categorize } from '../../ingest/ingest.ts';
import { noCategoryNotice } from '../../config/category-rules.ts';
import { ingestAs, setTraitsOf, type Who } from '../../identity/identify.ts';
import { contactIdSchema, contactKey, validContactId } from '../../identity/token.ts';
import { traitPatchSchema, type TraitPatch } from '../../identity/traits.ts';
import type { NewEvent } from '../../storage/contract.ts';
import type { Refusal } from '../../storage/quarantine.ts';
import { eventValue } from '../../ingest/event-value.ts';
import {
  checkEvent,
  describe,
  eventSchema,
  idSchema,
  refusal,
  tooManyEvents,
} from '../../ingest/validate.ts';
import { must } from '../../../shared/must.ts';
import { type Failure, failure } from '../../result.ts';
import { DUPLICATE_FIX, type Entry, entry, listed, refusalEntries } from '../../live/outcomes.ts';

const serverEventSchema = eventSchema
  .omit({ id: true, ts: true })
  .extend({
    site: z.string().min(1).max(LIMITS.idLength),
    /** Exactly one of `visitor` and `contact` (a known contact's id, as in identity tokens). */
    visitor: idSchema.optional(),
    contact: contactIdSchema.optional(),
    /** Traits of the profile the event lands in (a value sets, null removes). */
    traits: traitPatchSchema.optional(),
    id: idSchema.optional(),
    ts: z.number().int().nonnegative().optional(),
    value: eventValue.optional(),
  })
  .strict();

const envelope = z.object({ events: z.array(z.unknown()).min(1, 'at least one event') }).strict();

/**
 * The id of an event sent without one: a hash of its content, so re-sending the same import
 * counts it once. Two identical events in the same millisecond need their own ids.
 */
function contentId(
  e: Omit<z.infer<typeof serverEventSchema>, 'id' | 'traits'> & { ts: number },
): string {
  const { site, type, ts, url, category, value, currency, props } = e;
  const visitor = e.visitor ?? contactKey(e.contact ?? '');
  const text = JSON.stringify([
    site,
    visitor,
    type,
    ts,
    url ?? null,
    category ?? null,
    value ?? null,
    currency ?? null,
    props ?? null,
  ]);
  return `h_${digest('sha256', text).slice(0, 24)}`;
}

/**
 * The live feed's entries of one request: per profile, accepted and duplicates; refusals per site,
 * only of sites the key opens (a key cannot write into another site's feed).
 */
function publishLive(
  deps: Deps,
  now: number,
  groups: { site: string; who: Who; events: NewEvent[] }[],
  results: { site: string; accepted: number; duplicates: number }[],
  items: unknown[],
  refused: RefusedEvent[],
  apiSites: ReadonlySet<string>,
) {
  const { live } = deps;
  const out: Entry[] = [];
  for (const [i, g] of groups.entries()) {
    const r = results[i];
    if (!r || !live.wants(g.site)) continue;
    const visitor = 'visitor' in g.who ? g.who.visitor : contactKey(g.who.contact);
    if (r.accepted > 0)
      out.push(
        entry(
          now,
          g.site,
          'events',
          null,
          'accepted',
          r.accepted,
          null,
          'stored (POST /v1/events)',
          null,
          {
            events: listed(g.events),
            visitor,
          },
        ),
      );
    if (r.duplicates > 0)
      out.push(
        entry(
          now,
          g.site,
          'events',
          null,
          'duplicate',
          r.duplicates,
          'duplicate',
          'already stored (same event id, or the same content without an id): a resent import counts once',
          DUPLICATE_FIX,
          { visitor },
        ),
      );
  }
  const bySite = new Map<string, RefusedEvent[]>();
  for (const r of refused) {
    const site = (items[r.index] as { site?: unknown } | null)?.site;
    if (typeof site !== 'string' || !apiSites.has(site) || !live.wants(site)) continue;
    const list = bySite.get(site) ?? [];
    list.push(r);
    bySite.set(site, list);
  }
  for (const [site, list] of bySite) out.push(...refusalEntries(now, site, 'events', null, list));
  if (out.length > 0) live.publish(out);
}

export function eventsRoutes(deps: Deps) {
  const app = new Hono<AuthEnv>();
  app.post('/v1/events', requireApiKey(deps.config), async (c) => {
    const now = deps.now();
    const read = await readJson(c, LIMITS.serverBodyBytes);
    if (!read.ok) return fail(c, read.status, read.error, read.message);
    if (tooManyEvents(read.value, LIMITS.serverBatchEvents)) {
      return fail(
        c,
        413,
        'batch_too_large',
        `at most ${LIMITS.serverBatchEvents} events per request`,
      );
    }
    const parsed = envelope.safeParse(read.value);
    if (!parsed.success) return fail(c, 400, 'invalid_request', describe(parsed.error));
    const items = parsed.data.events;

    const refused: RefusedEvent[] = [];
    const ids: (string | null)[] = items.map(() => null);
    const groups = new Map<
      string,
      { site: string; who: Who; events: NewEvent[]; seen: Set<string>; traits: TraitPatch }
    >();
    /** Groups one event by profile; its refusal, if refused. */
    const take = (item: unknown, index: number): Failure | undefined => {
      const checked = checkEvent(serverEventSchema, item);
      if (!checked.ok) return checked;
      const { site: siteId, visitor, contact, traits, id, ...rest } = checked.value;
      const who: Who | null =
        visitor !== undefined ? { visitor } : contact !== undefined ? { contact } : null;
      if (who === null || (visitor !== undefined && contact !== undefined))
        return failure('invalid_event', 'exactly one of visitor and contact');
      const site = deps.config.sites.get(siteId);
      if (!site || !c.var.apiSites.has(siteId))
        return failure('forbidden_site', `the API key is not valid for site "${siteId}"`);
      const ts = rest.ts ?? now;
      if (ts > now + CLOCK.maxClockSkewMs)
        return failure(
          'invalid_event',
          `ts: more than ${CLOCK.maxClockSkewMs / 60_000} minutes in the future`,
        );
      const eventId = id ?? contentId({ ...checked.value, ts });
      ids[index] = eventId;
      const key = `${siteId}\0${'visitor' in who ? who.visitor : contactKey(who.contact)}`;
      let g = groups.get(key);
      if (!g) {
        g = { site: siteId, who, events: [], seen: new Set(), traits: {} };
        groups.set(key, g);
      }
      if (traits) Object.assign(g.traits, traits);
      // The same id twice in one request is one event.
      if (g.seen.has(eventId)) return undefined;
      g.seen.add(eventId);
      g.events.push(
        categorize(site, { ...rest, id: eventId, ts }, (path) =>
          deps.notice(site.id, 'no_category_rule', () => noCategoryNotice(site.id, path), {
            path,
          }),
        ),
      );
      return undefined;
    };
    for (const [index, item] of items.entries()) {
      const refusedAs = take(item, index);
      if (refusedAs) refused.push(refusal(index, item, refusedAs.error, refusedAs.message));
    }

    const results = await deps.storage.write(async (tx) => {
      const quarantined = new Map<string, Refusal[]>();
      for (const r of refused) {
        const item = items[r.index] as {
          site?: unknown;
          visitor?: unknown;
          contact?: unknown;
        } | null;
        // Only sites this key opens keep quarantined events: a key cannot fill another site's.
        if (
          typeof item?.site === 'string' &&
          c.var.apiSites.has(item.site) &&
          deps.config.sites.has(item.site)
        ) {
          // A contact's refused event is kept under its `c:<contact>` profile id, so erasing the contact removes it.
          const visitor =
            typeof item.visitor === 'string'
              ? item.visitor.slice(0, LIMITS.idLength)
              : typeof item.contact === 'string' && validContactId(item.contact)
                ? contactKey(item.contact)
                : null;
          const rows = quarantined.get(item.site) ?? [];
          quarantined.set(item.site, rows);
          rows.push({ visitor, refused: r, raw: items[r.index] });
        }
      }
      for (const [site, rows] of quarantined) {
        await tx.keepRefused(
          site,
          'events',
          rows,
          now,
          must(deps.config.sites.get(site), `site ${site}`).quarantine,
        );
      }
      const out = [];
      for (const g of groups.values()) {
        const site = must(deps.config.sites.get(g.site), `site ${g.site}`);
        // A linked visitor's or a contact's events land in the contact's profile.
        if (Object.keys(g.traits).length > 0) await setTraitsOf(tx, site, g.who, g.traits, now);
        out.push({ site: g.site, ...(await ingestAs(tx, site, g.who, g.events, now)) });
      }
      return out;
    });
    const accepted = results.reduce((n, r) => n + r.accepted, 0);
    const res: EventsResponse = {
      accepted,
      duplicates: items.length - refused.length - accepted,
      refused,
      ids,
    };
    const metrics = deps.metrics;
    for (const r of results) {
      metrics.eventsAccepted.inc({ site: r.site }, r.accepted);
      metrics.eventsDuplicate.inc({ site: r.site }, r.duplicates);
    }
    for (const r of refused) metrics.eventsRefused.inc({ reason: r.error });
    if (deps.live.watchers > 0)
      publishLive(deps, now, [...groups.values()], results, items, refused, c.var.apiSites);
    if (res.accepted === 0 && res.duplicates === 0) {
      return c.json(
        { error: 'invalid_events', message: 'no event of the request is valid', ...res },
        400,
      );
    }
    return c.json(res);
  });
  return app;
}
