/**
 * Back to a page: Firefox restores it from the back/forward cache (no script runs again, `pageshow`
 * with `persisted`), Chromium under automation loads it again (playwright turns its bfcache off);
 * Chromium with its bfcache kept on restores it too. Either way the return is a page view, and
 * nothing the page sent before it went is counted twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumBfcacheEngine,
  chromiumEngine,
  firefoxEngine,
  noteCount,
  originsOfBatches,
  printCounts,
  startShop,
  waitFor,
  waitForURL,
  type Collector,
  type ShopProxy,
  type Shop,
  type Site,
  type TestBrowser,
} from './support.ts';

let collector: Collector;
let proxy: ShopProxy;
let shop: Site;

const shopPage = (proxyUrl: string) => `<!doctype html><html><head><meta charset="utf-8">
<script defer src="${proxyUrl}/ms.js" data-site="shop"></script></head>
<body>
<button id="cart" onclick="microseg.track('add_to_cart', { value: 5, currency: 'EUR' })">Add to cart</button>
<a id="to-b" href="b">Page B</a>
</body></html>`;

let rig: Shop;

beforeAll(async () => {
  rig = await startShop(shopPage);
  ({ collector, proxy, site: shop } = rig);
});
afterAll(async () => {
  printCounts();
  await rig?.close();
});

/** How each browser comes back under automation. */
const browsers = [
  { label: 'chromium', engine: chromiumEngine, expected: 'reloaded' },
  { label: 'firefox', engine: firefoxEngine, expected: 'restored' },
  { label: 'chromium-bfcache', engine: chromiumBfcacheEngine, expected: 'restored' },
] as const;

describe.each(browsers)('back/forward in $label', ({ label, engine, expected }) => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await engine.launch();
  });
  afterAll(() => browser?.close());

  it(`counts the return to a page once (${expected}), and nothing twice`, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Each pageshow of the document: `persisted` is true when it came back from the cache.
    await page.addInitScript(() => {
      const shows: boolean[] = [];
      (window as unknown as { shows: boolean[] }).shows = shows;
      addEventListener('pageshow', (e) => shows.push(e.persisted));
    });
    const a = `${shop.origin}/bf/${label}/a`;
    const b = `${shop.origin}/bf/${label}/b`;
    await page.goto(a);
    await page.waitForFunction(() => window.microseg !== undefined);
    await page.click('#cart');
    await page.click('#to-b');
    await waitForURL(page, b);
    await page.waitForFunction(
      () => window.microseg !== undefined && document.readyState === 'complete',
    );
    await page.evaluate(() => history.back());
    await waitForURL(page, a);
    await page.waitForFunction(
      () => window.microseg !== undefined && document.readyState === 'complete',
    );
    const shows = await page.evaluate(() => (window as unknown as { shows: boolean[] }).shows);
    const path = shows.includes(true) ? 'restored' : 'reloaded';
    // The return's view leaves on the batch timer while the page is open: this test is about the
    // restore, not about closing a tab (test/e2e/leave.test.ts), whose beacon a loaded CI machine
    // once lost in Firefox right after a restore.
    let rows = await waitFor(
      () => collector.visitRows('shop', a),
      (r) => r.length >= 5,
    );
    await page.close();
    // A batch sent again would add rows after these: give it a moment to show.
    await new Promise((r) => setTimeout(r, 300));
    rows = collector.visitRows('shop', a);
    noteCount({
      scenario: `back to a page (${path})`,
      engine: engine.name,
      generated: 5,
      stored: rows.length,
      batches: originsOfBatches(proxy, `/bf/${label}/`),
    });
    expect(path).toBe(expected);
    expect(shows).toEqual(path === 'restored' ? [false, true] : [false]);
    expect(rows.map((r) => `${r.type} ${r.url} ${r.nav ?? ''}`).sort()).toEqual(
      [
        `page_view ${a} load`,
        `add_to_cart ${a} `,
        `click ${a} `,
        `page_view ${b} load`,
        // The return: a full load in Chromium, a restore in Firefox; both are a new view.
        `page_view ${a} load`,
      ].sort(),
    );
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    await context.close();
  });
});
