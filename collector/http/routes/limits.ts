/** Per-IP request limits of the browser endpoints: 429 with Retry-After. */
import type { Context, MiddlewareHandler } from 'hono';
import type { Config } from '../../config/config.ts';
import { addressGroup } from '../address-group.ts';
import { bearerToken, sitesForKey } from '../auth.ts';
import { clientIp, dailyHasher } from '../client-ip.ts';
import { fail } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { fixedWindow, type Limiter } from '../rate-limit.ts';

export interface RateLimits {
  /** Requests per minute from one IP address (0: no limit). */
  ipPerMinute: number;
  /** Batches per minute from one visitor id (0: no limit). */
  visitorPerMinute: number;
  /** Reverse proxies in front: the client address is X-Forwarded-For's hop that many from the right (0: the socket's). */
  trustProxy: number;
  /** Browser requests in flight at once from one address, IPv6 by /64 (0 or none: no limit). */
  connectionsPerIp?: number;
  now?: () => number;
}

/** The defaults: generous for an office behind one NAT, tight for one visitor's tab. */
export const DEFAULT_LIMITS: RateLimits = {
  ipPerMinute: 1200,
  visitorPerMinute: 120,
  trustProxy: 0,
  connectionsPerIp: 64,
};

export function tooMany(c: Context, retryAfter: number, what: string) {
  c.header('Retry-After', String(retryAfter));
  return fail(
    c,
    429,
    'rate_limited',
    `too many requests from this ${what}; retry after ${retryAfter} s`,
  );
}

/**
 * The guard of the browser endpoints, one middleware for both of their per-address limits (each
 * layer of Hono's chain is a promise and a closure per request; the address is grouped once):
 * - at most `connectionsPerIp` browser requests in flight per address (IPv6 by /64): a request
 *   past it is answered 429 at once and its connection closed, before its body is read. The count
 *   lives only while requests are open, so the map is bounded by the requests in flight;
 * - at most `ipPerMinute` requests per address. `cors` grants the page its answer: a 429 it can
 *   read makes the snippet wait, not retry at once.
 *
 * `exempt` lets a request past both: a site's own server reading its visitors' segments
 * (`microseg/client`) sends them all from one address, with the site's API key — it is not a
 * browser, and holding the key it could write through `/v1/events` anyway.
 */
export function browserGuard(
  limits: RateLimits,
  metrics: Metrics,
  cors: (c: Context) => void,
  /** Told of each 429 (the dashboard's live feed). */
  limited: (c: Context, scope: 'address' | 'connections') => void = () => {},
  exempt: (c: Context) => boolean = () => false,
): MiddlewareHandler {
  const cap = limits.connectionsPerIp ?? 0;
  const open = new Map<string, number>();
  const now = limits.now ?? Date.now;
  const hash = dailyHasher();
  const perIp: Limiter | null =
    limits.ipPerMinute > 0 ? fixedWindow(limits.ipPerMinute, 60_000) : null;
  return async (c, next) => {
    if ((cap <= 0 && !perIp) || exempt(c)) return next();
    const key = addressGroup(clientIp(c, limits.trustProxy));
    const n = open.get(key) ?? 0;
    if (cap > 0 && n >= cap) {
      metrics.rateLimited.inc({ scope: 'connections' });
      limited(c, 'connections');
      c.header('Connection', 'close');
      c.header('Retry-After', '1');
      return fail(
        c,
        429,
        'too_many_connections',
        `at most ${cap} requests at once from one address; retry after 1 s`,
      );
    }
    if (perIp && c.req.method !== 'OPTIONS') {
      const t = now();
      const wait = perIp.hit(hash(key, t), t);
      if (wait > 0) {
        metrics.rateLimited.inc({ scope: 'ip' });
        limited(c, 'address');
        cors(c);
        return tooMany(c, wait, 'address');
      }
    }
    if (cap <= 0) return next();
    open.set(key, n + 1);
    try {
      await next();
    } finally {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    }
  };
}

/** Per-visitor limiter, applied once the visitor id is known from the body. */
export function visitorLimiter(limits: RateLimits | undefined): Limiter | null {
  return limits && limits.visitorPerMinute > 0
    ? fixedWindow(limits.visitorPerMinute, 60_000)
    : null;
}

/**
 * Whether the request carries an API key of the site its query names (`?site=`): the site's own
 * server. A browser never sends `Authorization`, so it pays nothing for the check; a wrong key,
 * or a key of another site, is counted like any browser.
 */
export function siteServer(config: Config): (c: Context) => boolean {
  return (c) => {
    const site = c.req.query('site');
    const key = site === undefined ? undefined : bearerToken(c);
    return key !== undefined && site !== undefined && sitesForKey(config, key).has(site);
  };
}
