/**
 * What stands between a browser and the dashboard: the session middleware (`requireSession`),
 * the CSRF check of every state-changing request (`requireCsrf`: same origin and the session's
 * token), the site a page is about (`pageSite`), and the wrong-key counter of the sign-in form.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { DASHBOARD } from '../../shared/limits.ts';
import type { Deps } from '../http/app.ts';
import { clientIp } from '../http/client-ip.ts';
import {
  csrfMatches,
  type DashSession,
  readSession,
  SESSION_COOKIE,
  sessionId,
  sitesOfTag,
} from './session.ts';

export type DashEnv = { Variables: { session: DashSession } };

/** The form field and header that carry the CSRF token. */
export const CSRF_FIELD = 'csrf';
export const CSRF_HEADER = 'x-csrf-token';

/**
 * Signed-in requests only: sets `c.var.session`. A session signed out (`dashboard_signouts`) is
 * refused like a missing one. A page (GET) without a valid session is sent to
 * the sign-in form; anything else gets 401.
 */
export function requireSession(deps: Deps): MiddlewareHandler<DashEnv> {
  return async (c, next) => {
    const token = readSession(deps.keys, getCookie(c, SESSION_COOKIE), deps.now());
    const sites = token ? sitesOfTag(deps.config, deps.keys, token.tag) : [];
    // A signed-out session is refused by every process: one indexed read per request, no cache,
    // so the very next request after a sign-out (in any process) is refused.
    const out = token !== undefined && (await deps.storage.signedOut(sessionId(token)));
    if (!token || sites.length === 0 || out) {
      if (c.req.method === 'GET' || c.req.method === 'HEAD')
        return c.redirect('/dashboard/login', 303);
      return c.text('sign in first: POST /dashboard/login', 401);
    }
    c.set('session', { ...token, sites });
    await next();
  };
}

/**
 * Whether `origin` is the dashboard's own: the request's host (the URL Node builds from `Host`;
 * a cross-site page cannot make a browser send another site's `Host`), the public URL's
 * (behind a proxy that rewrites `Host`), or one of the collector's own origins.
 */
function ownOrigin(c: Context, origin: string, deps: Deps): boolean {
  if (deps.publicUrl && new URL(deps.publicUrl).origin === origin) return true;
  if (deps.selfOrigins.has(origin)) return true;
  try {
    return new URL(origin).host === new URL(c.req.url).host;
  } catch {
    return false;
  }
}

/**
 * A state-changing request must come from a dashboard page: `Origin` is the dashboard's own, or
 * `Sec-Fetch-Site` (set by the browser, never by a page) says `same-origin`. Chromium sends
 * `Origin: null` for a form post from a page under `Referrer-Policy: no-referrer` (every
 * collector answer has it), so a `null` origin is let through only with `same-origin` fetch
 * metadata. A client that sends neither header is not a browser, which is all CSRF is about; it
 * still needs the session's token (`requireCsrf`).
 */
export function sameOrigin(c: Context, deps: Deps): boolean {
  const origin = c.req.header('origin');
  const site = c.req.header('sec-fetch-site');
  if (origin === 'null') return site === 'same-origin';
  if (origin !== undefined) return ownOrigin(c, origin, deps);
  return site === undefined || site === 'same-origin';
}

/**
 * POST, PUT, PATCH and DELETE need the same origin and the session's CSRF token, in the form
 * field `csrf` or the `X-CSRF-Token` header. Run after `requireSession`.
 */
export function requireCsrf(deps: Deps): MiddlewareHandler<DashEnv> {
  return async (c, next) => {
    if (['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) return next();
    if (!sameOrigin(c, deps))
      return c.text('refused: the request did not come from this dashboard', 403);
    let given = c.req.header(CSRF_HEADER);
    if (given === undefined && /form/.test(c.req.header('content-type') ?? '')) {
      const body = await c.req.parseBody();
      const field = body[CSRF_FIELD];
      if (typeof field === 'string') given = field;
    }
    if (!csrfMatches(c.var.session, given))
      return c.text('refused: the form is stale or was not sent by this dashboard; reload it', 403);
    await next();
  };
}

/** Wrong sign-in keys per client address, in fixed windows; bounded in memory. */
export function loginLimiter(
  limit: number = DASHBOARD.loginFailures,
  windowMs: number = DASHBOARD.loginWindowMs,
) {
  const failures = new Map<string, { start: number; n: number }>();
  const current = (ip: string, now: number) => {
    const f = failures.get(ip);
    return f && now - f.start < windowMs ? f : undefined;
  };
  return {
    /** Seconds to wait before another try from `ip` is looked at; 0: go ahead. */
    blocked(ip: string, now: number): number {
      const f = current(ip, now);
      return f && f.n >= limit ? Math.max(1, Math.ceil((f.start + windowMs - now) / 1000)) : 0;
    },
    failed(ip: string, now: number): void {
      const f = current(ip, now) ?? { start: now, n: 0 };
      f.n++;
      failures.delete(ip);
      failures.set(ip, f);
      if (failures.size > DASHBOARD.loginAddresses) {
        const oldest = failures.keys().next();
        if (!oldest.done) failures.delete(oldest.value);
      }
    },
  };
}

/** The address wrong keys are counted by (behind `MICROSEG_TRUST_PROXY` proxies, the client's). */
export const loginAddress = (c: Context, deps: Deps) => clientIp(c, deps.limits?.trustProxy ?? 0);

/** Whether the browser reached the dashboard over https (directly, or by a trusted proxy). */
export function overHttps(c: Context, deps: Deps): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  if (deps.publicUrl?.startsWith('https:')) return true;
  return (deps.limits?.trustProxy ?? 0) > 0 && c.req.header('x-forwarded-proto') === 'https';
}
