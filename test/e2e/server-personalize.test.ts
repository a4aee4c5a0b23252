/**
 * Personalization on the server, in real Chromium and Firefox: a small Hono site uses `microseg/hono` and the
 * snippet in cookie mode (`data-cookie`). A first visit gets its visitor id from the server's
 * cookie, which the snippet adopts, and browses camera pages; back later, the visitor's first
 * server-rendered HTML already has the camera banner, with the collector's browser endpoints held
 * (no answer reaches the page): nothing on the client is needed for it.
 */
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../sdk/client.ts';
import { type MicrosegEnv, microseg } from '../../sdk/hono.ts';
import { listen } from '../sdk/support.ts';
import {
  type Collector,
  engines,
  type ShopProxy,
  startCollector,
  startProxy,
  type TestBrowser,
  waitFor,
} from './support.ts';

let collector: Collector;
let proxy: ShopProxy;
let site: { url: string; close: () => Promise<void> };
/** What the site rendered for each page request: the path, the visitor and the banner. */
const renders: { path: string; visitor: string | null; banner: string; source: string }[] = [];

/** The site's pages: the banner is chosen here, on the server, and nowhere else (no data-ms-show). */
function siteApp(): Hono<MicrosegEnv> {
  const client = createClient({
    endpoint: collector.url,
    site: 'shop',
    // A loaded CI machine: the budget here is not what is tested.
    timeoutMs: 2000,
    // Each visit asks the collector, as for a visitor back after more than maxStaleMs.
    freshMs: 0,
    maxStaleMs: 0,
  });
  const app = new Hono<MicrosegEnv>();
  app.use('*', microseg({ client }));
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.get('*', (c) => {
    const { visitor, segment, source } = c.var.microseg;
    const banner = segment.category === 'cameras' ? 'cameras' : 'default';
    renders.push({ path: c.req.path, visitor, banner, source });
    const category = c.req.path.startsWith('/cameras/')
      ? '<meta name="microseg:category" content="cameras">'
      : '';
    return c.html(`<!doctype html>
<html><head><title>shop</title>${category}
<script defer src="${proxy.url}/ms.js" data-site="shop" data-cookie></script>
</head><body>
<div id="banner" data-banner="${banner}">${banner === 'cameras' ? 'New lenses for your camera' : 'Spring collection'}</div>
<a id="next" href="/cameras/2">next</a>
</body></html>`);
  });
  return app;
}

beforeAll(async () => {
  let origin = '';
  // The site's origin is known once it listens; the collector must list it: start the site first.
  const app = new Hono();
  let inner: Hono<MicrosegEnv> | undefined;
  app.all('*', (c) => (inner ? inner.fetch(c.req.raw) : c.text('starting', 503)));
  site = await listen(app.fetch);
  origin = site.url;
  collector = await startCollector({
    sites: { shop: { origins: [origin], allowAutomation: true } },
  });
  proxy = await startProxy(collector.url);
  inner = siteApp();
});
afterAll(async () => {
  proxy?.mode('pass');
  await proxy?.close();
  await site?.close();
  await collector?.stop();
});

describe.each(engines)(
  'server-side personalization, Hono middleware and cookie mode, in %s',
  (engine) => {
    let browser: TestBrowser;
    beforeAll(async () => {
      browser = await engine.launch();
    });
    afterAll(() => browser?.close());

    it("renders a returning visitor's first HTML with the camera banner, no client request needed", async () => {
      const context = await browser.newContext();
      const page = await context.newPage();

      // First visit: the server mints the id and sets the cookie; the page is generic.
      await page.goto(`${site.url}/`);
      expect(await page.evaluate(() => document.getElementById('banner')?.dataset.banner)).toBe(
        'default',
      );
      const first = renders.at(-1);
      expect(first?.source).toBe('empty');
      const visitor = first?.visitor ?? '';
      expect(visitor).toMatch(/^\d+(_\d+){3}$/);
      expect(await page.evaluate(() => document.cookie)).toContain(`ms_vid=${visitor}`);

      // Three camera pages; the snippet adopted the server's id, so its events are the visitor's.
      const cameraRows = () =>
        collector.events('shop').filter((r) => r.category === 'cameras' && r.visitor === visitor);
      for (const n of [1, 2, 3]) {
        await page.goto(`${site.url}/cameras/${n}`);
        await waitFor(cameraRows, (rows) => rows.length >= n);
      }
      expect(cameraRows()).toHaveLength(3);
      await page.close();

      // Back later: the collector's browser endpoints answer nothing while the page loads.
      proxy.mode('hold');
      const answeredBefore = proxy.exchanges.filter((x) => /^\/v1\//.test(x.path)).length;
      const back = await context.newPage();
      await back.goto(`${site.url}/`);
      const rendered = renders.at(-1);
      expect(rendered).toEqual({ path: '/', visitor, banner: 'cameras', source: 'collector' });
      expect(await back.evaluate(() => document.getElementById('banner')?.dataset.banner)).toBe(
        'cameras',
      );
      expect(await back.evaluate(() => document.getElementById('banner')?.textContent)).toBe(
        'New lenses for your camera',
      );
      // No collector answer reached the page for it.
      expect(proxy.exchanges.filter((x) => /^\/v1\//.test(x.path)).length).toBe(answeredBefore);
      proxy.mode('pass');
      await back.close();
      await context.close();
    });
  },
);
