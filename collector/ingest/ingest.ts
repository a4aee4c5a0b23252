/** From a parsed browser batch to stored events and a fresh segment: no HTTP here. */
import type { CollectResponse } from '../../shared/wire.ts';
import { arrivalOf } from './arrival.ts';
import type { SiteConfig } from '../config/config.ts';
import { matchCategory } from '../config/category-rules.ts';
import { ingestAs, segmentOf } from '../identity/identify.ts';
import type { NewEvent, StorageReads, StorageTx } from '../storage/contract.ts';
import { validateEvents } from './validate.ts';
import type { BotReason } from './bots.ts';
import type { Segment } from '../../shared/segment.ts';

/**
 * Page views take their campaign (`utm_*`) and an email link's category (`ms_cat`, which wins
 * over the page's own) from their URL; without a category, one from the site's URL rules.
 * `uncategorized` hears the path of a page view no rule matched (a site with rules only), so the
 * caller can say which rule is missing.
 */
export function categorize(
  site: SiteConfig,
  e: NewEvent,
  uncategorized?: (path: string) => void,
): NewEvent {
  if (e.type !== 'page_view' && e.type !== 'screen_view') return e;
  const arrival = arrivalOf(e.url);
  const utm = e.utm ? undefined : arrival.utm;
  let category = arrival.category;
  if (!category && !e.category && e.url && site.categories.length > 0) {
    const match = matchCategory(site.categories, e.url);
    category = match?.rule?.category;
    if (match && !match.rule) uncategorized?.(match.path);
  }
  if (!utm && !category) return e;
  // One copy, however many fields change.
  const out = { ...e };
  if (utm) out.utm = utm;
  if (category) out.category = category;
  return out;
}

/**
 * The visitor's segment now (its contact's, `known: true`, once linked); a visitor never seen
 * gets the segment of an empty profile.
 */
export function segmentFor(
  storage: StorageReads,
  site: SiteConfig,
  visitor: string,
  now: number,
): Promise<Segment> {
  return segmentOf(storage, site, { visitor }, now);
}

/**
 * Validates, quarantines what is refused, stores the rest. Bot traffic is stored flagged and
 * answered without a segment: it never shapes one. Runs inside one write job (its `tx`).
 */
export async function ingestBatch(
  tx: StorageTx,
  site: SiteConfig,
  visitor: string,
  rawEvents: unknown[],
  now: number,
  bot: BotReason = null,
  uncategorized?: (path: string) => void,
): Promise<CollectResponse> {
  const { valid, refused } = validateEvents(rawEvents, now);
  const rows = refused.map((r) => ({ visitor, refused: r, raw: rawEvents[r.index] }));
  await tx.keepRefused(site.id, 'collect', rows, now, site.quarantine);
  const flags = bot ? { bot } : {};
  if (valid.length === 0) {
    return {
      accepted: 0,
      duplicates: 0,
      refused,
      ...flags,
      segment: bot ? null : await segmentFor(tx, site, visitor, now),
    };
  }
  // Bots probe paths no rule is meant for: their misses would only hide the site's own.
  const batch = valid.map((e) =>
    bot ? { ...categorize(site, e), bot: true } : categorize(site, e, uncategorized),
  );
  const res = await ingestAs(tx, site, { visitor }, batch, now);
  return {
    accepted: res.accepted,
    duplicates: res.duplicates,
    refused,
    ...flags,
    segment: bot ? null : res.segment,
  };
}
