/**
 * A signed email link in real Chromium and Firefox: the collector's /r records the click and
 * redirects to the demo shop with `ms_t`; the snippet sends the token with the first page view,
 * removes it from the address bar, and the page's segment is the contact's: `known: true`, the
 * link's category.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import type { CollectResponse } from '../../shared/wire.ts';
import {
  engines,
  startCollector,
  startProxy,
  waitFor,
  type Collector,
  type ShopProxy,
  type TestBrowser,
} from './support.ts';

const KEY = 'e2e-api-key-0123456789';
let collector: Collector;
let proxy: ShopProxy;

beforeAll(async () => {
  const demo = { allowLocalhost: true, allowAutomation: true, apiKeys: [KEY] };
  collector = await startCollector({ sites: { demo } });
  proxy = await startProxy(collector.url);
});
afterAll(async () => {
  await proxy?.close();
  await collector?.stop();
});

describe.each(engines)('email link end to end in %s', (engine) => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await engine.launch();
  });
  afterAll(() => browser?.close());

  it('opens a signed link, lands on the demo identified, with the category of the link', async () => {
    const contact = `crm-e2e-${engine.name}`;
    const to = `${proxy.url}/demo/?run=${engine.name}`;
    const made = await fetch(`${collector.url}/v1/links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        site: 'demo',
        links: [{ contact, to, category: 'cameras', campaign: 'spring', medium: 'email' }],
      }),
    });
    const link = ((await made.json()) as { links: { url: string }[] }).links[0]!.url;

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(link);
    const [first] = await waitFor(
      () =>
        proxy.exchanges.filter(
          (x) => x.path === '/v1/collect' && x.body.includes(`run=${engine.name}`),
        ),
      (x) => x.length > 0,
    );
    expect(first?.status).toBe(200);
    // The token went with the first batch: the collector identified the visitor from it.
    const body = JSON.parse(first!.answer) as CollectResponse;
    expect(body.identify).toEqual({ ok: true });
    expect(body.segment).toMatchObject({ known: true, category: 'cameras' });
    const visitor = body.segment!.visitor;

    // The token is gone from the address bar; the campaign and category stay.
    const landed = new URL(page.url());
    expect(landed.pathname).toBe('/demo/');
    expect(landed.searchParams.has('ms_t')).toBe(false);
    expect(landed.searchParams.get('utm_campaign')).toBe('spring');
    expect(landed.searchParams.get('ms_cat')).toBe('cameras');

    // The click (from /r) and the arrival are one profile: the contact's.
    const profile = await waitFor(
      async () => (await collector.storage.profile('demo', `c:${contact}`))?.profile,
      (p) => (p?.count ?? 0) >= 2,
    );
    expect(profile!.window.map((e) => e[1]).slice(0, 2)).toEqual(['email_click', 'page_view']);
    const seg = await (
      await fetch(`${collector.url}/v1/segment?site=demo&visitor=${visitor}`)
    ).json();
    expect(seg).toMatchObject({ known: true, category: 'cameras' });
    // The campaign and the link's category travel in the page view's url; the collector reads them.
    // Cleaning the URL was no navigation: one page view, a full load.
    const views = collector
      .events('demo')
      .filter((e) => e.type === 'page_view' && e.visitor === visitor);
    expect(views.map((e) => e.nav)).toEqual(['load']);
    const viewed = new URL(views[0]!.url!);
    expect(viewed.searchParams.has('ms_t')).toBe(false);
    expect(viewed.searchParams.get('utm_campaign')).toBe('spring');
    expect(viewed.searchParams.get('ms_cat')).toBe('cameras');
    expect(views[0]!.category).toBe('cameras');
    const utm = sqliteHandle(collector.storage).prepare(
      'select utm from events where site = ? and visitor = ? and type = ?',
    );
    expect(
      JSON.parse((utm.get('demo', visitor, 'page_view') as { utm: string }).utm),
    ).toMatchObject({
      campaign: 'spring',
      medium: 'email',
    });
    expect(page.errors).toEqual([]);
    await context.close();
  });
});
