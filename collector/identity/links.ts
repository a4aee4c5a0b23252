/**
 * Email links. A signed link `COLLECTOR/r?site=…&to=…&t=…&sig=…` goes through the redirect;
 * a plain link is the target itself with `utm_*`, `ms_cat` and `ms_t` appended.
 *
 * The signature is HMAC-SHA256 (RFC 2104, node:crypto) over an unambiguous encoding of every
 * field `/r` acts on (site, target, identity token, category, campaign, medium, source),
 * prefixed by the key id and truncated to 128 bits.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { LIMITS } from '../../shared/limits.ts';
import type { SiteConfig } from '../config/config.ts';
import { findKey, KEY_ID_BYTES, type KeyRing } from './keys.ts';
import { checkTarget } from './targets.ts';
import { contactIdSchema, issueIdentityToken } from './token.ts';
import { DAY } from '../engine/config.ts';
import type { Failure } from '../result.ts';

/** Lifetime of a link's identity token when none is asked for: emails are opened weeks later. */
export const DEFAULT_LINK_TTL_DAYS = 30;
export const MAX_LINK_TTL_DAYS = 365;
/** The `ms_t` a redirect hands the landing page is read once, on arrival: it needs no long life. */
export const ARRIVAL_TOKEN_TTL_MS = DAY;
const MAC_BYTES = 16;

/** The query parameter names of `/r`. */
export const P = {
  site: 'site',
  to: 'to',
  token: 't',
  sig: 'sig',
  category: 'ms_cat',
  campaign: 'utm_campaign',
  medium: 'utm_medium',
  source: 'utm_source',
} as const;

const utmValue = z.string().min(1).max(LIMITS.propValueLength);

/** One link request, as the CLI and `POST /v1/links` take it. */
export const linkInput = z
  .object({
    contact: contactIdSchema,
    to: z.string().min(1).max(LIMITS.urlLength),
    category: z.string().min(1).max(LIMITS.categoryLength).optional(),
    campaign: utmValue.optional(),
    medium: utmValue.optional(),
    source: utmValue.optional(),
    ttlDays: z.number().positive().max(MAX_LINK_TTL_DAYS).optional(),
  })
  .strict();

export type LinkInput = z.infer<typeof linkInput>;

/** What a verified link asks `/r` to do. */
export interface LinkFields {
  site: string;
  to: string;
  token: string;
  category?: string | undefined;
  campaign?: string | undefined;
  medium?: string | undefined;
  source?: string | undefined;
}

function mac(key: Buffer, f: LinkFields): Buffer {
  // A JSON array: no two different field lists encode alike.
  const text = JSON.stringify([
    'microseg-link-v1',
    f.site,
    f.to,
    f.token,
    f.category ?? '',
    f.campaign ?? '',
    f.medium ?? '',
    f.source ?? '',
  ]);
  return createHmac('sha256', key).update(text).digest().subarray(0, MAC_BYTES);
}

export function signLink(ring: KeyRing, f: LinkFields): string {
  return Buffer.concat([ring.current.id, mac(ring.current.link, f)]).toString('base64url');
}

export function verifyLinkSignature(ring: KeyRing, f: LinkFields, sig: string): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(sig)) return false;
  const raw = Buffer.from(sig, 'base64url');
  if (raw.length !== KEY_ID_BYTES + MAC_BYTES || raw.toString('base64url') !== sig) return false;
  const key = findKey(ring, raw.subarray(0, KEY_ID_BYTES));
  return key !== undefined && timingSafeEqual(raw.subarray(KEY_ID_BYTES), mac(key.link, f));
}

/**
 * Reads the link fields of a `/r` query. Every parameter may appear at most once: two parsers
 * picking different copies of a repeated parameter is a classic signature bypass.
 */
export function readLinkQuery(q: URLSearchParams): { fields: LinkFields; sig: string } | undefined {
  const one = (name: string): string | undefined => {
    const all = q.getAll(name);
    if (all.length > 1) throw new Error('repeated');
    return all[0] === '' ? undefined : all[0];
  };
  try {
    const site = one(P.site);
    const to = one(P.to);
    const token = one(P.token);
    const sig = one(P.sig);
    if (!site || !to || !token || !sig) return undefined;
    const fields: LinkFields = {
      site,
      to,
      token,
      category: one(P.category),
      campaign: one(P.campaign),
      medium: one(P.medium),
      source: one(P.source),
    };
    return { fields, sig };
  } catch {
    return undefined;
  }
}

/** A made link, or why not (a `Failure` as every module's refusals). */
export type MadeLink = { ok: true; url: string } | Failure<'target_not_allowed'>;

/**
 * A link for one contact: signed through `collectorUrl`/r, or `plain` (the target with the
 * parameters appended). The target must be allowed for the site, as `/r` will check again.
 */
export function makeLink(
  ring: KeyRing,
  site: SiteConfig,
  collectorUrl: string,
  input: LinkInput,
  now: number,
  plain = false,
): MadeLink {
  const target = checkTarget(site, input.to, new Set([new URL(collectorUrl).origin]));
  if (!target.ok) return target;
  const exp = now + (input.ttlDays ?? DEFAULT_LINK_TTL_DAYS) * DAY;
  // A plain link's token goes straight to the page (identify); a signed link's only to `/r`.
  const purpose = plain ? 'identify' : 'link';
  const token = issueIdentityToken(ring, { site: site.id, contact: input.contact, exp, purpose });
  if (plain) return { ok: true, url: arrivalUrl(target.value, token, input) };

  const fields: LinkFields = {
    site: site.id,
    to: target.value.href,
    token,
    category: input.category,
    campaign: input.campaign,
    medium: input.medium,
    source: input.source,
  };
  // Relative to the base, so a collector served under a path prefix keeps it.
  const url = new URL('r', collectorUrl.endsWith('/') ? collectorUrl : `${collectorUrl}/`);
  url.searchParams.set(P.site, fields.site);
  url.searchParams.set(P.to, fields.to);
  for (const k of ['category', 'campaign', 'medium', 'source'] as const) {
    const v = fields[k];
    if (v !== undefined) url.searchParams.set(P[k], v);
  }
  url.searchParams.set(P.token, token);
  url.searchParams.set(P.sig, signLink(ring, fields));
  return { ok: true, url: url.href };
}

/** The landing URL: the target with campaign, category and identity token appended (ours win). */
export function arrivalUrl(
  target: URL,
  token: string,
  f: {
    category?: string | undefined;
    campaign?: string | undefined;
    medium?: string | undefined;
    source?: string | undefined;
  },
): string {
  const url = new URL(target.href);
  if (f.source) url.searchParams.set('utm_source', f.source);
  if (f.medium) url.searchParams.set('utm_medium', f.medium);
  if (f.campaign) url.searchParams.set('utm_campaign', f.campaign);
  if (f.category) url.searchParams.set('ms_cat', f.category);
  url.searchParams.set('ms_t', token);
  return url.href;
}
