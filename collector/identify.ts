/**
 * Identity at the storage edge: linking a visitor to a contact (merging its anonymous profile
 * once), ingesting for a visitor or a contact into the right profile with its traits, and
 * campaign attribution. No HTTP here; every write function runs inside one write-queue job.
 */
import type { Segment } from '../shared/segment.ts';
import type { SiteConfig } from './config.ts';
import { emptyProfile, evaluate } from './engine/index.ts';
import { claimAnonymousRows } from './erasure.ts';
import type { Meta } from './identity-store.ts';
import type { KeyRing } from './identity/keys.ts';
import { contactKey, verifyIdentityToken, VERIFY_MESSAGES, type VerifyFailure } from './identity/token.ts';
import {
  applyTraitPatch,
  mergeAttribution,
  tooManyTraits,
  touchesOf,
  type TraitPatch,
  type Traits,
} from './identity/traits.ts';
import type { IngestResult, NewEvent, Storage } from './storage.ts';

/** Whose events: a browser's visitor id, or a known contact (email clicks, backends). */
export type Who = { visitor: string } | { contact: string };

type Identified = { ok: true; contact: string } | { ok: false; reason: VerifyFailure; error: string; message: string };

export function checkToken(keys: KeyRing, site: SiteConfig, token: string, now: number): Identified {
  const v = verifyIdentityToken(keys, token, site.id, now);
  if (v.ok) return { ok: true, contact: v.contact };
  return { ok: false, reason: v.reason, error: v.reason === 'expired' ? 'expired_token' : 'invalid_token', message: VERIFY_MESSAGES[v.reason] };
}

const EMPTY_META: Meta = { traits: {}, first: null, last: null };

/**
 * Links `visitor` to `contact`. The first time, the visitor's anonymous profile, traits and
 * attribution fold into the contact's (the contact's own traits win), and the anonymous profile
 * is deleted, so nothing is counted twice. A visitor linked to another contact before (a shared
 * device) moves to the new one; what it did before stays with the old contact.
 */
export function linkVisitor(storage: Storage, site: SiteConfig, visitor: string, contact: string, now: number): void {
  const ids = storage.identity;
  ids.ensureContact(site.id, contact, now);
  const before = ids.contactOf(site.id, visitor);
  if (before === contact) return;
  const key = contactKey(contact);
  if (before === null) {
    const anon = ids.meta(site.id, visitor);
    const mine = ids.meta(site.id, key) ?? EMPTY_META;
    const merged: Meta = anon
      ? { traits: { ...anon.traits, ...mine.traits }, ...mergeAttribution(mine, anon) }
      : mine;
    if (anon) {
      ids.setMeta(site.id, key, merged, now);
      ids.deleteMeta(site.id, visitor);
    }
    storage.mergeProfile(site.id, visitor, key, site.engine, now, { traits: merged.traits });
    claimAnonymousRows(storage.db, site.id, visitor, contact);
  }
  ids.link(site.id, visitor, contact, now);
}

/** Applies a trait patch (or, with `replace`, sets all traits); undefined (nothing written) over the cap. */
export function patchTraits(storage: Storage, site: string, key: string, patch: TraitPatch, now: number, replace = false): Traits | undefined {
  const meta = storage.identity.meta(site, key) ?? EMPTY_META;
  const traits = applyTraitPatch(replace ? {} : meta.traits, patch);
  if (tooManyTraits(traits)) return undefined;
  // A proxy country on every batch: write only what changes.
  if (JSON.stringify(traits) === JSON.stringify(meta.traits)) return traits;
  storage.identity.setMeta(site, key, { ...meta, traits }, now);
  return traits;
}

function profileKey(storage: Storage, site: string, who: Who): { key: string; eventsAs: string; known: boolean } {
  if ('contact' in who) return { key: contactKey(who.contact), eventsAs: contactKey(who.contact), known: true };
  const subject = storage.identity.subject(site, who.visitor);
  return { key: subject.key, eventsAs: who.visitor, known: subject.contact !== null };
}

/**
 * Stores a batch for a visitor or a contact: into the linked contact's profile when there is one,
 * with the profile's traits for the rules, and updates first/last-touch attribution.
 */
export function ingestAs(storage: Storage, site: SiteConfig, who: Who, batch: NewEvent[], now: number): IngestResult {
  if ('contact' in who) storage.identity.ensureContact(site.id, who.contact, now);
  const { key, eventsAs, known } = profileKey(storage, site.id, who);
  const meta = storage.identity.meta(site.id, key);
  const res = storage.ingest(site.id, eventsAs, batch, site.engine, now, { traits: meta?.traits, profile: key });
  if (res.accepted > 0) {
    const touches = touchesOf(batch);
    if (touches.first) {
      const m = meta ?? EMPTY_META;
      storage.identity.setMeta(site.id, key, { ...m, ...mergeAttribution(m, touches) }, now);
    }
  }
  return { ...res, segment: { ...res.segment, known } };
}

/** The current segment of a visitor (its contact's when linked) or of a contact. */
export function segmentOf(storage: Storage, site: SiteConfig, who: Who, now: number): Segment {
  // A contact's own `c:` id reads its own profile (linked to itself or not at all).
  const visitor = 'contact' in who ? contactKey(who.contact) : who.visitor;
  const { stored, traits, contact } = storage.segmentInputs(site.id, visitor);
  const known = 'contact' in who || contact !== null;
  const profile = stored?.profile ?? { ...emptyProfile(now), lastSeen: 0 };
  return evaluate(profile, { site: site.id, visitor, known }, site.engine, now, { traits, rfm: storage.rfmBreakpoints(site.id) });
}

/**
 * A browser batch's identity work, before its events are stored (same write job): link the
 * visitor when the batch carried a valid token, then apply its public traits and proxy country.
 */
export function identifyBrowser(storage: Storage, site: SiteConfig, visitor: string, contact: string | null, patch: TraitPatch, now: number): void {
  if (contact !== null) linkVisitor(storage, site, visitor, contact, now);
  if (Object.keys(patch).length === 0) return;
  const key = storage.identity.subject(site.id, visitor).key;
  patchTraits(storage, site.id, key, patch, now);
}

/** Applies a trait patch (server events) to the profile of a visitor (its contact's when linked) or of a contact. */
export function setTraitsOf(storage: Storage, site: SiteConfig, who: Who, patch: TraitPatch, now: number): Traits | undefined {
  if ('contact' in who) storage.identity.ensureContact(site.id, who.contact, now);
  return patchTraits(storage, site.id, profileKey(storage, site.id, who).key, patch, now);
}
