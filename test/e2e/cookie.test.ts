/**
 * Cookie mode in real browsers: a site on http://127.0.0.1 whose tag has `data-cookie`. The snippet
 * keeps its visitor id in `ms_vid` (Path=/, SameSite=Lax, 400 days, no Secure on plain http), adopts
 * an id the site's server set first (the events are stored under it), and an opt-out removes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VISITOR_COOKIE } from '../../shared/visitor-cookie.ts';
import {
  engines,
  serveSite,
  startCollector,
  startProxy,
  waitFor,
  type Collector,
  type Page,
  type ShopProxy,
  type Site,
  type TestBrowser,
} from './support.ts';

let collector: Collector;
let proxy: ShopProxy;
let site: Site;

const page = (collectorUrl: string) => `<!doctype html><html><head><meta charset="utf-8">
<script defer src="${collectorUrl}/ms.js" data-site="shop" data-cookie></script></head>
<body><p>cookie mode</p></body></html>`;

/** The id the site's server gives a visitor on `/server/<engine>/…` (as a server helper would). */
const serverId = (path: string) => `srv-${path.split('/')[2]}-7`;

beforeAll(async () => {
  let proxyUrl = '';
  site = await serveSite((path): Page | string =>
    path.startsWith('/server/')
      ? {
          html: page(proxyUrl),
          headers: {
            'set-cookie': `${VISITOR_COOKIE.name}=${serverId(path)}; Path=/; SameSite=Lax; Max-Age=${VISITOR_COOKIE.maxAgeSeconds}`,
          },
        }
      : path.startsWith('/blocked/')
        ? // A policy that allows ms.js by its exact URL, so its import of ms.cookie.js is refused.
          {
            html: page(proxyUrl),
            headers: { 'content-security-policy': `script-src ${proxyUrl}/ms.js` },
          }
        : page(proxyUrl),
  );
  collector = await startCollector({
    sites: { shop: { origins: [site.origin], allowAutomation: true } },
  });
  proxy = await startProxy(collector.url);
  proxyUrl = proxy.url;
});
afterAll(async () => {
  await Promise.all([proxy?.close(), site?.close()]);
  await collector?.stop();
});

const cookieScripts = () => proxy.exchanges.filter((x) => x.path === '/ms.cookie.js');

describe.each(engines)('cookie mode in %s', (engine) => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await engine.launch();
  });
  afterAll(() => browser?.close());

  it('sets ms_vid on http://127.0.0.1 with Path=/, SameSite=Lax, 400 days, no Secure: the id the events are stored under', async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    const url = `${site.origin}/${engine.name}/fresh`;
    const before = cookieScripts().length;
    await p.goto(url);
    const rows = await waitFor(
      () => collector.visitRows('shop', url),
      (r) => r.length > 0,
    );
    const visitor = rows[0]!.visitor;
    expect(visitor).toMatch(/^\d+(_\d+){3}$/);
    const cookies = await context.cookies();
    expect(
      cookies.map(({ name, value, path, httpOnly, secure, sameSite }) => ({
        name,
        value,
        path,
        httpOnly,
        secure,
        sameSite,
      })),
    ).toEqual([
      {
        name: 'ms_vid',
        value: visitor,
        path: '/',
        httpOnly: false,
        secure: false,
        sameSite: 'Lax',
      },
    ]);
    // Host-only on the page's host (no Domain attribute).
    expect(cookies[0]!.domain.replace(/^\./, '')).toBe('127.0.0.1');
    const days = (cookies[0]!.expires * 1000 - Date.now()) / 86_400_000;
    // 400 days from now (the browser keeps whole seconds).
    expect(Math.abs(days - 400)).toBeLessThan(0.01);
    expect(await p.evaluate(() => document.cookie)).toBe(`ms_vid=${visitor}`);
    expect(cookieScripts().length).toBe(before + 1);
    expect(p.errors).toEqual([]);
    await context.close();
  });

  it("adopts the id the site's server set first: every event is stored under it", async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    const url = `${site.origin}/server/${engine.name}/landing`;
    await p.goto(url);
    await p.waitForFunction(() => window.microseg?.segment);
    await p.evaluate(() => window.microseg!.track('add_to_cart'));
    const rows = await waitFor(
      () => collector.visitRows('shop', url),
      (r) => r.length >= 2,
    );
    expect(rows.map((r) => [r.type, r.visitor])).toEqual([
      ['page_view', serverId(new URL(url).pathname)],
      ['add_to_cart', serverId(new URL(url).pathname)],
    ]);
    expect(await p.evaluate(() => JSON.parse(localStorage.getItem('ms') ?? '{}').v as string)).toBe(
      serverId(new URL(url).pathname),
    );
    expect(p.errors).toEqual([]);
    await context.close();
  });

  it('sends the page-load batch with the stored id when ms.cookie.js is blocked, with no page error', async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    const url = `${site.origin}/blocked/${engine.name}/page`;
    await p.goto(url);
    const rows = await waitFor(
      () => collector.visitRows('shop', url),
      (r) => r.length > 0,
    );
    expect(rows.map((r) => r.type)).toEqual(['page_view']);
    expect(await p.evaluate(() => JSON.parse(localStorage.getItem('ms') ?? '{}').v as string)).toBe(
      rows[0]!.visitor,
    );
    // No cookie without ms.cookie.js, and no uncaught error or unhandled rejection (Firefox reports
    // the policy's refusal itself as a page error: that one is expected).
    expect(await context.cookies()).toEqual([]);
    expect(p.errors.filter((e) => !e.startsWith('Content-Security-Policy:'))).toEqual([]);
    await context.close();
  });

  it('removes the cookie on opt-out', async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    const url = `${site.origin}/${engine.name}/optout`;
    await p.goto(url);
    await waitFor(
      () => collector.visitRows('shop', url),
      (r) => r.length > 0,
    );
    expect((await context.cookies()).map((c) => c.name)).toEqual(['ms_vid']);
    await p.evaluate(() => window.microseg!.optOut());
    await p.waitForFunction(() => !document.cookie.includes('ms_vid='));
    expect(await context.cookies()).toEqual([]);
    expect(p.errors).toEqual([]);
    await context.close();
  });
});
