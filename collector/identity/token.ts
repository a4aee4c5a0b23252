/**
 * Identity tokens: `(site, contact, expiry)` sealed with AES-256-GCM, so the contact id cannot be
 * read from a URL (they leak through logs and referrers) and any edit fails authentication.
 *
 * Layout, base64url without padding:
 *   version (1) · key id (3) · IV (12) · ciphertext · GCM tag (16)
 * The version and key id are the associated data. The plaintext of version 2 is
 *   expiry in seconds (uint32 BE) · purpose (1) · grant (8) · site length (1) · site · contact (UTF-8)
 * Version 1 (before purposes) had no purpose and grant; it still verifies, as `legacy`, and only
 * `/r` accepts it (a link's `t` and a landing page's `ms_t` cannot be told apart in it).
 * The purpose keeps a link's `t` (good at `/r` only) from being an identity token for
 * `/v1/collect`; the grant names the link a token came from, so the devices one link may identify
 * are counted across the `ms_t`s its redirects hand out (docs/email-links.md).
 * A random 96-bit IV per token is safe far beyond any email volume (NIST: 2^32 messages per key).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { LIMITS } from '../../shared/limits.ts';
import { findKey, KEY_ID_BYTES, type KeyRing } from './keys.ts';

const VERSION = 2;
const LEGACY_VERSION = 1;
const HEADER = 1 + KEY_ID_BYTES;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Longest token string accepted before any decoding work (the wire allows 1024). */
export const MAX_TOKEN_LENGTH = 512;

const GRANT_BYTES = 8;

/**
 * What a token is good for: `link`, the `t` of a signed `/r` link (only `/r` takes it);
 * `identify`, an `ms_t` or `microseg.identify(token)` (only `/v1/collect` takes it). `legacy`:
 * a version-1 token, made before purposes existed.
 */
export type TokenPurpose = 'link' | 'identify' | 'legacy';
const PURPOSE_BYTE = { link: 1, identify: 2 } as const;
const PURPOSE_OF: Record<number, TokenPurpose> = { 1: 'link', 2: 'identify' };

export interface IdentityClaims {
  site: string;
  contact: string;
  /** Expiry, epoch ms (stored at second precision, rounded down). */
  exp: number;
  /** Default `identify`. */
  purpose?: 'link' | 'identify';
  /** The link this token comes from (11 base64url characters); a fresh random one when omitted. */
  grant?: string;
}

export type VerifyFailure = 'malformed' | 'invalid' | 'expired' | 'wrong_site';
export type VerifiedIdentity =
  | { ok: true; contact: string; exp: number; purpose: TokenPurpose; grant: string }
  | { ok: false; reason: VerifyFailure };

export const VERIFY_MESSAGES: Record<VerifyFailure, string> = {
  malformed: 'the identity token is not a token',
  invalid: 'the identity token failed verification (edited, forged, or made with an unknown key)',
  expired: 'the identity token has expired',
  wrong_site: 'the identity token was made for another site',
};

/** A contact id: 1–64 characters, no control characters (emails and CRM ids fit). */
export function validContactId(s: unknown): s is string {
  return (
    typeof s === 'string' &&
    s.length > 0 &&
    s.length <= LIMITS.idLength &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    !/[\u0000-\u001f\u007f]/.test(s)
  );
}

/** What a contact id must be, for refusals. */
export const CONTACT_ID_RULE = `1–${LIMITS.idLength} characters, no control characters`;

/** A contact id in a request body (`/v1/events`, `/v1/links`, the CLI's links). */
export const contactIdSchema = z.string().refine(validContactId, CONTACT_ID_RULE);

