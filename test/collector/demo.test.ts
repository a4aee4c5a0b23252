import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CATEGORIES, PRODUCTS } from '../../collector/demo/catalog.ts';
import { testApp } from '../helpers.ts';

let t: Awaited<ReturnType<typeof testApp>>;
beforeEach(async () => {
  t = await testApp();
});
afterEach(() => t.close());

const metaCategory = (html: string) =>
  /<meta name="microseg:category" content="([^"]*)">/.exec(html)?.[1];

describe('GET /demo', () => {
  it('redirects /demo to /demo/ and serves each SPA route as a page with its category', async () => {
    const bare = await t.app.request('/demo');
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/demo/');

    const routes: [string, string][] = [
      ['/demo/', ''],
      ...CATEGORIES.map((c): [string, string] => [`/demo/${c.id}`, c.id]),
      ...PRODUCTS.map((p): [string, string] => [`/demo/${p.category}/${p.slug}/`, p.category]),
    ];
    for (const [path, category] of routes) {
      const res = await t.app.request(path);
      expect(res.status, path).toBe(200);
      const html = await res.text();
      expect(metaCategory(html), path).toBe(category);
      // The view of the path is the one not hidden.
      const shown = [
        ...html.matchAll(/<section class="view" data-view="([^"]*)"[^>]*?( hidden)?>/g),
      ].filter((m) => !m[2]);
      expect(
        shown.map((m) => m[1]),
        path,
      ).toEqual([path.length > 6 ? path.replace(/\/$/, '') : path]);
    }
    const missing = await t.app.request('/demo/no-such-aisle');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Not found');
  });

  it('installs the snippet as docs/snippet.md says: the stub verbatim, then the tag of the demo site', async () => {
    const html = await (await t.app.request('/demo/')).text();
    const doc = readFileSync('docs/snippet.md', 'utf8');
    const stub = /<!-- stub -->\s*```html\n<script>([\s\S]*?)<\/script>\n```/.exec(doc)?.[1];
    expect(stub).toBeTruthy();
    expect(html).toContain(`<script>${stub}</script>`);
    expect(html.indexOf(stub!)).toBeLessThan(
      html.indexOf('<script defer src="/ms.js" data-site="demo"></script>'),
    );
  });

  it('personalizes only with documented conditions on categories the shop has', async () => {
    const html = await (await t.app.request('/demo/')).text();
    const rules = [...html.matchAll(/data-ms-(?:show|hide)="([^"]*)"/g)].map((m) => m[1]!);
    expect(rules.length).toBeGreaterThan(0);
    const known = new Set([
      ...CATEGORIES.map((c) => `category=${c.id}`),
      'category=none',
      'category=mixed',
      'engagement=hot',
    ]);
    for (const rule of rules)
      for (const cond of rule.split(/[,\s]+/).filter(Boolean)) expect(known, rule).toContain(cond);
    // Every category has its banner and its row, written hidden so a first visit sees the generic ones.
    for (const c of CATEGORIES) {
      expect(html).toMatch(
        new RegExp(`hidden data-ms-show="category=${c.id}" data-banner="${c.id}"`),
      );
      expect(html).toMatch(new RegExp(`hidden data-ms-show="category=${c.id}" data-row="${c.id}"`));
    }
  });
});
