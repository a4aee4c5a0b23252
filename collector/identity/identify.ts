/**
 * Identity at the storage edge: linking a visitor to a contact (merging its anonymous profile
 * once), ingesting for a visitor or a contact into the right profile with its traits, and
 * campaign attribution. No HTTP here; every write function takes the `tx` of one write job.
 */
import {
  type BrowserSegment,
  type GoalScore,
  pageFacts,
  type Segment,
} from '../../shared/segment.ts';
import type { SiteConfig } from '../config/config.ts';
import { DAY } from '../engine/config.ts';
import {
  type EngineConfig,
  emptyProfile,
  evaluate,
  type RfmBreakpoints,
  stableUntil,
} from '../engine/index.ts';
import { digest } from '../http/digest.ts';
import type { KeyRing } from './keys.ts';
import { contactKey, verifyIdentityToken, VERIFY_MESSAGES, type VerifyFailure } from './token.ts';
import {
  applyTraitPatch,
  mergeAttribution,
  tooManyTraits,
  touchesOf,
  type TraitPatch,
  type Traits,
} from './traits.ts';
import type {
  IngestResult,
  Meta,
  NewEvent,
  SegmentInputs,
  StorageReads,
  StorageTx,
} from '../storage/contract.ts';
import { type Failure, type Result, success } from '../result.ts';

type ProfileKey = { key: string; eventsAs: string; known: boolean };

/** Whose events: a browser's visitor id, or a known contact (email clicks, backends). */
export type Who = { visitor: string } | { contact: string };

type Identified = Result<
  { contact: string; grant: string },
  Failure & { reason: VerifyFailure | 'wrong_purpose' }
>;

/**
 * Checks a token a browser sent to identify itself. Only an `identify` token (an `ms_t`) does: a
 * signed link's `t` is good at `/r` only, and a version-1 token cannot say which of the two it
 * is, so neither links anyone (`wrong_purpose`; the batch is stored, as with an expired token).
 */
export function checkToken(
  keys: KeyRing,
  site: SiteConfig,
  token: string,
  now: number,
): Identified {
  const v = verifyIdentityToken(keys, token, site.id, now);
  if (v.ok && v.purpose === 'identify') return success({ contact: v.contact, grant: v.grant });
  if (v.ok) {
    const message =
      v.purpose === 'link'
        ? "the token is an email link's own (t), good at /r only; the page's token is the ms_t /r hands it"
        : 'the token was made before tokens carried their purpose; follow a newer link';
    return { ok: false, reason: 'wrong_purpose', error: 'wrong_purpose', message };
  }
  return {
    ok: false,
    reason: v.reason,
    error: v.reason === 'expired' ? 'expired_token' : 'invalid_token',
    message: VERIFY_MESSAGES[v.reason],
  };
}

/** What identify did with a valid token. */
export type LinkOutcome = 'linked' | 'renewed' | 'linked_elsewhere' | 'device_limit';

export const LINK_REFUSALS: Record<
  'linked_elsewhere' | 'device_limit',
  (site: SiteConfig) => string
> = {
  linked_elsewhere: () =>
    'this browser is linked to another contact until its link lapses; it was not moved',
  device_limit: (site) =>
    `this email link has already identified ${site.identity.devicesPerLink} browsers`,
};

const EMPTY_META: Meta = { traits: {}, first: null, last: null };

/**
 * Links `visitor` to `contact` for `identity.linkDays`, by the email link `grant` (docs/email-links.md):
 * - a visitor linked (in force) to another contact is not moved (`linked_elsewhere`);
 * - one grant identifies at most `identity.devicesPerLink` visitors (`device_limit`);
 * - a visitor not linked in force (never, or lapsed) folds its anonymous profile, traits and
 *   attribution into the contact's (the contact's own traits win), and the anonymous profile is
 *   deleted, so nothing is counted twice;
 * - a visitor linked to this contact already is renewed: its link runs `linkDays` from now.
 */
export async function linkVisitor(
  tx: StorageTx,
  site: SiteConfig,
  visitor: string,
  contact: string,
  grant: string,
  now: number,
): Promise<LinkOutcome> {
  const ids = tx.identity;
  const before = await ids.linkOf(site.id, visitor);
  const inForce = before !== null && before.expires > now;
  if (inForce && before.contact !== contact) return 'linked_elsewhere';
  const newDevice = before?.grant !== grant;
  if (
    newDevice &&
    (await ids.grantDevices(site.id, grant, visitor)) >= site.identity.devicesPerLink
  )
    return 'device_limit';
  await ids.ensureContact(site.id, contact, now);
  const key = contactKey(contact);
  if (!inForce) {
    const anon = await ids.meta(site.id, visitor);
    const mine = (await ids.meta(site.id, key)) ?? EMPTY_META;
    const merged: Meta = anon
      ? { traits: { ...anon.traits, ...mine.traits }, ...mergeAttribution(mine, anon) }
      : mine;
    if (anon) {
      await ids.setMeta(site.id, key, merged, now);
      await ids.deleteMeta(site.id, visitor);
    }
    await tx.mergeProfile(site.id, visitor, key, site.engine, now, { traits: merged.traits });
    await ids.claimAnonymousRows(site.id, visitor, contact);
  }
  await ids.link(site.id, visitor, contact, grant, now + site.identity.linkDays * DAY, now);
  return inForce ? 'renewed' : 'linked';
}

