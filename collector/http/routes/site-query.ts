/** The `?site=` of the API-key and read endpoints: required, and a site of the config. */
import type { Context } from 'hono';
import type { Config, SiteConfig } from '../../config/config.ts';
import { fail } from '../errors.ts';

export const missingSite = (c: Context) =>
  fail(c, 400, 'missing_site', 'the site query parameter is required');

export const unknownSite = (c: Context, id: string) =>
  fail(c, 404, 'unknown_site', `no site "${id}" in the collector's config`);

/** The site `?site=` names, or the refusal to answer with. */
export function siteOf(c: Context, config: Config): SiteConfig | Response {
  const id = c.req.query('site');
  if (!id) return missingSite(c);
  return config.sites.get(id) ?? unknownSite(c, id);
}

/** The warning for requests naming a site the config does not have, with the fix. */
export function unknownSiteNotice(id: string, config: Config): string {
  return `requests name site "${id}", which is not in the collector's site config (it has ${[...config.sites.keys()].join(', ')}): add it under "sites" in the config file (MICROSEG_CONFIG or --config), or fix data-site on the page's script tag`;
}
