/**
 * The Goals page in real Chromium on a real collector whose site was seeded through the real
 * ingest path (`seedAudience`, the code of `microseg seed`), one goal trained on it: the list and
 * the goal's page show the figures of `GET /v1/goals/:name/model`, and its buckets the counts of
 * `GET /v1/goals/:name/audience` (all visitors, then narrowed by the filter form: a custom segment
 * and `region = NY`, set on some contacts); Train now trains; axe-core finds no serious or
 * critical violation at 1280 and 390 px, neither page scrolls sideways on a phone; the page works
 * without a script error under the dashboard's CSP. Screenshots under test-results/dashboard/
 * (goal-top-1280.png is the README's docs/dashboard-goals.png).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigFile } from '../../collector/config/config.ts';
import { trainGoal } from '../../collector/goals/trainer.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ARTIFACTS, checkPage as checkPageAt, seededDashboard } from './dashboard-support.ts';
import type { Collector } from './support.ts';

const KEY = 'goals-e2e-key-0123456789';
const BUYER = { event: 'purchase', within: '14d', description: 'buys anything within two weeks' };
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
        'camera-curious': {
          when: { count: { type: 'page_view', category: 'cameras', within: '14d' }, gte: 2 },
        },
      },
      goals: {
        buyer: BUYER,
        'camera-buyer': { event: 'purchase', category: 'cameras', within: '14d' },
      },
    },
  },
} as ConfigFile;

let collector: Collector;
let browser: Browser;
let page: Page;
let errors: string[] = [];

interface ModelAnswer {
  status: string;
  evaluation: {
    holdout: {
      auc: number | null;
      brier: number;
      calibration: { decile: number; predicted: number; observed: number }[];
    } | null;
    heuristic?: { auc: number | null };
  } | null;
}

interface AudienceAnswer {
  source: string;
  total: number;
  buckets: Record<string, number>;
  expected: number | null;
  partial: boolean;
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(new URL(path, collector.url), {
    ...init,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
  });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

const checkPage = (name: string) => checkPageAt(page, name);

beforeAll(async () => {
  // The dashboard's client files and the training's child process Train now runs (dist/goals-trainer.mjs).
  execFileSync(process.execPath, ['build.mjs', '--collector'], {
    cwd: join(import.meta.dirname, '../..'),
    stdio: 'ignore',
  });
  const seed = { visitors: 2000, days: 60, seed: 5 };
  ({ collector, browser, page, errors } = await seededDashboard(
    FILE,
    KEY,
    seed,
    async (c, site, now) => {
      collector = c; // what `api` calls
      await trainGoal(c.storage, site, 'buyer', BUYER, { now, inline: true });
      // Some contacts of the seed live in New York (a trait set by the site's backend).
      const contacts = sqliteHandle(c.storage)
        .prepare(`select distinct contact from links where site = 'shop' order by contact limit 60`)
        .all() as { contact: string }[];
      for (const [i, { contact }] of contacts.entries())
        await api(`/v1/contacts/${contact}/traits?site=shop`, {
          method: 'PUT',
          body: JSON.stringify({ region: i % 2 === 0 ? 'NY' : 'CA' }),
        });
      // The collector serves the new model once its poll sees it (about a second).
      for (let i = 0; i < 100; i++) {
        const a = await api<AudienceAnswer>('/v1/goals/buyer/audience?site=shop');
        if (a.source === 'model') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  ));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await collector?.stop();
});

describe('the Goals page in Chromium', () => {
  it('lists the goals with the figures of the model answer, accessibly', async () => {
    await page.goto(`${collector.url}/dashboard/goals?site=shop`);
    const model = await api<ModelAnswer>('/v1/goals/buyer/model?site=shop');
    const auc = model.evaluation?.holdout?.auc;
    expect(await page.textContent('[data-goal="buyer"] .auc')).toBe(
      auc === null || auc === undefined ? '–' : auc.toFixed(3),
    );
    expect(await page.textContent('[data-goal="camera-buyer"] .state')).toContain('Untrained');
    await checkPage('goals');
  });

  it("shows one goal: the model answer's figures, the calibration deciles and chart", async () => {
    await page.click('[data-goal="buyer"] a');
    await page.waitForURL(/\/dashboard\/goals\/buyer\?/);
    const model = await api<ModelAnswer>('/v1/goals/buyer/model?site=shop');
    const h = model.evaluation?.holdout;
    expect(model.status).toBe('model');
    if (!h) throw new Error('no holdout');
    expect(await page.textContent('[data-figure="auc"]')).toBe(h.auc?.toFixed(3));
    expect(await page.textContent('[data-figure="brier"]')).toBe(h.brier.toFixed(4));
    const rows = await page.$$eval('#calibration tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim())),
    );
    expect(rows.map((r) => [r[1], r[2]])).toEqual(
      h.calibration.map((b) => [
        `${(b.predicted * 100).toFixed(1)}%`,
        `${(b.observed * 100).toFixed(1)}%`,
      ]),
    );
    expect(await page.locator('svg.calibration-chart circle.decile').count()).toBe(
      h.calibration.length,
    );
    await checkPage('goal');
    // The README's picture (docs/dashboard-goals.png): the page's top, down to the quality figures.
    const figures = await page.locator('.goal-figures').boundingBox();
    await page.screenshot({
      path: join(ARTIFACTS, 'goal-top-1280.png'),
      fullPage: true,
      clip: {
        x: 0,
        y: 0,
        width: 1280,
        height: Math.round((figures?.y ?? 1200) + (figures?.height ?? 200) + 12),
      },
    });
    expect(errors).toEqual([]);
  });

  it("shows the buckets of the site's visitors as the audience API counts them; the form narrows them", async () => {
    await page.goto(`${collector.url}/dashboard/goals/buyer?site=shop`);
    const shown = () =>
      page.$$eval('#audience tbody tr', (trs) =>
        Object.fromEntries(
          trs.map((tr) => [
            tr.getAttribute('data-bucket'),
            Number((tr.querySelector('td.count')?.textContent ?? '').replace(/,/g, '')),
          ]),
        ),
      );
    const all = await api<AudienceAnswer>('/v1/goals/buyer/audience?site=shop');
    expect(all).toMatchObject({ source: 'model', partial: false });
    expect(all.total).toBeGreaterThan(100);
    expect(await shown()).toEqual(all.buckets);
    expect(await page.textContent('[data-figure="audience-expected"]')).toBe(
      all.expected?.toFixed(1),
    );
    // "How many New York visitors who looked at cameras will buy?": the form, without a script.
    await page.selectOption('#aud-segment', 'camera-curious');
    await page.fill('#aud-trait', 'region');
    await page.fill('#aud-value', 'NY');
    await Promise.all([page.waitForNavigation(), page.click('.audience-filter button')]);
    expect(page.url()).toContain('segment=camera-curious');
    const narrowed = await api<AudienceAnswer>(
      '/v1/goals/buyer/audience?site=shop&segment=camera-curious&trait.region=NY',
    );
    expect(narrowed.total).toBeGreaterThan(0);
    expect(narrowed.total).toBeLessThan(all.total);
    expect(await shown()).toEqual(narrowed.buckets);
    expect(await page.inputValue('#aud-value')).toBe('NY');
    await checkPage('goal-filtered');
    expect(errors).toEqual([]);
  });

  it('Train now in the browser: the form (CSRF field, same origin) trains and comes back with the outcome', async () => {
    await page.goto(`${collector.url}/dashboard/goals/camera-buyer?site=shop`);
    expect(await page.textContent('.model-state')).toContain('Untrained');
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.click('form.train button'),
    ]);
    expect(response?.url()).toContain('trained=done');
    expect(await page.textContent('[role="status"].notice')).toMatch(/^Trained/);
    const model = await api<ModelAnswer>('/v1/goals/camera-buyer/model?site=shop');
    expect(model.status).not.toBe('untrained');
    expect(errors).toEqual([]);
  });
});
