import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_CONFIG,
  categoryForUrl,
  loadConfig,
  parseConfig,
} from '../../collector/config/config.ts';
import { DEFAULT_ENGINE } from '../../collector/engine/index.ts';
import { tempDir } from '../helpers.ts';

describe('site config', () => {
  it('zero config is the demo site with the default thresholds', () => {
    const c = loadConfig(undefined);
    expect([...c.sites.keys()]).toEqual(['demo']);
    expect(c.sites.get('demo')!.engine).toEqual(DEFAULT_ENGINE);
    expect(parseConfig(DEFAULT_CONFIG).sites.get('demo')!.allowLocalhost).toBe(true);
  });

  it('merges per-site thresholds over the defaults', () => {
    const c = parseConfig({
      sites: { s: { segment: { halfLifeDays: 7, weights: { click: 3 } } } },
    });
    const e = c.sites.get('s')!.engine;
    expect(e.halfLifeDays).toBe(7);
    expect(e.weights.click).toBe(3);
    expect(e.weights.purchase).toBe(DEFAULT_ENGINE.weights.purchase);
  });

  it.each([
    [{}, 'sites'],
    [{ sites: {} }, 'at least one site'],
    [{ sites: { 'bad id!': {} } }, 'letters, digits'],
    [{ sites: { s: { origins: ['https://a.example/'] } } }, 'sites.s.origins.0'],
    [{ sites: { s: { origins: ['a.example'] } } }, 'an origin like'],
    [{ sites: { s: { segment: { halfLifeDays: -1 } } } }, 'sites.s.segment.halfLifeDays'],
    [{ sites: { s: { segment: { halfLife: 3 } } } }, 'halfLife'],
    [
      { sites: { s: { categories: [{ path: 'cameras', category: 'c' }] } } },
      'sites.s.categories.0.path',
    ],
    [{ sites: { s: { typo: true } } }, 'typo'],
  ])('rejects %j naming %s', (input, needle) => {
    expect(() => parseConfig(input)).toThrow(ConfigError);
    expect(() => parseConfig(input)).toThrow(needle);
  });

  it('reads a JSON file and reports unreadable or malformed ones clearly', () => {
    const tmp = tempDir();
    try {
      const good = join(tmp.dir, 'good.json');
      writeFileSync(
        good,
        JSON.stringify({ sites: { shop: { origins: ['https://shop.example'] } } }),
      );
      expect(loadConfig(good).sites.get('shop')!.origins).toEqual(['https://shop.example']);
      const bad = join(tmp.dir, 'bad.json');
      writeFileSync(bad, '{ sites: ');
      expect(() => loadConfig(bad)).toThrow(/not valid JSON/);
      expect(() => loadConfig(join(tmp.dir, 'missing.json'))).toThrow(/cannot read site config/);
    } finally {
      tmp.cleanup();
    }
  });

  it('URL rules match paths with wildcards', () => {
    const site = parseConfig({
      sites: {
        s: {
          categories: [
            { path: '/cameras/*', category: 'cameras' },
            { path: '/shoes', category: 'shoes' },
          ],
        },
      },
    }).sites.get('s')!;
    expect(categoryForUrl(site, 'https://s.example/cameras/x?y=1')).toBe('cameras');
    expect(categoryForUrl(site, 'https://s.example/shoes')).toBe('shoes');
    expect(categoryForUrl(site, 'https://s.example/shoes/red')).toBeUndefined();
    expect(categoryForUrl(site, 'not a url')).toBeUndefined();
  });
});

describe('identity, browser and webhook cooldown settings', () => {
  it('defaults: 30-day links, 3 devices a link, a click a day, 24 h webhook cooldown, nothing private shown', () => {
    const site = parseConfig({
      sites: {
        s: {
          publicTraits: ['newsletter'],
          rules: {
            region: { when: { fact: 'trait.region', eq: 'MD' } },
            news: { when: { fact: 'trait.newsletter', eq: true } },
            spent: {
              when: { count: { type: 'purchase', within: '7d', value: { gte: 100 } }, gte: 1 },
            },
            vip: { when: { fact: 'rfm.label', eq: 'champions' } },
            shown: { when: { fact: 'trait.region', eq: 'MD' }, public: true },
            views: { when: { fact: 'lifecycle', eq: 'newbie' } },
          },
          webhooks: [
            {
              segment: 'views',
              on: 'enter',
              url: 'https://h.example/',
              secret: 'a-webhook-secret-0123',
            },
          ],
        },
      },
    }).sites.get('s')!;
    expect(site.identity).toEqual({ linkDays: 30, devicesPerLink: 3, clickWindowHours: 24 });
    expect(site.browser).toEqual({
      rfm: false,
      cooldown: false,
      hiddenSegments: new Set(['region', 'spent', 'vip']),
    });
    expect(site.webhooks[0]!.cooldownMs).toBe(24 * 3_600_000);
  });

  it('refuses bad values, each by its path', () => {
    const bad = {
      sites: {
        s: {
          identity: { linkDays: 0, devicesPerLink: 1.5, clickWindowHours: -1, other: 1 },
          browserReveals: ['traits'],
          rules: { r: { when: { fact: 'lifecycle', eq: 'newbie' }, public: 'yes' } },
          webhooks: [
            {
              segment: 'r',
              on: 'enter',
              url: 'https://h.example/',
              secret: 'a-secret-012345678',
              cooldownMinutes: -5,
            },
          ],
        },
      },
    };
    let message = '';
    try {
      parseConfig(bad);
    } catch (err) {
      message = (err as Error).message;
    }
    for (const path of [
      'sites.s.identity.linkDays',
      'sites.s.identity.devicesPerLink',
      'sites.s.identity.clickWindowHours',
      'sites.s.identity',
      'sites.s.browserReveals.0',
      'sites.s.rules.r.public',
      'sites.s.webhooks.0.cooldownMinutes',
    ]) {
      expect(message).toContain(`${path}:`);
    }
  });
});
