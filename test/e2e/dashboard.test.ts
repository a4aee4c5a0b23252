/**
 * The dashboard in real Chromium on a real collector whose site was seeded through the real
 * ingest path (`seedAudience`, the code of `microseg seed`): sign in through the form, open the
 * Overview, Segments and person pages, and check that every figure shown is the JSON API's
 * (`GET /v1/stats`, `/v1/segments`, `/v1/visitors/:id`, the member export); axe-core finds no
 * serious or critical violation at 1280 and 390 px; the pages fit a phone without sideways scroll;
 * keyboard: the skip link; erasure asks first and then erases. Screenshots at both widths are
 * saved under test-results/dashboard/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigFile } from '../../collector/config/config.ts';
import type { StatsResponse, VisitorResponse } from '../../shared/stats.ts';
import {
  buildDashboardAssets,
  checkPage as checkPageAt,
  seededDashboard,
  signInPage,
} from './dashboard-support.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import type { Collector } from './support.ts';

const KEY = 'dash-e2e-key-0123456789';
const FILE = {
  sites: {
    shop: {
      origins: ['https://shop.example'],
      apiKeys: [KEY],
      categories: [
        { path: '/cameras/*', category: 'cameras' },
        { path: '/lenses/*', category: 'lenses' },
        { path: '/books/*', category: 'books' },
      ],
      rules: {
        'camera-intent': {
          when: { count: { type: 'page_view', category: 'cameras', within: '7d' }, gte: 3 },
        },
      },
      segment: { rfm: { minCustomers: 20 } },
    },
    other: { origins: ['https://other.example'], apiKeys: ['other-e2e-key-0123456789'] },
  },
} as ConfigFile;

let collector: Collector;
let browser: Browser;
let page: Page;

async function api<T>(path: string): Promise<T> {
  const res = await fetch(new URL(path, collector.url), {
    headers: { authorization: `Bearer ${KEY}` },
  });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

/** The text of every cell of `selector`'s body rows (header cell first), row by row. */
const tableRows = (selector: string) =>
  page.$$eval(`${selector} tbody tr`, (rows) =>
    rows.map((r) => [...r.querySelectorAll('th, td')].map((c) => (c.textContent ?? '').trim())),
  );

const num = (s: string | undefined) => Number((s ?? '').replace(/[,%+]/g, '').split(' ')[0]);

const checkPage = (name: string) => checkPageAt(page, name);

let errors: string[] = [];

beforeAll(async () => {
  buildDashboardAssets();
  ({ collector, browser, page, errors } = await seededDashboard(FILE, KEY, {
    visitors: 300,
    days: 20,
    seed: 7,
  }));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await collector?.stop();
});

