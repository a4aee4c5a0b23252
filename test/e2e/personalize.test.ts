/**
 * On-page personalization in real Chromium: a first visit sees the generic shop, clicks in one
 * category make the segment `hot`, and a reload is personalized from the first paint, before the
 * collector has answered anything (the collect response is held).
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Route } from 'playwright-core';
import { launchChromium, startCollector, type Collector } from './support.ts';

let browser: Browser;
let collector: Collector;

beforeAll(async () => {
  [browser, collector] = await Promise.all([launchChromium(), startCollector()]);
});
afterAll(async () => {
  await browser?.close();
  await collector?.stop();
});

/** Banners a visitor can see right now: not `hidden`, not masked by the anti-flicker style. */
const visibleBanners = (page: Page) =>
  page.$$eval('[data-banner]', (els) =>
    els.filter((el) => getComputedStyle(el).display !== 'none' && getComputedStyle(el).visibility !== 'hidden').map((el) => (el as HTMLElement).dataset.banner),
  );

describe('personalized demo', () => {
  it('shows the category banner to a hot visitor from the first paint of the next load', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Before every paint, note which banners show; a flicker would leave the generic one in this list.
    await context.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { bannerHistory: string[] }).bannerHistory = seen;
      let frames = 0;
      const look = () => {
        const shown = [...document.querySelectorAll<HTMLElement>('[data-banner]')]
          .filter((el) => getComputedStyle(el).display !== 'none' && getComputedStyle(el).visibility !== 'hidden')
          .map((el) => el.dataset.banner)
          .join(',');
        if (seen[seen.length - 1] !== shown) seen.push(shown);
        if (document.readyState !== 'complete' || ++frames < 10) requestAnimationFrame(look);
      };
      requestAnimationFrame(look);
    });
    const page = await context.newPage();

    // First visit: no segment yet, so the generic banner and row.
    const answered = page.waitForResponse((r) => r.url().endsWith('/v1/collect'));
    await page.goto(`${collector.url}/demo/`);
    expect((await answered).status()).toBe(200);
    await page.waitForSelector('html[data-ms-category="none"]:not(.ms-pending)', { state: 'attached' });
    expect(await visibleBanners(page)).toEqual(['default']);

    // Three camera events within a week make the visitor hot (engine default); the page follows live.
    await page.click('nav a[href="/demo/cameras"]');
    await page.click('section[data-view="/demo/cameras"] a[href="/demo/cameras/pocket-35"]');
    await page.waitForSelector('html[data-ms-category="cameras"][data-ms-engagement="hot"]', { state: 'attached', timeout: 5000 });
    expect(await visibleBanners(page)).toEqual(['cameras']);
    await expect(page.isVisible('[data-banner="cameras"] .offer')).resolves.toBe(true);

    // Reload with every collector answer held: what shows now comes from the snippet's cache alone.
    const held: Route[] = [];
    let holding = true;
    await page.route(/\/v1\/(collect|segment)/, (route) => void (holding ? held.push(route) : route.continue()));
    await page.reload();
    await expect.poll(() => held.length).toBeGreaterThan(0);
    expect(held.every((r) => r.request().url().endsWith('/v1/collect'))).toBe(true);
    expect(await visibleBanners(page)).toEqual(['cameras']);
    await expect(page.isVisible('[data-banner="cameras"] .offer')).resolves.toBe(true);
    await expect(page.isVisible('[data-row="cameras"]')).resolves.toBe(true);
    await expect(page.isVisible('[data-row="default"]')).resolves.toBe(false);
    // No frame of this load ever showed the generic banner.
    const history = await page.evaluate(() => (window as unknown as { bannerHistory: string[] }).bannerHistory);
    expect(history.filter((s) => s !== '')).toEqual(['cameras']);
    await expect(page.textContent('#seg-key')).resolves.toBe('newbie:cameras:hot');

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/personalized-demo.png' });

    // Released, the fresh answer agrees with the cache.
    holding = false;
    const fresh = page.waitForResponse((r) => r.url().endsWith('/v1/collect'));
    for (const r of held) await r.continue();
    expect(((await (await fresh).json()) as { segment: { segment: string } }).segment.segment).toBe('newbie:cameras:hot');
    expect(await visibleBanners(page)).toEqual(['cameras']);
    await context.close();
  });
});
