/**
 * The site of the API-key and read endpoints, named by `?site=`: one middleware checks it and
 * puts its config on the context, so a route reads `c.var.site` and never refuses it itself.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { Config, SiteConfig } from '../config/config.ts';
import { fail } from './errors.ts';

export type SiteEnv = { Variables: { site: SiteConfig } };

export const missingSite = (c: Context) =>
  fail(c, 400, 'missing_site', 'the site query parameter is required');

export const unknownSite = (c: Context, id: string) =>
  fail(c, 404, 'unknown_site', `no site "${id}" in the collector's config`);

/** Requires `?site=` naming a site of the config, and sets `c.var.site` to it. */
export function requireSite(config: Config): MiddlewareHandler<SiteEnv> {
  return async (c, next) => {
    const id = c.req.query('site');
    if (!id) return missingSite(c);
    const site = config.sites.get(id);
    if (!site) return unknownSite(c, id);
    c.set('site', site);
    await next();
  };
}

/** The warning for requests naming a site the config does not have, with the fix. */
export function unknownSiteNotice(id: string, config: Config): string {
  return `requests name site "${id}", which is not in the collector's site config (it has ${[...config.sites.keys()].join(', ')}): add it under "sites" in the config file (MICROSEG_CONFIG or --config), or fix data-site on the page's script tag`;
}
