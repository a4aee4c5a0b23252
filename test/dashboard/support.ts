/**
 * Dashboard test support: sign in through the real form (`POST /dashboard/login`) and carry the
 * session cookie and its CSRF token on later requests, under `app.request()` or a real server.
 */
import type { Hono } from 'hono';
import type { ConfigFile } from '../../collector/config/config.ts';

/** The API key of the built-in `demo` site in tests (`testApp` sets it in the config). */
export const DEMO_KEY = 'dash-test-key-0123456789';

/** Two sites, a key for each and one opening both: what the scoping tests sign in with. */
export const KEY_A = 'site-a-key-0123456789';
export const KEY_B = 'site-b-key-0123456789';
export const KEY_AB = 'both-sites-key-0123456789';
export const TWO_SITES = {
  sites: {
    a: { origins: ['https://a.example'], apiKeys: [KEY_A, KEY_AB] },
    b: { origins: ['https://b.example'], apiKeys: [KEY_B, KEY_AB] },
  },
} as ConfigFile;

export interface Signed {
  /** The `Cookie` header value. */
  cookie: string;
  /** The session's CSRF token, as the pages carry it. */
  csrf: string;
  /** The raw `Set-Cookie` header of the sign-in. */
  setCookie: string;
}

type Requester = Pick<Hono, 'request'> | { base: string };

/** A request to `path` of an app (`app.request`) or a running collector (`{ base }`). */
export async function dashRequest(
  target: Requester,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  if ('base' in target) return fetch(new URL(path, target.base), { redirect: 'manual', ...init });
  return target.request(path, init);
}

/** Signs in with `key` as a browser would (the form, same origin); throws unless it worked. */
export async function signIn(target: Requester, key: string): Promise<Signed> {
  const origin = 'base' in target ? new URL(target.base).origin : 'http://localhost';
  const res = await dashRequest(target, '/dashboard/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
    body: new URLSearchParams({ key }).toString(),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  if (res.status !== 303 || !setCookie) throw new Error(`sign-in failed: ${res.status}`);
  const cookie = setCookie.split(';')[0] ?? '';
  const home = await dashRequest(target, '/dashboard/', { headers: { cookie } });
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(await home.text())?.[1];
  if (!csrf) throw new Error('no csrf token on the overview page');
  return { cookie, csrf, setCookie };
}
