/** API-key auth of the server endpoints: `Authorization: Bearer KEY`, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Config } from '../config/config.ts';
import { fail } from './errors.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Equal-length digests, so neither the key's content nor its length leaks through timing. */
export function keyMatches(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The sites a key opens; every configured key is compared, so timing says nothing of which matched. */
export function sitesForKey(config: Config, key: string): Set<string> {
  const sites = new Set<string>();
  for (const site of config.sites.values()) {
    let ok = false;
    for (const k of site.apiKeys) ok = keyMatches(key, k) || ok;
    if (ok) sites.add(site.id);
  }
  return sites;
}

/** The token of `Authorization: Bearer TOKEN`, or undefined when the header does not carry one. */
export function bearerToken(c: Context): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1];
}

export type AuthEnv = { Variables: { apiSites: Set<string> } };

/**
 * Requires a valid key and puts the sites it opens in `c.var.apiSites`. With `?site=` in the
 * query, that site must be one of them. The key itself is never logged or echoed.
 */
export function requireApiKey(config: Config): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const key = bearerToken(c);
    if (key === undefined) {
      c.header('WWW-Authenticate', 'Bearer realm="microseg"');
      return fail(c, 401, 'unauthorized', 'an API key is required: Authorization: Bearer KEY');
    }
    const sites = sitesForKey(config, key);
    if (sites.size === 0)
      return fail(c, 401, 'unauthorized', 'the API key is not valid for any site');
    const site = c.req.query('site');
    if (site !== undefined && !sites.has(site)) {
      return fail(c, 403, 'forbidden', `the API key is not valid for site "${site}"`);
    }
    c.set('apiSites', sites);
    await next();
  };
}