/** Applies a trait patch (or, with `replace`, sets all traits); undefined (nothing written) over the cap. */
export async function patchTraits(
  tx: StorageTx,
  site: string,
  key: string,
  patch: TraitPatch,
  now: number,
  replace = false,
): Promise<Traits | undefined> {
  const meta = (await tx.identity.meta(site, key)) ?? EMPTY_META;
  const traits = applyTraitPatch(replace ? {} : meta.traits, patch);
  if (tooManyTraits(traits)) return undefined;
  // A proxy country on every batch: write only what changes.
  if (JSON.stringify(traits) === JSON.stringify(meta.traits)) return traits;
  await tx.identity.setMeta(site, key, { ...meta, traits }, now);
  return traits;
}

async function profileKey(
  storage: StorageReads,
  site: string,
  who: Who,
  now: number,
): Promise<ProfileKey> {
  if ('contact' in who)
    return { key: contactKey(who.contact), eventsAs: contactKey(who.contact), known: true };
  const subject = await storage.identity.subject(site, who.visitor, now);
  return { key: subject.key, eventsAs: who.visitor, known: subject.contact !== null };
}

/**
 * Stores a batch for a visitor or a contact: into the linked contact's profile when there is one,
 * with the profile's traits for the rules, and updates first/last-touch attribution. Which
 * profile, and its traits, `tx.ingestSubject` finds in the same step as it stores the batch.
 */
export async function ingestAs(
  tx: StorageTx,
  site: SiteConfig,
  who: Who,
  batch: NewEvent[],
  now: number,
): Promise<IngestResult> {
  if ('contact' in who) await tx.identity.ensureContact(site.id, who.contact, now);
  const {
    result: res,
    key,
    known,
    meta,
  } = await tx.ingestSubject(site.id, who, batch, site.engine, now);
  if (res.accepted > 0) {
    const touches = touchesOf(batch);
    if (touches.first) {
      const m = meta ?? EMPTY_META;
      await tx.identity.setMeta(site.id, key, { ...m, ...mergeAttribution(m, touches) }, now);
    }
  }
  return { ...res, segment: { ...res.segment, known } };
}

/**
 * A segment as evaluated from one cache entry's inputs, kept on that entry until the next time
 * boundary it can cross (`stableUntil`): a read in between answers the same without evaluating.
 * Everything else the answer depends on is compared: the site's config (its engine, rules and
 * browser view), who asks (visitor id and whether it is known) and the site's RFM quintiles. A
 * write drops the entry and the memo with it (storage.ts).
 */
interface SegmentMemo {
  site: SiteConfig;
  /** The site's engine when computed: a runtime rule saved since replaces it (rules/runtime.ts). */
  engine: EngineConfig;
  visitor: string;
  known: boolean;
  rfm: RfmBreakpoints | null;
  /** Valid for `from <= now < until`: a clock set back is not trusted to the memo. */
  from: number;
  until: number;
  segment: Segment;
  /** The browser's view of it as sent (`forBrowser`, JSON) and its ETag, made on first use. */
  browser?: BrowserAnswer;
}

/** The id whose segment a read asks for: a contact's own `c:` id reads its own profile. */
const readAs = (who: Who) => ('contact' in who ? contactKey(who.contact) : who.visitor);

/**
 * The memo of a read's inputs (one await in all: the read path runs once a request, so each
 * promise hop on it shows in the requests per second).
 */
function memoOf(inputs: SegmentInputs, site: SiteConfig, who: Who, now: number): SegmentMemo {
  const visitor = readAs(who);
  const { stored, traits, contact, entry, rfm } = inputs;
  const known = 'contact' in who || contact !== null;
  const memo = entry.memo as SegmentMemo | undefined;
  if (
    memo !== undefined &&
    memo.site === site &&
    memo.engine === site.engine &&
    memo.visitor === visitor &&
    memo.known === known &&
    memo.rfm === rfm &&
    memo.from <= now &&
    now < memo.until
  )
    return memo;
  // A visitor never seen reads an empty profile (first seen now; that moves nothing: no events).
  const profile = stored?.profile ?? { ...emptyProfile(now), lastSeen: 0 };
  const extras = { traits, rfm };
  const fresh: SegmentMemo = {
    site,
    engine: site.engine,
    visitor,
    known,
    rfm,
    from: now,
    // Not kept (a first read, the cache off): good for this read only, no boundary to look for.
    until: entry.kept ? stableUntil(profile, site.engine, now, extras) : now + 1,
    segment: evaluate(profile, { site: site.id, visitor, known }, site.engine, now, extras),
  };
  if (entry.kept) entry.memo = fresh;
  return fresh;
}

