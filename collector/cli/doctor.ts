/**
 * `microseg doctor --site S [--url URL] [--origin O]`: what the collector, started with this
 * environment and site config, will do with a page — origin allowed or not and why, which
 * category rule its URL gets, the automation policy — and what in the config looks wrong. It
 * reads the same things `serve` reads, through the same functions, and writes nothing.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { matchCategory } from '../config/category-rules.ts';
import { type Config, ConfigError, type SiteConfig } from '../config/config.ts';
import { type EnvOptions, loadSiteConfig, readEnv } from '../config/env.ts';
import { isPostgresUrl, redactDbUrl } from '../config/db-url.ts';
import {
  isWildcardHost,
  LOCALHOST,
  originAllowed,
  originNotice,
  ownOrigins,
} from '../http/origins.ts';
import { SECRET_FILE } from '../identity/keys.ts';
import type { Command } from './cli.ts';
import { fail, help } from './cli-data.ts';

export interface Finding {
  /** `ok`: how it is; `warn`: likely not what you want; `problem`: it will not work (exit 1). */
  level: 'ok' | 'warn' | 'problem';
  topic: string;
  text: string;
}

/** Why an origin is allowed for a site, in the order `originAllowed` checks. */
function whyAllowed(site: SiteConfig, origin: string, self: ReadonlySet<string>): string {
  if (self.has(origin)) return "the collector's own origin (MICROSEG_PUBLIC_URL, else HOST/PORT)";
  if (site.origins.includes(origin)) return `listed in sites.${site.id}.origins`;
  if (site.allowLocalhost && LOCALHOST.test(origin))
    return `a localhost page, and sites.${site.id}.allowLocalhost is true`;
  return '';
}

/** What the collector will do with a page of `site` at `url` (or from `origin`), and what looks wrong. */
export function diagnose(
  env: EnvOptions,
  config: Config,
  site: SiteConfig,
  page: { url?: string | undefined; origin?: string | undefined },
): Finding[] {
  const out: Finding[] = [];
  const add = (level: Finding['level'], topic: string, text: string) =>
    out.push({ level, topic, text });
  const self = new Set(env.port === 0 ? [] : ownOrigins(env.publicUrl, env.host, env.port));

  let origin = page.origin;
  // The category findings follow the origin's: collected first, since the URL gives the origin.
  const later: Finding[] = [];
  const addLater = (level: Finding['level'], topic: string, text: string) =>
    later.push({ level, topic, text });
  if (page.url !== undefined) {
    if (!/^https?:\/\//.test(page.url) || !URL.canParse(page.url)) {
      add('problem', 'url', `${page.url} is not an http(s) URL`);
    } else {
      // A page's requests carry its own origin, unless --origin says otherwise.
      origin ??= new URL(page.url).origin;
      if (site.categories.length === 0) {
        addLater(
          'ok',
          'category',
          `no URL rules (sites.${site.id}.categories): the page's own category only (<meta name="microseg:category">)`,
        );
      } else {
        const m = matchCategory(site.categories, page.url);
        if (m?.rule)
          addLater(
            'ok',
            'category',
            `path ${m.path} → "${m.rule.category}" (rule ${m.rule.index + 1} of ${site.categories.length}: "${m.rule.path}"; first match wins), unless the page names its own`,
          );
        else
          addLater(
            'warn',
            'category',
            `path ${m?.path} matches no rule of sites.${site.id}.categories (${site.categories.map((r) => `"${r.path}"`).join(', ')}): its page views get no category unless the page names one (rules match the path only; "/x/*" also matches "/x")`,
          );
      }
    }
  }
  if (origin !== undefined) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      add('problem', 'origin', `${origin} is not an origin (scheme://host[:port], no path)`);
    } else if (originAllowed(site, origin, self)) {
      add(
        'ok',
        'origin',
        `${origin} may send events and read segments: ${whyAllowed(site, origin, self)}`,
      );
    } else {
      add('problem', 'origin', originNotice(site, origin));
    }
  }

  out.push(...later);

  add(
    'ok',
    'automation',
    site.allowAutomation
      ? `sites.${site.id}.allowAutomation is true: headless browsers, test tools and bots count like people (a test or demo site)`
      : `pages driven by automation (navigator.webdriver: headless browsers, Playwright, Selenium) and bot user agents are stored flagged (bot) and kept out of segments; sites.${site.id}.allowAutomation: true counts them (test sites)`,
  );
  add(
    'ok',
    'privacy',
    site.consent
      ? `sites.${site.id}.consent is true: Do-Not-Track and Global Privacy Control do not stop collection`
      : 'Do-Not-Track and Global Privacy Control stop collection (consent: false)',
  );

  // What in the config looks wrong for this site.
  if (site.origins.length === 0 && !site.allowLocalhost) {
    add(
      'warn',
      'origins',
      `sites.${site.id}.origins is empty: only the collector's own pages may send browser events (${[...self].slice(0, 3).join(', ') || 'none known with PORT 0'}); a site's pages need their origin listed`,
    );
  }
  if (site.apiKeys.length === 0) {
    add(
      'warn',
      'api keys',
      `no sites.${site.id}.apiKeys and no MICROSEG_API_KEY: the server endpoints (POST /v1/events, contacts, exports) answer 401`,
    );
  }
  const catchAll = site.categories.findIndex((r) => r.path === '/*' || r.path === '*');
  if (catchAll !== -1 && catchAll < site.categories.length - 1) {
    add(
      'warn',
      'categories',
      `rule ${catchAll + 1} ("${site.categories[catchAll]?.path}") matches every path: the ${site.categories.length - catchAll - 1} rule(s) after it never match (first match wins)`,
    );
  }
  if (!env.publicUrl && isWildcardHost(env.host)) {
    add(
      'warn',
      'public url',
      `MICROSEG_PUBLIC_URL is not set: email links start with http://localhost:${env.port}, which only this machine reaches`,
    );
  }
  const postgres = isPostgresUrl(env.db);
  if (postgres) {
    // No key file next to a database server (and a path made of its URL would hold the password).
    if (env.secret) add('ok', 'keys', 'signing keys from MICROSEG_SECRET');
    else
      add(
        'problem',
        'keys',
        'MICROSEG_SECRET is required with a PostgreSQL database: serve refuses to start without it',
      );
  } else {
    const keyFile = join(dirname(resolve(env.db)), SECRET_FILE);
    add(
      'ok',
      'keys',
      env.secret
        ? 'signing keys from MICROSEG_SECRET'
        : `signing keys from ${keyFile}${existsSync(keyFile) ? '' : ' (created at the first start)'}`,
    );
  }
  add(
    'ok',
    'config',
    `${config.sites.size} site(s): ${[...config.sites.keys()].join(', ')}; database ${redactDbUrl(env.db)}${postgres || existsSync(env.db) ? '' : ' (created at the first start)'}`,
  );
  return out;
}