describe('dashboard in Chromium', () => {
  it('keyboard: the first Tab reaches the skip link, which moves focus to the content', async () => {
    await page.goto(`${collector.url}/dashboard/?site=shop`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe(
      'Skip to content',
    );
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
  });

  it('Overview shows the figures of GET /v1/stats, with charts drawn', async () => {
    await page.goto(`${collector.url}/dashboard/?site=shop&range=30d`);
    const shown = page.locator('#range-shown');
    const from = await shown.getAttribute('data-from');
    const to = await shown.getAttribute('data-to');
    const stats = await api<StatsResponse>(`/v1/stats?site=shop&from=${from}&to=${to}&bucket=day`);

    const activity = await tableRows('#activity');
    expect(activity.length).toBe(stats.activity.length);
    expect(activity.map((r) => r.slice(1).map(num))).toEqual(
      stats.activity.map((b) => [b.visitors, b.contacts, b.events]),
    );
    const events = stats.activity.reduce((n, b) => n + b.events, 0);
    expect(events).toBeGreaterThan(100);
    expect(num((await page.textContent('#fig-events')) ?? '')).toBe(events);
    expect(num((await page.textContent('#fig-customers')) ?? '')).toBe(stats.rfm.customers);

    const lifecycle = await tableRows('#lifecycle-now');
    for (const row of lifecycle) {
      const stage = row[0]?.replace(/ /g, '_') as keyof StatsResponse['lifecycle']['now'];
      expect(num(row[1]), stage).toBe(stats.lifecycle.now[stage]);
    }
    const flow = new Map<string, number>();
    for (const f of stats.lifecycle.flow)
      flow.set(
        `${f.from ?? 'new'}>${f.to}`,
        (flow.get(`${f.from ?? 'new'}>${f.to}`) ?? 0) + f.count,
      );
    const flowRows = await page.$$eval('#lifecycle-flow tbody tr', (rows) =>
      rows.map((r) => [
        `${r.getAttribute('data-from')}>${r.getAttribute('data-to')}`,
        (r.querySelector('td.num')?.textContent ?? '').trim(),
      ]),
    );
    expect(new Map(flowRows.map(([k, v]) => [k, num(v)]))).toEqual(flow);

    const cells = await page.$$eval('#rfm td[data-r]', (tds) =>
      tds.map((td) => ({
        r: Number(td.getAttribute('data-r')),
        f: Number(td.getAttribute('data-f')),
        cls: td.className,
        n: (td.querySelector('.count')?.textContent ?? '').trim(),
      })),
    );
    expect(cells.length).toBe(25);
    for (const c of stats.rfm.cells) {
      const shownCell = cells.find((x) => x.r === c.r && x.f === c.f);
      expect(num(shownCell?.n), `R${c.r}F${c.f}`).toBe(c.customers);
      expect(shownCell?.cls).toBe(`rfm-${c.label}`);
    }

    const categories = await tableRows('#categories');
    expect(categories.map((r) => [r[0], num(r[1])])).toEqual(
      stats.categories.map((c) => [c.category, c.profiles]),
    );
    const engagement = await tableRows('#engagement');
    for (const row of engagement)
      expect(num(row[1])).toBe(stats.engagement[row[0] as keyof StatsResponse['engagement']]);

    const sizes = await page.$$eval('#sizes tbody tr', (rows) =>
      rows.map((r) => [
        r.getAttribute('data-segment'),
        (r.querySelectorAll('td.num')[1]?.textContent ?? '').trim(),
      ]),
    );
    expect(sizes.length).toBe(stats.segments.series.length);
    for (const [name, last] of sizes) {
      const s = stats.segments.series.find((x) => x.name === name);
      const lastValue = [...(s?.members ?? [])].reverse().find((v) => v !== null) ?? null;
      expect(last === '–' ? null : num(last ?? ''), String(name)).toBe(lastValue);
    }

    // Charts: the activity pair and the sizes, drawn by uPlot into canvases.
    await page.waitForSelector('.chart.drawn canvas');
    expect(await page.locator('.chart.drawn').count()).toBe(3);
    expect(errors).toEqual([]);
    await checkPage('overview');
  });

  it('Overview by hour (48 h) matches the API too', async () => {
    await page.goto(`${collector.url}/dashboard/?site=shop&range=48h`);
    const shown = page.locator('#range-shown');
    const from = await shown.getAttribute('data-from');
    const to = await shown.getAttribute('data-to');
    expect(await shown.getAttribute('data-bucket')).toBe('hour');
    const stats = await api<StatsResponse>(`/v1/stats?site=shop&from=${from}&to=${to}&bucket=hour`);
    const activity = await tableRows('#activity');
    expect(activity.map((r) => r.slice(1).map(num))).toEqual(
      stats.activity.map((b) => [b.visitors, b.contacts, b.events]),
    );
  });

  let member = '';

  it('Segments lists GET /v1/segments with the 7-day change; members page and export', async () => {
    await page.goto(`${collector.url}/dashboard/segments?site=shop`);
    const { segments } = await api<{ segments: { name: string; kind: string; members: number }[] }>(
      '/v1/segments?site=shop',
    );
    const rows = await page.$$eval('#segments tbody tr', (trs) =>
      trs.map((tr) => ({
        name: tr.getAttribute('data-segment'),
        kind: tr.getAttribute('data-kind'),
        members: (tr.querySelector('.members')?.textContent ?? '').trim(),
        change: (tr.querySelector('.change')?.textContent ?? '').trim(),
      })),
    );
    expect(rows.map((r) => [r.name, r.kind, num(r.members)])).toEqual(
      segments.map((s) => [s.name, s.kind, s.members]),
    );
    const now = Date.now();
    const week = await api<StatsResponse>(
      `/v1/stats?site=shop&from=${now - 7 * 86_400_000}&to=${now}&bucket=day`,
    );
    for (const r of rows) {
      const s = week.segments.series.find((x) => x.name === r.name && x.kind === r.kind);
      const before = s?.members.find((v) => v !== null) ?? null;
      const members = segments.find((x) => x.name === r.name && x.kind === r.kind)?.members ?? 0;
      expect(r.change === '–' ? null : num(r.change), String(r.name)).toBe(
        before === null ? null : members - before,
      );
    }
    await page.waitForSelector('.spark.drawn canvas');
    await checkPage('segments');

    // The biggest segment's members: page 1 is the export's first 50 rows, in its order.
    const biggest = segments[0];
    if (!biggest) throw new Error('no segment');
    await page.click(`#segments tbody tr[data-segment="${biggest.name}"] a`);
    await page.waitForSelector('#members');
    const shownMembers = await page.$$eval('#members tbody tr th a', (as) =>
      as.map((a) => (a.textContent ?? '').trim()),
    );
    const name = encodeURIComponent(biggest.name);
    const ndjson = await (
      await fetch(new URL(`/v1/segments/${name}/members?site=shop&format=ndjson`, collector.url), {
        headers: { authorization: `Bearer ${KEY}` },
      })
    ).text();
    const exported = ndjson
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { visitor?: string; profile?: string; contact?: string | null });
    expect(shownMembers.length).toBe(Math.min(50, biggest.members));
    expect(exported.length).toBe(biggest.members);
    // The dashboard's CSV button answers what the API's export answers.
    const csvHref = await page.getAttribute('a.button:text("CSV")', 'href');
    const dashCsv = await page.evaluate(async (u) => (await fetch(u ?? '')).text(), csvHref);
    const apiCsv = await (
      await fetch(new URL(`/v1/segments/${name}/members?site=shop&format=csv`, collector.url), {
        headers: { authorization: `Bearer ${KEY}` },
      })
    ).text();
    expect(dashCsv).toBe(apiCsv);
    await checkPage('segment-members');
    member = shownMembers.find((m) => !m.startsWith('c:')) ?? '';
    expect(member).not.toBe('');
  });

  it('a person page shows GET /v1/visitors/:id: segment, timeline newest first, history', async () => {
    await page.goto(`${collector.url}/dashboard/visitors/${member}?site=shop`);
    const v = await api<VisitorResponse>(`/v1/visitors/${member}?site=shop`);
    expect((await page.textContent('#segment-key'))?.trim()).toBe(v.segment.segment);
    const ids = await page.$$eval('#timeline tbody tr', (trs) =>
      trs.map((tr) => tr.getAttribute('data-event')),
    );
    expect(ids).toEqual(v.events.items.map((e) => e.id));
    const seqs = await page.$$eval('#history tbody tr', (trs) =>
      trs.map((tr) => Number(tr.getAttribute('data-seq'))),
    );
    expect(seqs).toEqual(v.history.items.map((h) => h.seq));
    expect(errors).toEqual([]);
    await checkPage('person');
  });

  it('a contact page reads as the contact (all its devices), as the API does for its browser', async () => {
    // A browser linked to a contact now (the seed's email arrivals).
    const link = sqliteHandle(collector.storage)
      .prepare(
        `select contact, visitor from links where site = 'shop' and visitor not like 'c:%' and expires > ? order by visitor limit 1`,
      )
      .get(Date.now()) as { contact: string; visitor: string } | undefined;
    if (!link) throw new Error('the seed linked no browser to a contact');
    const status = await page.goto(`${collector.url}/dashboard/contacts/${link.contact}?site=shop`);
    expect(status?.status()).toBe(200);
    const v = await api<VisitorResponse>(`/v1/visitors/${link.visitor}?site=shop`);
    expect(v.contact).toBe(link.contact);
    expect((await page.textContent('#segment-key'))?.trim()).toBe(v.segment.segment);
    const ids = await page.$$eval('#timeline tbody tr', (trs) =>
      trs.map((tr) => tr.getAttribute('data-event')),
    );
    expect(ids).toEqual(v.events.items.map((e) => e.id));
    await checkPage('contact');
  });

  it('signs out: back to the form, and the pages send there', async () => {
    const other = await browser.newContext();
    const p = await other.newPage();
    try {
      await signInPage(p, collector.url, KEY);
      await Promise.all([p.waitForNavigation(), p.click('form.signout button')]);
      expect(new URL(p.url()).pathname).toBe('/dashboard/login');
      await p.goto(`${collector.url}/dashboard/segments?site=shop`);
      expect(new URL(p.url()).pathname).toBe('/dashboard/login');
    } finally {
      await other.close();
    }
  });

  it('erasing asks for a confirmation, then erases what DELETE /v1/visitors/:id would', async () => {
    await page.goto(`${collector.url}/dashboard/visitors/${member}?site=shop`);
    await page.click('a.button:text("Erase…")');
    await page.waitForSelector('button.danger');
    // Nothing erased yet: the confirmation is a page of its own.
    expect(
      (
        await fetch(new URL(`/v1/visitors/${member}?site=shop`, collector.url), {
          headers: { authorization: `Bearer ${KEY}` },
        })
      ).status,
    ).toBe(200);
    await checkPage('erase-confirm');
    await Promise.all([page.waitForSelector('#erased'), page.click('button.danger')]);
    expect(await page.textContent('#erased')).toMatch(/Removed \d+ rows/);
    const after = await fetch(new URL(`/v1/visitors/${member}?site=shop`, collector.url), {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(after.status).toBe(404);
  });

  it('the sign-in form passes axe and fits a phone', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await fresh.newPage();
    const saved = page;
    page = p;
    try {
      await p.goto(`${collector.url}/dashboard/login`);
      await checkPage('login');
    } finally {
      page = saved;
      await fresh.close();
    }
  });
});
