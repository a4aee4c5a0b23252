/**
 * Where an operator would be stuck, the collector says so once per site and reason, with the fix
 * in the message: a page on an origin the config does not list, automation and bots kept out of
 * segments, an unknown site, a page view no category rule matches. Category URL rules: path
 * only, first match wins, `/cameras/*` covers `/cameras`, a trailing slash never matters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { categoryPattern, matchCategory } from '../../collector/config/category-rules.ts';
import { parseConfig } from '../../collector/config/config.ts';
import { originNotice } from '../../collector/http/origins.ts';
import { jsonLogger, notices } from '../../collector/log.ts';
import { DAY } from '../helpers.ts';
import { type Collector, collector } from '../security/support.ts';

describe('category URL rules', () => {
  const site = parseConfig({
    sites: {
      s: {
        categories: [
          { path: '/cameras/*', category: 'cameras' },
          { path: '/women/', category: 'womens_apparel' },
          { path: '/sale', category: 'sale' },
          { path: '/*/lenses', category: 'lenses' },
          { path: '/*', category: 'catch_all' },
        ],
      },
    },
  }).sites.get('s');
  const category = (url: string) =>
    site ? matchCategory(site.categories, url)?.rule?.category : undefined;

  it('a section rule "/x/*" matches the section page, with or without its slash, and below it', () => {
    for (const path of ['/cameras', '/cameras/', '/cameras/x100', '/cameras/a/b?c=1#d'])
      expect(category(`https://shop.example${path}`)).toBe('cameras');
    expect(category('https://shop.example/camerasx')).toBe('catch_all');
  });

  it('a trailing slash never matters, on the rule or on the page', () => {
    expect(category('https://shop.example/women')).toBe('womens_apparel');
    expect(category('https://shop.example/women/')).toBe('womens_apparel');
    expect(category('https://shop.example/sale/')).toBe('sale');
    expect(category('https://shop.example/sale/x')).toBe('catch_all');
  });

  it('matches the path only (not origin, query or fragment), and the first match wins', () => {
    expect(category('https://other.example/sale?cameras/x#/cameras')).toBe('sale');
    // "/cameras/*" comes before "/*/lenses": first match wins.
    expect(category('https://shop.example/cameras/lenses')).toBe('cameras');
    expect(category('https://shop.example/nikon/lenses')).toBe('lenses');
    expect(
      matchCategory(site?.categories ?? [], 'https://shop.example/nikon/lenses')?.rule,
    ).toEqual({ index: 3, path: '/*/lenses', category: 'lenses' });
  });

  it('"/" is the home page only', () => {
    expect(categoryPattern('/').test('/')).toBe(true);
    expect(categoryPattern('/').test('/x')).toBe(false);
  });
});

describe('notices', () => {
  it('made-up site ids use at most their own share of the room', () => {
    const lines: string[] = [];
    const notice = notices(
      (_l, msg) => lines.push(msg),
      () => 0,
      10,
      2,
    );
    for (let i = 0; i < 5; i++) notice(`made-up-${i}`, 'unknown_site', () => `u${i}`);
    notice('shop', 'origin_not_allowed', () => 'o');
    expect(lines).toEqual(['u0', 'u1', 'o']);
  });

  it('once per site and reason, again a day later; bounded', () => {
    const lines: string[] = [];
    let t = 0;
    const notice = notices(
      (level, msg, f) => lines.push(`${level} ${msg} ${f?.site}`),
      () => t,
      3,
    );
    notice('a', 'unknown_site', () => 'm1');
    notice('a', 'unknown_site', () => 'm1');
    notice('a', 'origin_not_allowed', () => 'm2');
    notice('b', 'unknown_site', () => 'm3');
    expect(lines).toEqual(['warn m1 a', 'warn m2 a', 'warn m3 b']);
    // Full (3 pairs): nothing new until the day is over.
    notice('c', 'unknown_site', () => 'm4');
    t += DAY - 1;
    notice('a', 'unknown_site', () => 'm1');
    expect(lines).toHaveLength(3);
    t += 1;
    notice('a', 'unknown_site', () => 'm1');
    notice('c', 'unknown_site', () => 'm4');
    expect(lines.slice(3)).toEqual(['warn m1 a', 'warn m4 c']);
  });
});

