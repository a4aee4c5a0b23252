/**
 * A customer site on its own origin loads the snippet from the collector: events from an origin
 * in the site's config arrive (and the page may read its segment); any other origin is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Segment } from '../../shared/segment.ts';
import {
  engines,
  serveHtml,
  serveSite,
  startCollector,
  startProxy,
  waitFor,
  waitForURL,
  type Collector,
  type ShopProxy,
  type Site,
  type TestBrowser,
} from './support.ts';

let collector: Collector;
let proxy: ShopProxy;
let shop: Site;
let stranger: Site;

/**
 * The shop's page; under `/rules/` it also has a `data-ms-show` element (any anonymous visitor
 * matches), under `/csp/` too, with a CSP that allows scripts by nonce only.
 */
const page = (
  collectorUrl: string,
  rules = false,
  nonce = '',
) => `<!doctype html><html><head><meta charset="utf-8">
<meta name="microseg:category" content="sports">
<script defer src="${collectorUrl}/ms.js" data-site="partner"${nonce && ` nonce="${nonce}"`}></script></head>
<body><a id="ball" href="sports/ball" data-ms-category="sports">Ball</a>
${rules ? '<p id="deal" hidden data-ms-show="known=false">Sports week</p>' : ''}</body></html>`;

beforeAll(async () => {
  // The collector needs the shop's origin in its config, so the shops start first.
  [shop, stranger] = await Promise.all([
    serveSite((path) =>
      path.includes('/csp/')
        ? {
            // Scripts by nonce only: ms.js has it, and the rules script it imports inherits it.
            html: page(proxy.url, true, 'n0nce'),
            headers: { 'content-security-policy': "script-src 'nonce-n0nce'" },
          }
        : page(proxy.url, path.includes('/rules/')),
    ),
    serveHtml(() => page(proxy.url)),
  ]);
  // No allowLocalhost: only the listed origin counts, although every server here is on 127.0.0.1.
  collector = await startCollector({
    sites: { partner: { origins: [shop.origin], allowAutomation: true } },
  });
  proxy = await startProxy(collector.url);
});
afterAll(async () => {
  await Promise.all([proxy?.close(), shop?.close(), stranger?.close()]);
  await collector?.stop();
});

const batchesFrom = (origin: string, path: string) =>
  proxy.exchanges.filter(
    (x) => x.path === '/v1/collect' && x.origin === origin && x.body.includes(path),
  );

const rulesScripts = () => proxy.exchanges.filter((x) => x.path === '/ms.rules.js');

describe.each(engines)('cross-origin snippet in %s', (engine) => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await engine.launch();
  });
  afterAll(() => browser?.close());

  it('accepts events from an origin of the site and answers its segment with CORS', async () => {
    const rulesBefore = rulesScripts().length;
    const context = await browser.newContext();
    const p = await context.newPage();
    const start = `${shop.origin}/${engine.name}/sports`;
    await p.goto(start);
    const [first] = await waitFor(
      () => batchesFrom(shop.origin, start),
      (x) => x.length > 0,
    );
    expect(first?.status).toBe(200);
    expect(first?.headers['access-control-allow-origin']).toBe(shop.origin);

    await p.click('#ball');
    // The link is same-origin on the shop: a real navigation, so the click leaves as the page goes.
    await waitForURL(p, `${start}/ball`);
    await p.waitForFunction(() => document.readyState === 'complete');
    const seg = await p.evaluate(() => window.microseg!.segment() as Promise<Segment | null>);
    expect(seg).toMatchObject({ site: 'partner', category: 'sports' });

    const rows = await waitFor(
      () => collector.visitRows('partner', start),
      (r) => r.length >= 3,
    );
    expect(rows.map((r) => [r.type, r.url, r.category, r.target])).toEqual([
      ['page_view', start, 'sports', null],
      ['click', start, 'sports', `${start}/ball`],
      ['page_view', `${start}/ball`, 'sports', null],
    ]);
    expect(rows[1]!.outbound).toBe(0);
    expect(p.errors).toEqual([]);
    // A page without data-ms-show / data-ms-hide never loads the rules script.
    expect(rulesScripts().length).toBe(rulesBefore);
    await context.close();
  });

  it('loads ms.rules.js from the collector across origins (a module, with CORS) on a page with rules', async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    const before = rulesScripts().length;
    await p.goto(`${shop.origin}/${engine.name}/rules/sports`);
    await p.waitForSelector('#deal:not([hidden])');
    const [rules, ...more] = rulesScripts().slice(before);
    expect(more).toEqual([]);
    expect(rules?.status).toBe(200);
    expect(rules?.origin).toBe(shop.origin);
    expect(rules?.headers['access-control-allow-origin']).toBe('*');
    expect(p.errors).toEqual([]);
    await context.close();
  });

  it("loads ms.rules.js under a CSP that allows scripts by nonce only: the import takes ms.js's nonce", async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    const before = rulesScripts().length;
    await p.goto(`${shop.origin}/${engine.name}/csp/sports`);
    await p.waitForSelector('#deal:not([hidden])');
    expect(
      rulesScripts()
        .slice(before)
        .map((x) => x.status),
    ).toEqual([200]);
    expect(p.errors).toEqual([]);
    await context.close();
  });

  it('refuses events and segment reads from an origin the site does not list', async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    const start = `${stranger.origin}/${engine.name}/sports`;
    await p.goto(start);
    // The collector refused it with a reason, and no CORS grant: the page sees a failed request.
    const [sent] = await waitFor(
      () => batchesFrom(stranger.origin, start),
      (x) => x.length > 0,
    );
    expect(sent?.status).toBe(403);
    expect(sent?.headers['access-control-allow-origin']).toBeUndefined();
    // The page gets no segment, yet nothing throws in it.
    await expect(p.evaluate(() => window.microseg!.segment())).resolves.toBeNull();
    expect(p.errors).toEqual([]);
    await context.close();
    expect(collector.events('partner').filter((r) => r.url?.startsWith(stranger.origin))).toEqual(
      [],
    );
  });
});
