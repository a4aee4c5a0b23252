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