describe('the collector logs where a site is stuck', () => {
  let c: Collector;
  const lines: string[] = [];
  const logged = () =>
    lines
      .map((l) => JSON.parse(l) as { level: string; msg: string; reason?: string })
      .filter((l) => l.reason);
  const batch = (site: string, url: string, extra: Record<string, unknown> = {}) => ({
    site,
    visitor: 'v_diag_1',
    events: [
      { id: `e${Math.random().toString(36).slice(2)}`, type: 'page_view', ts: Date.now(), url },
    ],
    ...extra,
  });
  beforeAll(async () => {
    c = await collector(
      {
        sites: {
          shop: {
            origins: ['http://localhost:3000'],
            categories: [{ path: '/cameras/*', category: 'cameras' }],
          },
        },
      },
      {},
      jsonLogger('info', (l) => lines.push(l)),
    );
  });
  afterAll(() => c.close());

  it('an origin the site does not list: named, with the field to add it to, once', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await c.http('POST', '/v1/collect', batch('shop', 'http://127.0.0.1:3000/'), {
        origin: 'http://127.0.0.1:3000',
      });
      expect(res.status).toBe(403);
    }
    const seg = await c.http('GET', '/v1/segment?site=shop&visitor=v1', undefined, {
      origin: 'http://127.0.0.1:3000',
    });
    expect(seg.status).toBe(403);
    const origin = logged().filter((l) => l.reason === 'origin_not_allowed');
    expect(origin).toHaveLength(1);
    expect(origin[0]).toMatchObject({
      level: 'warn',
      origin: 'http://127.0.0.1:3000',
      site: 'shop',
    });
    expect(origin[0]?.msg).toContain('add "http://127.0.0.1:3000" to sites.shop.origins');
    expect(origin[0]?.msg).toContain('it lists http://localhost:3000');
  });

  it('Origin: null: no config entry allows it, so the fix named is the page', () => {
    const site = parseConfig({ sites: { shop: {} } }).sites.get('shop');
    expect(site && originNotice(site, 'null')).toContain('serve the page from an origin listed');
  });

  it('automation (a headless browser) and bot user agents: kept out of segments, said once each', async () => {
    const ua = { origin: 'http://localhost:3000' };
    for (let i = 0; i < 2; i++) {
      const res = await c.http(
        'POST',
        '/v1/collect',
        batch('shop', 'http://localhost:3000/cameras', { webdriver: true }),
        ua,
      );
      expect(res.json()).toMatchObject({ bot: 'automation', segment: null });
    }
    await c.http('POST', '/v1/collect', batch('shop', 'http://localhost:3000/cameras'), {
      ...ua,
      'user-agent': 'Mozilla/5.0 HeadlessChrome/120.0',
    });
    const bots = logged().filter((l) => l.reason?.startsWith('bot_'));
    expect(bots.map((l) => l.reason)).toEqual(['bot_automation', 'bot_user_agent']);
    expect(bots[0]?.msg).toContain('headless browser');
    expect(bots[0]?.msg).toContain('sites.shop.allowAutomation: true');
  });

  it('an unknown site: named, with the sites the config has', async () => {
    await c.http('POST', '/v1/collect', batch('shopp', 'http://localhost:3000/'));
    await c.http('POST', '/v1/collect', batch('shopp', 'http://localhost:3000/'));
    await c.http('GET', '/v1/segment?site=shopp&visitor=v1');
    const unknown = logged().filter((l) => l.reason === 'unknown_site');
    expect(unknown).toHaveLength(1);
    expect(unknown[0]?.msg).toContain(
      'site "shopp", which is not in the collector\'s site config (it has shop)',
    );
  });

  it('a page view no category rule matches: the path named, once', async () => {
    const ok = await c.http('POST', '/v1/collect', batch('shop', 'http://localhost:3000/cameras'));
    expect(ok.status).toBe(200);
    expect(logged().filter((l) => l.reason === 'no_category_rule')).toHaveLength(0);
    await c.http('POST', '/v1/collect', batch('shop', 'http://localhost:3000/lenses/x?q=secret'));
    await c.http('POST', '/v1/collect', batch('shop', 'http://localhost:3000/tv'));
    const none = logged().filter((l) => l.reason === 'no_category_rule');
    expect(none).toHaveLength(1);
    expect(none[0]).toMatchObject({ path: '/lenses/x' });
    expect(none[0]?.msg).toContain('sites.shop.categories');
  });

  it('never logs a client address, a visitor id or a query string', () => {
    const text = lines.filter((l) => l.includes('"reason"')).join('\n');
    expect(text).not.toBe('');
    expect(text).not.toMatch(/127\.0\.0\.1(?!:3000)/);
    expect(text).not.toContain('v_diag_1');
    expect(text).not.toContain('secret');
  });
});
