/** Which page origins may talk to the collector for a site (browser endpoints, CORS). */
import type { Context } from 'hono';
import type { Config, SiteConfig } from './config.ts';

const LOCALHOST = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/** The collector's own origin (the demo and same-origin pages) is always allowed. */
export function originAllowed(site: SiteConfig, origin: string, selfOrigin: string): boolean {
  if (origin === selfOrigin) return true;
  if (site.origins.includes(origin)) return true;
  return site.allowLocalhost && LOCALHOST.test(origin);
}

/** For a preflight, which names no site: allowed by at least one site. */
export function originAllowedByAnySite(config: Config, origin: string, selfOrigin: string): boolean {
  for (const site of config.sites.values()) if (originAllowed(site, origin, selfOrigin)) return true;
  return false;
}

/**
 * The origin a write (`POST /v1/collect`) is checked against. `Origin: null` counts as no Origin:
 * Firefox sends it on a beacon when the page's referrer policy hides the origin (`no-referrer`,
 * or `same-origin` towards another origin), and a write with no Origin at all is what any
 * non-browser client sends. Either way the answer carries no CORS grant, so the page reads
 * nothing back. Reads (`GET /v1/segment`) do not use this: `null` is no origin of any site there.
 */
export function writerOrigin(c: Context): string | undefined {
  const origin = c.req.header('origin');
  return origin === 'null' ? undefined : origin;
}

/**
 * CORS for an answer given before the request's site is known (a body that is too large, not
 * JSON, not a batch, of an unknown site, or over the address's rate limit): the origin is
 * granted when some site allows it. The snippet must read a refusal to drop the batch; without
 * the grant it sees a network error and keeps retrying.
 */
export function allowOriginOfAnySite(c: Context, config: Config, origin: string | undefined) {
  allowOrigin(c, origin && originAllowedByAnySite(config, origin, selfOrigin(c)) ? origin : undefined);
}

/** The request's origin. Its URL is already normalized (`scheme://host[:port]/…`): no URL parse, unless it names a user. */
export function selfOrigin(c: Context): string {
  const url = c.req.url;
  const path = url.indexOf('/', url.indexOf('//') + 2);
  const origin = path === -1 ? url : url.slice(0, path);
  return origin.includes('@') ? new URL(url).origin : origin;
}

/** CORS for a simple (text/plain) request: echo an allowed origin, vary on it. */
export function allowOrigin(c: Context, origin: string | undefined) {
  c.header('Vary', 'Origin', { append: true });
  if (origin) c.header('Access-Control-Allow-Origin', origin);
}

/** The same, on the header object of a `respond` answer. */
export function addCors(headers: Record<string, string>, origin: string | undefined): Record<string, string> {
  headers.vary = 'Origin';
  if (origin) headers['access-control-allow-origin'] = origin;
  return headers;
}
