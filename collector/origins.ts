/** Which page origins may talk to the collector for a site (browser endpoints, CORS). */
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