export function issueIdentityToken(ring: KeyRing, claims: IdentityClaims): string {
  const site = Buffer.from(claims.site, 'utf8');
  if (site.length === 0 || site.length > 255) throw new RangeError('site id must be 1–255 bytes');
  if (!validContactId(claims.contact)) throw new RangeError('invalid contact id');
  const expSeconds = Math.floor(claims.exp / 1000);
  if (!(expSeconds > 0 && expSeconds <= 0xffffffff)) throw new RangeError('expiry out of range');
  const grant =
    claims.grant === undefined ? randomBytes(GRANT_BYTES) : Buffer.from(claims.grant, 'base64url');
  if (grant.length !== GRANT_BYTES) throw new RangeError('grant must be 8 bytes');
  const head = Buffer.alloc(4 + 1 + GRANT_BYTES + 1);
  head.writeUInt32BE(expSeconds, 0);
  head.writeUInt8(PURPOSE_BYTE[claims.purpose ?? 'identify'], 4);
  grant.copy(head, 5);
  head.writeUInt8(site.length, 5 + GRANT_BYTES);
  const plain = Buffer.concat([head, site, Buffer.from(claims.contact, 'utf8')]);

  const key = ring.current;
  const header = Buffer.concat([Buffer.from([VERSION]), key.id]);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.token, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([header, iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** Opens a token for `site` at time `now`; fails closed with a reason on anything else. */
export function verifyIdentityToken(
  ring: KeyRing,
  token: string,
  site: string,
  now: number,
): VerifiedIdentity {
  if (
    typeof token !== 'string' ||
    token.length > MAX_TOKEN_LENGTH ||
    !/^[A-Za-z0-9_-]+$/.test(token)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const raw = Buffer.from(token, 'base64url');
  // Node's decoder ignores stray trailing bits; only the canonical spelling is the token.
  if (raw.toString('base64url') !== token) return { ok: false, reason: 'malformed' };
  const version = raw[0];
  const fixed = version === VERSION ? 4 + 1 + GRANT_BYTES + 1 : 4 + 1;
  if (
    (version !== VERSION && version !== LEGACY_VERSION) ||
    raw.length < HEADER + IV_BYTES + fixed + 1 + TAG_BYTES
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const key = findKey(ring, raw.subarray(1, HEADER));
  if (!key) return { ok: false, reason: 'invalid' };

  let plain: Buffer;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      key.token,
      raw.subarray(HEADER, HEADER + IV_BYTES),
      {
        authTagLength: TAG_BYTES,
      },
    );
    decipher.setAAD(raw.subarray(0, HEADER));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    plain = Buffer.concat([
      decipher.update(raw.subarray(HEADER + IV_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  // Authentic from here on: the layout was written by issueIdentityToken.
  const exp = plain.readUInt32BE(0) * 1000;
  let purpose: TokenPurpose = 'legacy';
  // A version-1 token's grant is the start of its random IV: unique per token, like a grant.
  let grant: Buffer = raw.subarray(HEADER, HEADER + GRANT_BYTES);
  if (version === VERSION) {
    const p = PURPOSE_OF[plain.readUInt8(4)];
    if (!p) return { ok: false, reason: 'invalid' };
    purpose = p;
    grant = plain.subarray(5, 5 + GRANT_BYTES);
  }
  const siteLength = plain.readUInt8(fixed - 1);
  const tokenSite = plain.subarray(fixed, fixed + siteLength).toString('utf8');
  const contact = plain.subarray(fixed + siteLength).toString('utf8');
  if (tokenSite !== site) return { ok: false, reason: 'wrong_site' };
  if (now >= exp) return { ok: false, reason: 'expired' };
  return { ok: true, contact, exp, purpose, grant: Buffer.from(grant).toString('base64url') };
}

/**
 * A contact's profile lives in `profiles` under this reserved id: visitor ids are letters, digits,
 * `-` and `_` only, so no visitor can ever collide with a contact.
 */
export function contactKey(contact: string): string {
  return `c:${contact}`;
}

/** The contact whose profile id this is; null for a visitor's own profile. */
export function contactOfKey(key: string): string | null {
  return key.startsWith('c:') ? key.slice(2) : null;
}
