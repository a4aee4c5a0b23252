/**
 * A customer site on its own origin loads the snippet from the collector: events from an origin
 * in the site's config arrive (and the page may read its segment); any other origin is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Segment } from '../../shared/segment.ts';
import { launchChromium, serveHtml, startCollector, waitFor, type Collector } from './support.ts';

let browser: Browser;
let collector: Collector;
let shop: Awaited<ReturnType<typeof serveHtml>>;
let stranger: Awaited<ReturnType<typeof serveHtml>>;

const page = (collectorUrl: string) => `<!doctype html><html><head><meta charset="utf-8">
<meta name="microseg:category" content="sports">
<script defer src="${collectorUrl}/ms.js" data-site="partner"></script></head>
<body><a id="ball" href="/sports/ball" data-ms-category="sports">Ball</a></body></html>`;

beforeAll(async () => {
  // The collector needs the shop's origin in its config, so the shops start first.
  [shop, stranger, browser] = await Promise.all([
    serveHtml(() => page(collector.url)),
    serveHtml(() => page(collector.url)),
    launchChromium(),
  ]);
  // No allowLocalhost: only the listed origin counts, although every server here is on 127.0.0.1.
  collector = await startCollector({ sites: { partner: { origins: [shop.origin], allowAutomation: true } } });
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([collector?.stop(), shop?.close(), stranger?.close()]);
});

describe('cross-origin snippet', () => {
  it('accepts events from an origin of the site and answers its segment with CORS', async () => {
    const p = await browser.newPage();
    const first = p.waitForResponse((r) => r.url() === `${collector.url}/v1/collect`);
    await p.goto(`${shop.origin}/sports`);
    const res = await first;
    expect(res.status()).toBe(200);
    expect(res.headers()['access-control-allow-origin']).toBe(shop.origin);

    await p.click('#ball');
    // The link is same-origin on the shop: a real navigation, so the click leaves by beacon on pagehide.
    await p.waitForURL(`${shop.origin}/sports/ball`);
    const seg = (await p.evaluate(() => window.microseg!.segment())) as Segment | null;
    expect(seg).toMatchObject({ site: 'partner', category: 'sports' });

    const rows = await waitFor(() => collector.events('partner'), (r) => r.length >= 3);
    expect(rows.map((r) => [r.type, r.url, r.category, r.target])).toEqual([
      ['page_view', `${shop.origin}/sports`, 'sports', null],
      ['click', `${shop.origin}/sports`, 'sports', `${shop.origin}/sports/ball`],
      ['page_view', `${shop.origin}/sports/ball`, 'sports', null],
    ]);
    expect(rows[1]!.outbound).toBe(0);
    await p.close();
  });

  it('refuses events and segment reads from an origin the site does not list', async () => {
    const before = collector.events('partner').length;
    const p = await browser.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    // The browser sees no CORS grant, so the request fails in the page.
    const failed = p.waitForEvent('requestfailed', (r) => r.url() === `${collector.url}/v1/collect`);
    await p.goto(`${stranger.origin}/sports`);
    const sent = await failed;
    // The same body with the same Origin, replayed: the collector refused it with a reason.
    const replay = await fetch(sent.url(), { method: 'POST', body: sent.postData()!, headers: { origin: stranger.origin } });
    expect(replay.status).toBe(403);
    expect(((await replay.json()) as { error: string }).error).toBe('origin_not_allowed');
    // The page cannot read the refusal (no CORS) and gets no segment, yet nothing throws in it.
    await expect(p.evaluate(() => window.microseg!.segment())).resolves.toBeNull();
    expect(errors).toEqual([]);
    await p.close();
    expect(collector.events('partner').length).toBe(before);
  });
});
