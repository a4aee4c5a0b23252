/**
 * The demo shop on a real collector in real Chromium and Firefox: load, SPA routes (push and back),
 * category-tagged and outbound links, a cart event, then the page closes at once. The database must
 * then hold exactly the events a visitor made, and the segment their category. The collector's own
 * pages send `Referrer-Policy: no-referrer`, under which Firefox sends a beacon with `Origin: null`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Segment } from '../../shared/segment.ts';
import {
  attributeOf,
  engines,
  isVisible,
  noteCount,
  printCounts,
  REVISIT,
  rowsAfterLeaving,
  startCollector,
  startProxy,
  textOf,
  waitFor,
  type Collector,
  type ShopProxy,
  type TestBrowser,
} from './support.ts';

let collector: Collector;
let proxy: ShopProxy;

beforeAll(async () => {
  collector = await startCollector();
  proxy = await startProxy(collector.url);
});
afterAll(async () => {
  printCounts();
  await proxy?.close();
  await collector?.stop();
});

describe.each(engines)('demo shop end to end in %s', (engine) => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await engine.launch();
  });
  afterAll(() => browser?.close());

  // A closing scenario: in Firefox up to two more tries, each a new visitor (see leave.test.ts `closing`).
  let attempt = 0;
  const closing = { retry: engine.name === 'firefox' ? 2 : 0 };

  it('records a visit exactly and segments the visitor by category', closing, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const base = proxy.url;
    const at = (p: string) => `${base}${p}`;
    const start = at(`/demo/?run=${engine.name}-${++attempt}-`);
    const rows = () => collector.visitRows('demo', start);
    /** Waits until the SPA page view of `path` is stored (the snippet settles routes for 100 ms). */
    const spaViewStored = (path: string, n = 1) =>
      waitFor(
        rows,
        (r) => r.filter((e) => e.nav === 'spa' && e.url === at(path)).length >= n,
        5000,
      );

    await page.goto(start);
    await expect(page.evaluate(() => document.title)).resolves.toBe('microseg demo shop');
    const first = await waitFor(
      () => proxy.exchanges.filter((x) => x.path === '/v1/collect'),
      (x) => x.length > 0,
    );
    expect(first[0]?.status).toBe(200);

    // Category-tagged links that are SPA routes: a click event, then a page view of the new route.
    await page.click('nav a[href="/demo/cameras"]');
    await spaViewStored('/demo/cameras');
    expect(await attributeOf(page, 'meta[name="microseg:category"]', 'content')).toBe('cameras');

    await page.click('section[data-view="/demo/cameras"] a[href="/demo/cameras/aurora-x100"]');
    await spaViewStored('/demo/cameras/aurora-x100');

    await page.click('nav a[href="/demo/sports"]');
    await spaViewStored('/demo/sports');

    // Back button: popstate is a route change too.
    await page.evaluate(() => history.back());
    await spaViewStored('/demo/cameras/aurora-x100', 2);
    await expect(isVisible(page, 'section[data-view="/demo/cameras/aurora-x100"]')).resolves.toBe(
      true,
    );

    // An outbound link (new tab, closed before it loads: the test stays offline), then a cart
    // event, then the tab closes at once: the last events leave as the page goes.
    const popup = page.nextPopup();
    await page.click('footer a[target="_blank"]');
    await (await popup).close();
    await page.click(
      'section[data-view="/demo/cameras/aurora-x100"] button[data-track="add_to_cart"]',
    );
    await expect(textOf(page, '#cart-count')).resolves.toBe('1');
    await page.close();

    const revisit = async () => {
      await (await context.newPage()).goto(at(`/demo${REVISIT}`));
    };
    const { rows: stored, late } = await rowsAfterLeaving(engine.name, rows, 10, revisit);
    const count = {
      scenario: 'demo: browse, cart, close',
      generated: 10,
      stored: stored.length,
      late,
    };
    noteCount({ ...count, engine: engine.name });
    expect(
      stored.map(({ type, url, category, nav, target }) => ({ type, url, category, nav, target })),
    ).toEqual([
      { type: 'page_view', url: start, category: null, nav: 'load', target: null },
      { type: 'click', url: start, category: 'cameras', nav: null, target: at('/demo/cameras') },
      {
        type: 'page_view',
        url: at('/demo/cameras'),
        category: 'cameras',
        nav: 'spa',
        target: null,
      },
      {
        type: 'click',
        url: at('/demo/cameras'),
        category: 'cameras',
        nav: null,
        target: at('/demo/cameras/aurora-x100'),
      },
      {
        type: 'page_view',
        url: at('/demo/cameras/aurora-x100'),
        category: 'cameras',
        nav: 'spa',
        target: null,
      },
      {
        type: 'click',
        url: at('/demo/cameras/aurora-x100'),
        category: 'sports',
        nav: null,
        target: at('/demo/sports'),
      },
      { type: 'page_view', url: at('/demo/sports'), category: 'sports', nav: 'spa', target: null },
      {
        type: 'page_view',
        url: at('/demo/cameras/aurora-x100'),
        category: 'cameras',
        nav: 'spa',
        target: null,
      },
      {
        type: 'click',
        url: at('/demo/cameras/aurora-x100'),
        category: null,
        nav: null,
        target: 'https://en.wikipedia.org/wiki/Market_segmentation',
      },
      {
        type: 'add_to_cart',
        url: at('/demo/cameras/aurora-x100'),
        category: 'cameras',
        nav: null,
        target: null,
      },
    ]);
    const clicks = stored.filter((r) => r.type === 'click');
    expect(clicks.map((r) => r.outbound)).toEqual([0, 0, 0, 1]);
    const cart = stored[9]!;
    expect({ value: cart.value, currency: cart.currency, props: JSON.parse(cart.props!) }).toEqual({
      value: 1299,
      currency: 'EUR',
      props: { product: 'aurora-x100' },
    });
    // One visitor, one session.
    const visitor = stored[0]!.visitor;
    expect(new Set(stored.map((r) => r.visitor))).toEqual(new Set([visitor]));
    expect(new Set(stored.map((r) => r.session)).size).toBe(1);
    const res = await fetch(`${collector.url}/v1/segment?site=demo&visitor=${visitor}`);
    expect(res.status).toBe(200);
    const seg = (await res.json()) as Segment;
    // cameras: 2 clicks, 3 views and a cart; sports: 1 click, 1 view.
    expect(seg).toMatchObject({
      site: 'demo',
      visitor,
      category: 'cameras',
      engagement: 'hot',
      lifecycle: 'newbie',
    });
    expect(seg.segment).toBe('newbie:cameras:hot');
    expect(seg.affinity.cameras).toBeGreaterThan(seg.affinity.sports!);
    expect(page.errors).toEqual([]);
    await context.close();
  });

  it('serves every SPA route as a full page too, with the category set before the snippet reads it', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const start = `${proxy.url}/demo/womens_apparel/silk-scarf?run=${engine.name}`;
    expect(await page.goto(start)).toBe(200);
    const [view] = await waitFor(
      () => collector.visitRows('demo', start),
      (r) => r.length > 0,
    );
    expect(view).toMatchObject({ type: 'page_view', nav: 'load', category: 'womens_apparel' });
    await expect(
      isVisible(page, 'section[data-view="/demo/womens_apparel/silk-scarf"]'),
    ).resolves.toBe(true);
    expect(await page.goto(`${proxy.url}/demo/no-such-aisle`)).toBe(404);
    await expect(isVisible(page, 'section[data-view=""]')).resolves.toBe(true);
    await context.close();
  });
});
