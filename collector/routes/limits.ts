/** Per-IP request limits of the browser endpoints: 429 with Retry-After. */
import type { Context, MiddlewareHandler } from 'hono';
import { addressGroup } from '../address-group.ts';
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
  now?: () => number;
}

/** The defaults: generous for an office behind one NAT, tight for one visitor's tab. */
export const DEFAULT_LIMITS: RateLimits = { ipPerMinute: 1200, visitorPerMinute: 120, trustProxy: 0 };

export function tooMany(c: Context, retryAfter: number, what: string) {
  c.header('Retry-After', String(retryAfter));
  return fail(c, 429, 'rate_limited', `too many requests from this ${what}; retry after ${retryAfter} s`);
}

export function browserLimits(limits: RateLimits, metrics: Metrics): MiddlewareHandler {
  const now = limits.now ?? Date.now;
  const hash = dailyHasher();
  const perIp: Limiter | null = limits.ipPerMinute > 0 ? fixedWindow(limits.ipPerMinute, 60_000) : null;
  return async (c, next) => {
    if (perIp && c.req.method !== 'OPTIONS') {
      const t = now();
      // IPv6 by /64: one subscriber's prefix is one client.
      const wait = perIp.hit(hash(addressGroup(clientIp(c, limits.trustProxy)), t), t);
      if (wait > 0) {
        metrics.rateLimited.inc({ scope: 'ip' });
        return tooMany(c, wait, 'address');
      }
    }
    await next();
  };
}

/** Per-visitor limiter, applied once the visitor id is known from the body. */
export function visitorLimiter(limits: RateLimits | undefined): Limiter | null {
  return limits && limits.visitorPerMinute > 0 ? fixedWindow(limits.visitorPerMinute, 60_000) : null;
}
