/** Which page origins may talk to the collector for a site (browser endpoints, CORS). */
import { networkInterfaces } from 'node:os';
import type { Context } from 'hono';
import type { Config, SiteConfig } from '../config/config.ts';

/** A page on this machine (`allowLocalhost`). */
export const LOCALHOST = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** No own origin (an app built without a listen address or public URL, as in tests). */
export const NO_ORIGINS: ReadonlySet<string> = new Set();

/** A listen address on every interface (`0.0.0.0`, `::`, `[::]`, or none). */
export function isWildcardHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === '' || bare === '0.0.0.0' || bare === '::';
}

/**
 * The collector's own origins (pages it serves itself, such as the demo, are always allowed):
 * MICROSEG_PUBLIC_URL's origin when set; else those of the listen address — a loopback address
 * gives `localhost`, `127.0.0.1` and `[::1]`, the wildcard (`0.0.0.0`, `::`) those and the
 * machine's own interface addresses, any other host itself. Never the request's `Host` header:
 * a client names that, so trusting it let any page whose origin matched its own `Host` in.
 * The first origin is the collector's address (the base of email links without a public URL).
 */
export function ownOrigins(publicUrl: string | undefined, host: string, port: number): string[] {
  if (publicUrl) return [new URL(publicUrl).origin];
  const origin = (h: string) => new URL(`http://${h}:${port}`).origin;
  const bare = host.replace(/^\[|\]$/g, '');
  const wildcard = isWildcardHost(host);
  const loopback = wildcard || bare === 'localhost' || bare.startsWith('127.') || bare === '::1';
  const hosts = new Set<string>();
  if (!wildcard) hosts.add(bare.includes(':') ? `[${bare}]` : bare);
  if (loopback) for (const h of LOOPBACK_HOSTS) hosts.add(h);
  if (wildcard) {
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) {
        if (a.internal || (a.family === 'IPv6' && bare !== '::')) continue;
        // A link-local IPv6 address's zone (`%eth0`) is no part of an origin.
        hosts.add(a.family === 'IPv6' ? `[${a.address.split('%')[0]}]` : a.address);
      }
    }
  }
  return [...hosts].map(origin);
}

/** One of the site's origins, one of the collector's own, or (with `allowLocalhost`) a localhost page. */
export function originAllowed(
  site: SiteConfig,
  origin: string,
  self: ReadonlySet<string>,
): boolean {
  if (self.has(origin)) return true;
  if (site.origins.includes(origin)) return true;
  return site.allowLocalhost && LOCALHOST.test(origin);
}

const host = (o: string) => new URL(o).hostname.replace(/^www\./, '');
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The warning for a page refused for its origin, with the fix: the config field to add it to,
 * and the origin the site lists that the page may have been meant as (`localhost` against
 * `127.0.0.1`, `www.` or not, http against https: each is another origin to a browser).
 */
export function originNotice(site: SiteConfig, origin: string): string {
  // No config entry can allow it: the fix is in the page.
  if (origin === 'null') {
    return `site "${site.id}": a page sent Origin: null (a sandboxed iframe, a file:// page, or a privacy setting), and its segment reads get 403 origin_not_allowed; serve the page from an origin listed in sites.${site.id}.origins`;
  }
  let hint = '';
  if (URL.canParse(origin)) {
    const near = site.origins.find((o) => {
      const a = new URL(o);
      const b = new URL(origin);
      const loopback = LOOPBACK.has(a.hostname) && LOOPBACK.has(b.hostname);
      return loopback ? a.port === b.port : host(o) === host(origin);
    });
    if (near) hint = ` (it lists ${near}: to a browser that is another origin)`;
  }
  const local = LOCALHOST.test(origin) ? `, or set sites.${site.id}.allowLocalhost: true` : '';
  return `origin ${origin} is not allowed for site "${site.id}"${hint}: its pages' requests get 403 origin_not_allowed and no CORS; add "${origin}" to sites.${site.id}.origins in the site config${local}`;
}

/** For a preflight, which names no site: allowed by at least one site. */
export function originAllowedByAnySite(
  config: Config,
  origin: string,
  self: ReadonlySet<string>,
): boolean {
  for (const site of config.sites.values()) if (originAllowed(site, origin, self)) return true;
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
export function allowOriginOfAnySite(
  c: Context,
  config: Config,
  self: ReadonlySet<string>,
  origin: string | undefined,
): void {
  allowOrigin(c, origin && originAllowedByAnySite(config, origin, self) ? origin : undefined);
}

/**
 * The origin this request was sent to, from its `Host`: only the base of email links made by
 * an API key holder when the collector knows no address of its own (an app without one, in tests).
 * Its URL is already normalized (`scheme://host[:port]/…`): no URL parse, unless it names a user.
 */
export function requestOrigin(c: Context): string {
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
export function addCors(
  headers: Record<string, string>,
  origin: string | undefined,
): Record<string, string> {
  headers.vary = 'Origin';
  if (origin) headers['access-control-allow-origin'] = origin;
  return headers;
}
