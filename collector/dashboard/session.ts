/**
 * The dashboard's session: a signed, self-contained cookie, so any collector process on the
 * database (`serve --workers N`, several hosts behind a balancer) accepts a session another one
 * issued, with no table and no shared memory. Its MAC key is derived (HKDF) from the collector's
 * signing keys (MICROSEG_SECRET, else the key file), so rotating the secret also ends sessions
 * signed with a retired key; several keys in the ring verify, the newest signs.
 *
 * The cookie carries no site and never the API key: only a tag of the key (an HMAC under the
 * session key), its expiry and a random CSRF token. The sites a session opens are worked out on
 * every request from the config's keys (`sitesOfTag`), so a key removed from the config ends its
 * sessions at once, and a key's sites grow or shrink with the config.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/config.ts';
import type { KeyRing, SigningKey } from '../identity/keys.ts';

export const SESSION_COOKIE = 'microseg_dashboard';
/** The cookie's path: the browser sends it to the dashboard only, never to `/v1/*` or the snippet. */
export const SESSION_PATH = '/dashboard';

/** What a valid cookie says. */
export interface SessionToken {
  /** The API key's tag (`keyTag`). */
  tag: string;
  /** Expiry, epoch ms. */
  exp: number;
  /** The session's CSRF token, echoed by every state-changing request. */
  csrf: string;
}

/** A signed-in request's session: the token and the sites it opens now (sorted, at least one). */
export interface DashSession extends SessionToken {
  sites: string[];
}

const sessionKeys = new WeakMap<SigningKey, Buffer>();

/** The session MAC key of a signing key: its own HKDF subkey, so it serves no other algorithm. */
function sessionKey(k: SigningKey): Buffer {
  let key = sessionKeys.get(k);
  if (key === undefined) {
    key = Buffer.from(hkdfSync('sha256', k.link, 'microseg', 'microseg dashboard session v1', 32));
    sessionKeys.set(k, key);
  }
  return key;
}

const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

/** Tags kept per session key and API key: the config's few keys are tagged once per process. */
const tags = new WeakMap<Buffer, Map<string, string>>();

/** The tag of an API key under a signing key: names the key in the cookie without revealing it. */
export function keyTag(k: SigningKey, apiKey: string): string {
  const skey = sessionKey(k);
  let kept = tags.get(skey);
  if (kept === undefined) {
    kept = new Map();
    tags.set(skey, kept);
  }
  let tag = kept.get(apiKey);
  if (tag === undefined) {
    tag = mac(skey, `api key\0${apiKey}`).subarray(0, 18).toString('base64url');
    // Bounded by the config's keys (a wrong key is never tagged: sign-in checks it first).
    kept.set(apiKey, tag);
  }
  return tag;
}

const equal = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The cookie value of a new session for `apiKey` (already checked to open a site). */
export function issueSession(
  ring: KeyRing,
  apiKey: string,
  now: number,
  lifeMs: number,
): { value: string; token: SessionToken } {
  const k = ring.current;
  const token: SessionToken = {
    tag: keyTag(k, apiKey),
    exp: now + lifeMs,
    csrf: randomBytes(18).toString('base64url'),
  };
  const body = Buffer.from(JSON.stringify({ t: token.tag, e: token.exp, x: token.csrf }));
  const signed = `v1.${body.toString('base64url')}.${k.id.toString('base64url')}`;
  return {
    value: `${signed}.${mac(sessionKey(k), signed).toString('base64url')}`,
    token,
  };
}

/** The cookie's token when its signature holds under a key of the ring and it has not expired. */
export function readSession(
  ring: KeyRing,
  value: string | undefined,
  now: number,
): SessionToken | undefined {
  if (!value || value.length > 512) return undefined;
  const parts = value.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1') return undefined;
  const [, body = '', kid = '', sig = ''] = parts;
  const k = ring.all.find((key) => key.id.toString('base64url') === kid);
  if (!k) return undefined;
  const expected = mac(sessionKey(k), `v1.${body}.${kid}`);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const p = parsed as { t?: unknown; e?: unknown; x?: unknown };
  if (typeof p.t !== 'string' || typeof p.e !== 'number' || typeof p.x !== 'string')
    return undefined;
  if (p.e <= now) return undefined;
  // A cookie signed by a retired key but tagged under the current one would not match; tags are
  // always recomputed under the key that signed it.
  return { tag: p.t, exp: p.e, csrf: p.x };
}

/** The sites whose config holds a key with this tag (under the ring's keys), sorted. */
export function sitesOfTag(config: Config, ring: KeyRing, tag: string): string[] {
  const sites: string[] = [];
  for (const site of config.sites.values()) {
    let ok = false;
    for (const apiKey of site.apiKeys)
      for (const k of ring.all) ok = equal(keyTag(k, apiKey), tag) || ok;
    if (ok) sites.push(site.id);
  }
  return sites.sort();
}

/** Constant-time comparison of a CSRF token given with a request and the session's. */
export function csrfMatches(session: SessionToken, given: string | undefined): boolean {
  return given !== undefined && equal(session.csrf, given);
}

/**
 * The session's id, what a sign-out records (`dashboard_signouts`): a hash of its random CSRF
 * token, so the table holds nothing a page could echo as a token.
 */
export function sessionId(session: SessionToken): string {
  return createHash('sha256').update(`session\0${session.csrf}`).digest('base64url');
}