/**
 * The current segment of a visitor (its contact's when linked) or of a contact. Shared with the
 * read cache's memo: never mutate it (copy it, as `forBrowser` does).
 */
export async function segmentOf(
  storage: StorageReads,
  site: SiteConfig,
  who: Who,
  now: number,
): Promise<Segment> {
  const inputs = await storage.segmentInputs(site.id, readAs(who), now);
  return memoOf(inputs, site, who, now).segment;
}

/**
 * What `GET /v1/segment` sends: the browser's view of a segment as JSON and its ETag, and a slot
 * for the route to keep the answer's headers in (for the last origin asked), all kept as long as
 * the segment is.
 */
export interface BrowserAnswer {
  readonly body: string;
  readonly etag: string;
  headers?: { origin: string | undefined; value: Readonly<Record<string, string>> };
}

/**
 * The browser's answer for a visitor's segment now (see BrowserAnswer), from the read's inputs
 * (`storage.segmentInputs`): the caller awaits the read itself, one promise less on the hot path.
 */
export function browserAnswerOf(
  inputs: SegmentInputs,
  site: SiteConfig,
  visitor: string,
  now: number,
): BrowserAnswer {
  const memo = memoOf(inputs, site, { visitor }, now);
  if (memo.browser === undefined) {
    const body = JSON.stringify(forBrowser(site, memo.segment));
    // The segment moves with time alone (windows, thresholds): the tag is of the answer itself.
    memo.browser = { body, etag: `"${digest('sha1', body)}"` };
  }
  return memo.browser;
}

/**
 * A browser batch's identity work, before its events are stored (same write job): link the
 * visitor when the batch carried a valid token, then apply its public traits and proxy country.
 */
export async function identifyBrowser(
  tx: StorageTx,
  site: SiteConfig,
  visitor: string,
  id: { contact: string; grant: string } | null,
  patch: TraitPatch,
  now: number,
): Promise<LinkOutcome | null> {
  const outcome =
    id === null ? null : await linkVisitor(tx, site, visitor, id.contact, id.grant, now);
  if (Object.keys(patch).length === 0) return outcome;
  const key = (await tx.identity.subject(site.id, visitor, now)).key;
  await patchTraits(tx, site.id, key, patch, now);
  return outcome;
}

/** Applies a trait patch (server events) to the profile of a visitor (its contact's when linked) or of a contact. */
export async function setTraitsOf(
  tx: StorageTx,
  site: SiteConfig,
  who: Who,
  patch: TraitPatch,
  now: number,
): Promise<Traits | undefined> {
  if ('contact' in who) await tx.identity.ensureContact(site.id, who.contact, now);
  const { key } = await profileKey(tx, site.id, who, now);
  return patchTraits(tx, site.id, key, patch, now);
}

/** The goals a browser may see (those marked `public`), or undefined for none. */
function publicGoals(
  engine: EngineConfig,
  goals: Record<string, GoalScore>,
): Record<string, GoalScore> | undefined {
  let out: Record<string, GoalScore> | undefined;
  for (const g of engine.goals ?? [])
    if (g.public && Object.hasOwn(goals, g.name)) {
      out ??= {};
      const score = goals[g.name];
      if (score) out[g.name] = score;
    }
  return out;
}

/**
 * A segment as a browser may see it (`/v1/collect`'s answer, `GET /v1/segment`): without the
 * custom segments that read private facts (unless the rule is `public`), and without `rfm` and
 * `cooldown` (they tell what a contact spent) unless the site lists them in `browserReveals`, and
 * without the goals' probabilities but those of goals marked `public`.
 * The API-key endpoints and webhooks keep the full segment. With the page facts the snippet applies
 * as they are (`PageFacts`).
 */
export function forBrowser(site: SiteConfig, segment: Segment): BrowserSegment {
  const hidden = site.browser.hiddenSegments;
  const segments =
    hidden.size > 0 ? segment.segments.filter((s) => !hidden.has(s)) : segment.segments;
  const seen: Segment = {
    ...segment,
    rfm: site.browser.rfm ? segment.rfm : null,
    cooldown: site.browser.cooldown ? segment.cooldown : false,
    segments,
  };
  if (segment.goals) {
    const shown = publicGoals(site.engine, segment.goals);
    if (shown) seen.goals = shown;
    else delete seen.goals;
  }
  // The page facts come from what the browser may see, so they reveal nothing more.
  return { ...seen, ...pageFacts(seen) };
}
