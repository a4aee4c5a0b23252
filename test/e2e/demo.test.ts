/**
 * The demo shop on a real collector in real Chromium: load, SPA routes (push and back),
 * category-tagged and outbound links, a cart event, then the page closes (pagehide → beacon).
 * The database must then hold exactly the events a visitor made, and the segment their category.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Request } from 'playwright-core';
import type { Segment } from '../../shared/segment.ts';
import { launchChromium, startCollector, waitFor, type Collector } from './support.ts';

let browser: Browser;
let collector: Collector;

beforeAll(async () => {
  [browser, collector] = await Promise.all([launchChromium(), startCollector()]);
});
afterAll(async () => {
  await browser?.close();
  await collector?.stop();
});

const isCollect = (r: Request) => r.url().endsWith('/v1/collect') && r.method() === 'POST';

/** Resolves when a batch carrying the SPA page view of `path` leaves the page (the snippet settles routes for 100 ms). */
const spaViewSent = (page: Page, path: string) =>
  page.waitForRequest((r) => {
    if (!isCollect(r)) return false;
    const body = JSON.parse(r.postData() ?? '{}') as { events?: { type: string; nav?: string; url?: string }[] };
    return !!body.events?.some((e) => e.type === 'page_view' && e.nav === 'spa' && e.url?.endsWith(path));
  });

describe('demo shop end to end', () => {
  it('records a visit exactly and segments the visitor by category', async () => {
    const context = await browser.newContext();
    // The outbound link leaves for the public web: answer it locally, the test stays offline.
    await context.route('https://en.wikipedia.org/**', (r) => r.fulfill({ contentType: 'text/html', body: '<p>away</p>' }));
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const sentLive: string[] = [];
    page.on('request', (r) => isCollect(r) && r.resourceType() === 'fetch' && sentLive.push(r.postData() ?? ''));

    const base = collector.url;
    const firstBatch = page.waitForResponse((r) => isCollect(r.request()));
    await page.goto(`${base}/demo/`);
    expect((await firstBatch).status()).toBe(200);
    await expect(page.title()).resolves.toBe('microseg demo shop');

    // Category-tagged links that are SPA routes: a click event, then a page view of the new route.
    let sent = spaViewSent(page, '/demo/cameras');
    await page.click('nav a[href="/demo/cameras"]');
    await sent;
    expect(await page.getAttribute('meta[name="microseg:category"]', 'content')).toBe('cameras');

    sent = spaViewSent(page, '/demo/cameras/aurora-x100');
    await page.click('section[data-view="/demo/cameras"] a[href="/demo/cameras/aurora-x100"]');
    await sent;

    sent = spaViewSent(page, '/demo/sports');
    await page.click('nav a[href="/demo/sports"]');
    await sent;

    // Back button: popstate is a route change too.
    sent = spaViewSent(page, '/demo/cameras/aurora-x100');
    await page.goBack();
    await sent;
    await expect(page.isVisible('section[data-view="/demo/cameras/aurora-x100"]')).resolves.toBe(true);

    // An outbound link (new tab), then a cart event, then the tab closes: the beacon carries both.
    const popup = context.waitForEvent('page');
    await page.click('footer a[target="_blank"]');
    await (await popup).close();
    await page.click('section[data-view="/demo/cameras/aurora-x100"] button[data-track="add_to_cart"]');
    await expect(page.textContent('#cart-count')).resolves.toBe('1');
    const visitor = (await page.evaluate(() => window.microseg!.segment()))!.visitor;
    await page.close({ runBeforeUnload: true });

    const rows = await waitFor(() => collector.events('demo'), (r) => r.length >= 10);
    const at = (p: string) => `${base}${p}`;
    expect(rows.map(({ type, url, category, nav, target }) => ({ type, url, category, nav, target }))).toEqual([
      { type: 'page_view', url: at('/demo/'), category: null, nav: 'load', target: null },
      { type: 'click', url: at('/demo/'), category: 'cameras', nav: null, target: at('/demo/cameras') },
      { type: 'page_view', url: at('/demo/cameras'), category: 'cameras', nav: 'spa', target: null },
      { type: 'click', url: at('/demo/cameras'), category: 'cameras', nav: null, target: at('/demo/cameras/aurora-x100') },
      { type: 'page_view', url: at('/demo/cameras/aurora-x100'), category: 'cameras', nav: 'spa', target: null },
      { type: 'click', url: at('/demo/cameras/aurora-x100'), category: 'sports', nav: null, target: at('/demo/sports') },
      { type: 'page_view', url: at('/demo/sports'), category: 'sports', nav: 'spa', target: null },
      { type: 'page_view', url: at('/demo/cameras/aurora-x100'), category: 'cameras', nav: 'spa', target: null },
      { type: 'click', url: at('/demo/cameras/aurora-x100'), category: null, nav: null, target: 'https://en.wikipedia.org/wiki/Market_segmentation' },
      { type: 'add_to_cart', url: at('/demo/cameras/aurora-x100'), category: 'cameras', nav: null, target: null },
    ]);
    const clicks = rows.filter((r) => r.type === 'click');
    expect(clicks.map((r) => r.outbound)).toEqual([0, 0, 0, 1]);
    const cart = rows[9]!;
    expect({ value: cart.value, currency: cart.currency, props: JSON.parse(cart.props!) }).toEqual({
      value: 1299,
      currency: 'EUR',
      props: { product: 'aurora-x100' },
    });
    // One visitor, one session, and nothing but this visit in the database.
    expect(new Set(rows.map((r) => r.visitor))).toEqual(new Set([visitor]));
    expect(new Set(rows.map((r) => r.session)).size).toBe(1);
    // The cart event left as the page closed (pagehide → beacon), not with a batch of the live page.
    expect(sentLive.some((b) => b.includes('"add_to_cart"'))).toBe(false);

    const res = await fetch(`${base}/v1/segment?site=demo&visitor=${visitor}`);
    expect(res.status).toBe(200);
    const seg = (await res.json()) as Segment;
    // cameras: 2 clicks, 3 views and a cart; sports: 1 click, 1 view.
    expect(seg).toMatchObject({ site: 'demo', visitor, category: 'cameras', engagement: 'hot', lifecycle: 'newbie' });
    expect(seg.segment).toBe('newbie:cameras:hot');
    expect(seg.affinity.cameras).toBeGreaterThan(seg.affinity.sports!);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('serves every SPA route as a full page too, with the category set before the snippet reads it', async () => {
    const page = await browser.newPage();
    const first = page.waitForRequest(isCollect);
    const res = await page.goto(`${collector.url}/demo/womens_apparel/silk-scarf`);
    expect(res!.status()).toBe(200);
    const batch = JSON.parse((await first).postData()!) as { events: { type: string; nav: string; category: string }[] };
    expect(batch.events[0]).toMatchObject({ type: 'page_view', nav: 'load', category: 'womens_apparel' });
    await expect(page.isVisible('section[data-view="/demo/womens_apparel/silk-scarf"]')).resolves.toBe(true);
    expect((await page.goto(`${collector.url}/demo/no-such-aisle`))!.status()).toBe(404);
    await expect(page.isVisible('section[data-view=""]')).resolves.toBe(true);
    await page.close();
  });
});
