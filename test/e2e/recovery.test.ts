/**
 * Failed sends in Chromium and Firefox, on a shop whose collector is on another origin: the proxy in
 * front of the real collector answers 503 for a while, or cuts every connection (the collector is
 * down) and then lets them through again (restarted). Every event made meanwhile must be stored
 * exactly once when the collector is back: retried, never refused for its retry form, never twice.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  engines,
  holdBatchTimer,
  noteCount,
  originsOfBatches,
  printCounts,
  startShop,
  waitFor,
  waitForURL,
  waitUntil,
  type Collector,
  type EventRow,
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
<a id="next" href="two">Next page</a>
</body></html>`;

let rig: Shop;

beforeAll(async () => {
  rig = await startShop(shopPage);
  ({ collector, proxy, site: shop } = rig);
});
afterEach(() => proxy.mode('pass'));
afterAll(async () => {
  printCounts();
  await rig?.close();
});

/** Rows as `type url`, sorted: a retried event arrives after newer ones, order is not the point. */
const kinds = (rows: EventRow[]) => rows.map((r) => `${r.type} ${r.url}`).sort();

describe.each(engines)('failed sends in %s', (engine) => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await engine.launch();
  });
  afterAll(() => browser?.close());

  /** Rows of the visit once `generated` are in, plus a moment for a late duplicate; notes the count. */
  async function stored(scenario: string, tag: string, generated: number): Promise<EventRow[]> {
    await waitFor(
      () => collector.visitRows('shop', tag),
      (r) => r.length >= generated,
      8000,
    );
    await new Promise((r) => setTimeout(r, 300));
    const rows = collector.visitRows('shop', tag);
    noteCount({
      scenario,
      engine: engine.name,
      generated,
      stored: rows.length,
      batches: originsOfBatches(proxy, tag),
    });
    return rows;
  }

  const cases = [
    ['503 for a while', 'unavailable', 503],
    ['down, then restarted', 'unreachable', 0],
  ] as const;

  it.each(cases)(
    '%s: the events of the live page arrive with the next page',
    async (label, mode, status) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const one = `${shop.origin}/r/${engine.name}-${mode}/one`;
      const two = `${shop.origin}/r/${engine.name}-${mode}/two`;
      proxy.mode(mode);
      await page.goto(one);
      await page.click('#cart');
      // The live batch (within a second of the first event) fails.
      await waitUntil(() =>
        proxy.exchanges.some((x) => x.status === status && x.body.includes('add_to_cart')),
      );
      proxy.mode('pass');
      await page.click('#next');
      await waitForURL(page, two);
      const rows = await stored(`${label}, then the next page`, one, 4);
      expect(kinds(rows)).toEqual(
        [`page_view ${one}`, `add_to_cart ${one}`, `click ${one}`, `page_view ${two}`].sort(),
      );
      expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
      expect(page.errors).toEqual([]);
      await page.close();
      await context.close();
    },
  );

  it('down as the tab closes: the events arrive with the next visit', async () => {
    const context = await browser.newContext();
    const tag = `${shop.origin}/r/${engine.name}-down-on-leave/one`;
    let page = await context.newPage();
    // Every event of the page leaves with it, into a collector that is down.
    await page.addInitScript(holdBatchTimer);
    proxy.mode('unreachable');
    await page.goto(tag);
    await page.click('#cart');
    await page.close();
    await waitUntil(() =>
      proxy.exchanges.some((x) => x.status === 0 && x.body.includes('add_to_cart')),
    );
    proxy.mode('pass');
    // The same visitor (same storage) comes back.
    page = await context.newPage();
    await page.goto(tag);
    await page.close();
    const rows = await stored('down as the tab closes, then a new visit', tag, 3);
    expect(kinds(rows)).toEqual([`add_to_cart ${tag}`, `page_view ${tag}`, `page_view ${tag}`]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    await context.close();
  });
});
