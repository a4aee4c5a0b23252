/**
 * The live feed's entries for each decision of the ingest routes, with what happened and how to
 * fix it: the words a new site owner reads on `/dashboard/live` to learn why nothing shows up.
 * Every builder here is called only after `feed.wants(site)` said someone watches.
 */
import { LIVE } from '../../shared/limits.ts';
import type { CollectResponse, RefusedEvent } from '../../shared/wire.ts';
import type { SiteConfig } from '../config/config.ts';
import { originNotice } from '../http/origins.ts';
import { botNotice } from '../ingest/bots.ts';
import { categorize } from '../ingest/ingest.ts';
import { validateEvents } from '../ingest/validate.ts';
import type { NewEvent } from '../storage/contract.ts';
import type { LiveEntry, LiveOutcome, LiveSource } from './feed.ts';

export type Entry = Omit<LiveEntry, 'id'>;

/** A duplicate is the collector working as meant; the fix says when it is not. */
export const DUPLICATE_FIX =
  'nothing to fix: each event id counts once, so a resent batch is safe. Only a sender that reuses one id for different events loses them: give each event its own id';

/** Type and category of the first `LIVE.eventsPerEntry` events. */
export function listed(events: readonly Pick<NewEvent, 'type' | 'category'>[]) {
  return events
    .slice(0, LIVE.eventsPerEntry)
    .map((e) => ({ type: e.type, category: e.category ?? null }));
}

/** An entry with the fields most share. */
export function entry(
  at: number,
  site: string | null,
  source: LiveSource,
  origin: string | null,
  outcome: LiveOutcome,
  count: number,
  reason: string | null,
  message: string,
  fix: string | null,
  extra: Partial<Pick<LiveEntry, 'events' | 'visitor'>> = {},
): Entry {
  return { at, site, source, origin, outcome, count, reason, message, fix, events: [], ...extra };
}

const refusedFix = (site: string | null) =>
  `fix what the sender sends (the message names the field); the refused event is kept for diagnosis: \`npx microseg quarantine --site ${site ?? 'SITE'}\` lists them with their reason`;

/** One entry per refusal reason, the first message as the example. */
export function refusalEntries(
  at: number,
  site: string | null,
  source: LiveSource,
  origin: string | null,
  refused: readonly RefusedEvent[],
): Entry[] {
  const byError = new Map<string, RefusedEvent[]>();
  for (const r of refused) {
    const list = byError.get(r.error) ?? [];
    list.push(r);
    byError.set(r.error, list);
  }
  return [...byError].map(([error, list]) =>
    entry(
      at,
      site,
      source,
      origin,
      'refused',
      list.length,
      error,
      `refused: ${list[0]?.message ?? error}`,
      refusedFix(site),
    ),
  );
}

/** What one `/v1/collect` batch of a known site came to: accepted, duplicates, refusals, or bot-flagged. */
export function collectEntries(
  at: number,
  site: SiteConfig,
  origin: string | null,
  visitor: string,
  rawEvents: unknown[],
  res: CollectResponse,
  bot: 'user_agent' | 'automation' | null,
): Entry[] {
  const out: Entry[] = [];
  const stored = res.accepted + res.duplicates;
  // The events as stored (types and categories from the site's rules), re-derived only here.
  const valid =
    stored > 0 ? validateEvents(rawEvents, at).valid.map((e) => categorize(site, e)) : [];
  if (bot && stored > 0) {
    out.push(
      entry(
        at,
        site.id,
        'collect',
        origin,
        'bot',
        stored,
        bot,
        `stored flagged as ${bot === 'automation' ? 'automation (navigator.webdriver)' : 'a bot (its user agent)'}: kept out of profiles, segments and webhooks`,
        botNotice(site.id, bot),
        { events: listed(valid), visitor },
      ),
    );
  } else {
    if (res.accepted > 0) {
      out.push(
        entry(
          at,
          site.id,
          'collect',
          origin,
          'accepted',
          res.accepted,
          null,
          "stored: in the visitor's profile and segment",
          null,
          { events: listed(valid), visitor },
        ),
      );
    }
    if (res.duplicates > 0) {
      out.push(
        entry(
          at,
          site.id,
          'collect',
          origin,
          'duplicate',
          res.duplicates,
          'duplicate',
          'already stored (same event id): a browser resending its queue after a lost answer',
          DUPLICATE_FIX,
          { visitor },
        ),
      );
    }
  }
  out.push(...refusalEntries(at, site.id, 'collect', origin, res.refused));
  return out;
}

/** A batch refused whole for its origin. */
export function originEntry(at: number, site: SiteConfig, origin: string, count: number): Entry {
  return entry(
    at,
    site.id,
    'collect',
    origin,
    'origin_not_allowed',
    count,
    'origin_not_allowed',
    `refused: origin ${origin} is not one of site "${site.id}"'s origins (the page gets 403 and no CORS)`,
    originNotice(site, origin),
  );
}

/** A batch answered 429: one visitor's tab, or (site null) one address before its body was read. */
export function rateLimitedEntry(
  at: number,
  site: string | null,
  origin: string | null,
  scope: 'visitor' | 'address' | 'connections',
  count: number,
): Entry {
  const fix =
    scope === 'visitor'
      ? 'one visitor sent more batches a minute than MICROSEG_RATE_VISITOR allows (default 120): a page sending in a loop; the snippet waits Retry-After and sends again. A load test from one visitor id: raise MICROSEG_RATE_VISITOR or use many ids'
      : scope === 'address'
        ? 'one address sent more requests a minute than MICROSEG_RATE_IP allows (default 1200): a load test or an office behind one NAT; raise MICROSEG_RATE_IP, or set MICROSEG_TRUST_PROXY when a proxy makes every visitor one address'
        : 'one address held too many requests open at once: slow or stuck uploads; behind a proxy, set MICROSEG_TRUST_PROXY so visitors are told apart';
  return entry(
    at,
    site,
    'collect',
    origin,
    'rate_limited',
    count,
    scope,
    `refused with 429 (per ${scope === 'connections' ? 'address, requests at once' : scope}); nothing stored`,
    fix,
  );
}

/** A batch the browser marked with GPC or DNT on a site without consent: nothing stored. */
export function privacyEntry(
  at: number,
  site: SiteConfig,
  origin: string | null,
  signal: 'gpc' | 'dnt',
  count: number,
): Entry {
  const header = signal === 'gpc' ? 'Sec-GPC: 1 (Global Privacy Control)' : 'DNT: 1 (Do Not Track)';
  return entry(
    at,
    site.id,
    'collect',
    origin,
    'privacy',
    count,
    signal,
    `not stored: the browser sends ${header}`,
    `nothing to fix: the visitor asked not to be tracked. A site that has its visitors' consent (its consent banner) sets sites.${site.id}.consent: true; to test, turn the signal off in the test browser`,
  );
}

/** A request refused whole once its site was known (a bad identity token, no valid event, …). */
export function requestRefusedEntry(
  at: number,
  site: string | null,
  source: LiveSource,
  origin: string | null,
  count: number,
  error: string,
  message: string,
  fix: string,
): Entry {
  return entry(at, site, source, origin, 'refused', count, error, `refused: ${message}`, fix);
}
