/**
 * The dashboard's Live and Deliveries pages in real Chromium against a real collector: signed in
 * through the form, Live shows a batch from a disallowed origin and an accepted one as they
 * arrive, with their outcomes and the fix; Deliveries replays a failed delivery from its button
 * and the receiver gets it. Each page passes axe-core (no serious or critical violation) and is
 * saved at 1280 and 390 px wide under test-results/dashboard/.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDashboardAssets,
  screenshotAt,
  seriousViolations,
  signInPage,
} from './dashboard-support.ts';
import { type Collector, launchChromium, startCollector } from './support.ts';

const KEY = 'shop-dashboard-key-0123456789';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36';

let collector: Collector;
let browser: Browser;
let receiver: Server;
/** What the webhook receiver answers; it counts what it got. */
const rx = { status: 500, got: [] as string[] };

beforeAll(async () => {
  buildDashboardAssets();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      rx.got.push(body);
      res.writeHead(rx.status).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  collector = await startCollector({
    sites: {
      shop: {
        origins: ['https://shop.example'],
        apiKeys: [KEY],
        webhooks: [
          {
            id: 'crm',
            segment: 'key:*',
            on: 'enter',
            url: hook,
            secret: 'webhook-secret-0123456789',
          },
        ],
      },
    },
    delivery: { attempts: 1, pollMs: 50 },
  } as never);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await collector?.stop();
  receiver?.close();
});

async function signedInPage(): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signInPage(page, collector.url, KEY);
  return page;
}

const send = (origin: string, visitor: string) =>
  fetch(`${collector.url}/v1/collect`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin, 'user-agent': UA },
    body: JSON.stringify({
      site: 'shop',
      visitor,
      events: [
        { id: `${visitor}-1`, type: 'page_view', ts: Date.now(), url: 'https://shop.example/p' },
      ],
    }),
  });

describe('dashboard Live (Chromium)', () => {
  it('shows a refused batch from a disallowed origin and an accepted one, with outcome and fix', async () => {
    const page = await signedInPage();
    await page.goto(`${collector.url}/dashboard/live?site=shop`);
    await page.waitForFunction(() =>
      document.querySelector('[data-live="status"]')?.textContent?.startsWith('Following'),
    );
    expect((await send('https://evil.example', 'v-evil')).status).toBe(403);
    expect((await send('https://shop.example', 'v-ok')).status).toBe(200);
    const refused = page.locator('.live-row.outcome-origin_not_allowed');
    const accepted = page.locator('.live-row.outcome-accepted');
    await refused.waitFor();
    await accepted.waitFor();
    const refusedText = (await refused.textContent()) ?? '';
    expect(refusedText).toContain('Origin not allowed');
    expect(refusedText).toContain('https://evil.example');
    expect(refusedText).toContain('add "https://evil.example" to sites.shop.origins');
    expect((await accepted.textContent()) ?? '').toContain('Accepted');
    // Newest first: the accepted batch came second, so it is on top.
    expect(await page.locator('.live-row').first().getAttribute('class')).toContain(
      'outcome-accepted',
    );
    // The filter hides what it does not ask for; pause holds new rows.
    await page.selectOption('#live-filter', 'problems');
    expect(await accepted.isHidden()).toBe(true);
    await page.selectOption('#live-filter', '');
    await page.click('[data-live="pause"]');
    expect(await page.getAttribute('[data-live="pause"]', 'aria-pressed')).toBe('true');
    await send('https://evil.example', 'v-evil-2');
    await page.waitForFunction(() =>
      document.querySelector('[data-live="status"]')?.textContent?.includes('1 new entries'),
    );
    expect(await page.locator('.live-row').count()).toBe(2);
    await page.click('[data-live="pause"]');
    expect(await page.locator('.live-row').count()).toBe(3);

    expect(await seriousViolations(page)).toEqual([]);
    await screenshotAt(page, 'live', 1280);
    await screenshotAt(page, 'live', 390);
    expect(await seriousViolations(page)).toEqual([]);
    await page.context().close();
  });
});

describe('dashboard Deliveries (Chromium)', () => {
  it('replays a failed delivery from its button, and the receiver gets it', async () => {
    // A delivery that failed its one attempt (the receiver answers 500).
    const [id] = await collector.storage.write((tx) =>
      tx.outbox.enqueue(
        [
          {
            site: 'shop',
            visitor: 'v-ok',
            contact: null,
            hook: 'crm',
            url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
            segment: 'key:*',
            change: 'enter',
            body: (d) => JSON.stringify({ id: d }),
          },
        ],
        Date.now(),
      ),
    );
    if (!id) throw new Error('not enqueued');
    const failed = async () =>
      (await collector.storage.outbox.list('shop', { status: 'failed', limit: 100 })).some(
        (d) => d.id === id,
      );
    for (let i = 0; i < 100 && !(await failed()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await failed()).toBe(true);

    const page = await signedInPage();
    await page.goto(`${collector.url}/dashboard/deliveries?site=shop&status=failed`);
    expect(await page.textContent('table.deliveries')).toContain(id);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotAt(page, 'deliveries', 1280);
    await screenshotAt(page, 'deliveries', 390);
    expect(await seriousViolations(page)).toEqual([]);

    rx.status = 204;
    const before = rx.got.length;
    await Promise.all([
      page.waitForURL(/replayed=/),
      page.click(`button[aria-label="Replay delivery ${id}"]`),
    ]);
    expect(await page.textContent('[role="status"]')).toContain(id);
    for (let i = 0; i < 100 && rx.got.length === before; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(rx.got.slice(before).some((b) => b.includes(id))).toBe(true);
    let status = '';
    for (let i = 0; i < 50 && status !== 'delivered'; i++) {
      status = (await collector.storage.outbox.get('shop', id))?.status ?? '';
      if (status !== 'delivered') await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('delivered');
    await page.goto(`${collector.url}/dashboard/deliveries?site=shop&status=delivered`);
    expect(await page.textContent('table.deliveries')).toContain(id);
    await page.context().close();
  });
});