export const doctorCommand: Command = {
  summary: 'check the config and environment, and say what the collector does with a page',
  usage: `microseg doctor --site S [--url URL] [--origin O] [--config FILE]

Reads the environment and the site config as "serve" does and prints, for a page of site S:
whether its origin may send events and read segments (and why, or the config field to add it to),
which category its URL gets (which rule), the automation and privacy policy, and what looks
wrong in the config (no origins, no API key, rules after a catch-all, no public URL). Without
--origin the origin is the URL's. Exit code 1 when it finds a problem (a bad variable, an invalid
config, an unknown site, a refused origin), else 0; warnings do not change it.

Options:
  --site S          site id
  --url URL         a page of the site, e.g. https://shop.example/cameras/x100
  --origin O        the page's origin, when not the URL's (e.g. http://127.0.0.1:3000)
  --config FILE     site config JSON (MICROSEG_CONFIG)
  -h, --help        this help`,
  options: {
    site: { type: 'string' },
    url: { type: 'string' },
    origin: { type: 'string' },
    config: { type: 'string' },
    help,
  },
  async run(v) {
    if (typeof v.site !== 'string') return fail('doctor', '--site is required');
    const print = (f: Finding) =>
      console.log(`${f.level.padEnd(7)} ${f.topic.padEnd(10)} ${f.text}`);
    let env: EnvOptions;
    let config: Config;
    try {
      env = readEnv();
      config = loadSiteConfig(env, typeof v.config === 'string' ? v.config : env.config);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      print({ level: 'problem', topic: 'config', text: err.message });
      return 1;
    }
    const site = config.sites.get(v.site);
    if (!site) {
      print({
        level: 'problem',
        topic: 'site',
        text: `no site "${v.site}" in the site config (it has ${[...config.sites.keys()].join(', ')}${env.config || typeof v.config === 'string' ? '' : '; no config file given: MICROSEG_CONFIG or --config'})`,
      });
      return 1;
    }
    const findings = diagnose(env, config, site, {
      url: typeof v.url === 'string' ? v.url : undefined,
      origin: typeof v.origin === 'string' ? v.origin : undefined,
    });
    for (const f of findings) print(f);
    const problems = findings.filter((f) => f.level === 'problem').length;
    const warnings = findings.filter((f) => f.level === 'warn').length;
    console.log(`site "${site.id}": ${problems} problem(s), ${warnings} warning(s)`);
    return problems > 0 ? 1 : 0;
  },
};
