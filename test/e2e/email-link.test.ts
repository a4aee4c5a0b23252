/**
 * A signed email link in real Chromium: the collector's /r records the click and redirects to the
 * demo shop with `ms_t`; the snippet sends the token with the first page view, removes it from the
 * address bar, and the page's segment is the contact's: `known: true`, the link's category.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { CollectResponse } from '../../shared/wire.ts';
import { launchChromium, startCollector, waitFor, type Collector } from './support.ts';

const KEY = 'e2e-api-key-0123456789';
let browser: Browser;
let collector: Collector;

beforeAll(async () => {
  [browser, collector] = await Promise.all([
    launchChromium(),
    startCollector({ sites: { demo: { allowLocalhost: true, allowAutomation: true, apiKeys: [KEY] } } }),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await collector?.stop();
});

describe('email link end to end', () => {
  it('opens a signed link, lands on the demo identified, with the category of the link', async () => {
    const made = await fetch(`${collector.url}/v1/links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        site: 'demo',
        links: [{ contact: 'crm-e2e', to: `${collector.url}/demo/`, category: 'cameras', campaign: 'spring', medium: 'email' }],
      }),
    });
    const link = ((await made.json()) as { links: { url: string }[] }).links[0]!.url;

    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const firstBatch = page.waitForResponse((r) => r.url().endsWith('/v1/collect') && r.request().method() === 'POST');
    await page.goto(link);
    const res = await firstBatch;
    const sent = JSON.parse(res.request().postData() ?? '{}') as { token?: string; visitor: string; events: { type: string; url: string }[] };
    const body = (await res.json()) as CollectResponse;

    expect(res.status()).toBe(200);
    expect(sent.token).toMatch(/^[A-Za-z0-9_-]+$/);
    // The campaign and the link's category travel in the page view's url; the collector reads them.
    expect(sent.events[0]!.type).toBe('page_view');
    const viewed = new URL(sent.events[0]!.url);
    expect(viewed.searchParams.get('utm_campaign')).toBe('spring');
    expect(viewed.searchParams.get('ms_cat')).toBe('cameras');
    expect(body.identify).toEqual({ ok: true });
    expect(body.segment).toMatchObject({ known: true, category: 'cameras' });

    // The token is gone from the address bar; the campaign and category stay.
    const landed = new URL(page.url());
    expect(landed.pathname).toBe('/demo/');
    expect(landed.searchParams.has('ms_t')).toBe(false);
    expect(landed.searchParams.get('utm_campaign')).toBe('spring');
    expect(landed.searchParams.get('ms_cat')).toBe('cameras');

    // The click (from /r) and the arrival are one profile: the contact's.
    const profile = await waitFor(
      () => collector.storage.profile('demo', 'c:crm-e2e')?.profile,
      (p) => (p?.count ?? 0) >= 2,
    );
    expect(profile!.window.map((e) => e[1]).slice(0, 2)).toEqual(['email_click', 'page_view']);
    const seg = await (await fetch(`${collector.url}/v1/segment?site=demo&visitor=${sent.visitor}`)).json();
    expect(seg).toMatchObject({ known: true, category: 'cameras' });
    // Cleaning the URL was no navigation: one page view, a full load.
    const views = collector.events('demo').filter((e) => e.type === 'page_view' && e.visitor === sent.visitor);
    expect(views.map((e) => e.nav)).toEqual(['load']);
    expect(views[0]!.url).not.toContain('ms_t');
    expect(views[0]!.category).toBe('cameras');
    const utm = collector.storage.db.$client.prepare('select utm from events where site = ? and visitor = ? and type = ?');
    expect(JSON.parse((utm.get('demo', sent.visitor, 'page_view') as { utm: string }).utm)).toMatchObject({ campaign: 'spring', medium: 'email' });
    expect(errors).toEqual([]);
  });
});
