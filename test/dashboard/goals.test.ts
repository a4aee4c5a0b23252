/**
 * The Goals page behind the session (no browser; test/e2e/dashboard-goals.test.ts runs it in
 * Chromium): a goal trained on a planted-signal site shows its stored holdout figures, an
 * untrained one says the heuristic serves, Train now trains (a CSRF-checked POST, 303 back with a
 * notice) and refuses a second press too soon and a press while another training runs; refusals
 * (no session, no CSRF token, another site's goals). Train now fits in the worker thread
 * (dist/goals-worker.mjs: `node build.mjs` first). Runs on SQLite and PostgreSQL (PG_SUITES).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigFile, parseConfig, type SiteConfig } from '../../collector/config/config.ts';
import { fixed, share } from '../../collector/dashboard/format.ts';
import { type StoredReport, trainGoal } from '../../collector/goals/trainer.ts';
import { createApp } from '../../collector/http/app.ts';
import { placeholderSnippets } from '../../collector/http/snippet-asset.ts';
import { runtimeRules, type RuntimeRules } from '../../collector/rules/runtime.ts';
import { openTestStorage, type TestStorage } from '../support/backend.ts';
import { storeEvents } from '../goals/store.ts';
import { syntheticSite } from '../goals/synthetic.ts';
import { dashRequest, KEY_A, KEY_B, type Signed, signIn } from './support.ts';

const CAMERA = { event: 'purchase', category: 'cameras', within: '7d' };
const CONFIG: ConfigFile = {
  sites: {
    a: {
      origins: ['https://a.example'],
      apiKeys: [KEY_A],
      goals: {
        'camera-buyer': CAMERA,
        'camera-press': { ...CAMERA, description: 'trained by the Train now button' },
        'never-trained': { event: 'signup', within: '30d' },
      },
    },
    b: {
      origins: ['https://b.example'],
      apiKeys: [KEY_B],
      goals: { 'b-secret-goal': { event: 'purchase', category: 'yachts', within: '14d' } },
    },
  },
};
const END = Date.UTC(2026, 5, 1);

let db: TestStorage;
let rules: RuntimeRules;
let app: ReturnType<typeof createApp>;
let site: SiteConfig;
let me: Signed;
let report: StoredReport;

beforeAll(async () => {
  db = await openTestStorage();
  const config = parseConfig(CONFIG);
  const a = config.sites.get('a');
  if (!a) throw new Error('no site a');
  site = a;
  await storeEvents(
    db.storage,
    'a',
    syntheticSite({ visitors: 1500, weeks: 8, end: END, signal: true, seed: 21 }),
  );
  report = await trainGoal(db.storage, site, 'camera-buyer', CAMERA, { now: END, inline: true });
  rules = runtimeRules(db.storage, config, { checkMs: 60_000 });
  await rules.ready;
  app = createApp({
    storage: db.storage,
    config,
    now: () => END,
    snippets: placeholderSnippets(),
    rules,
  });
  me = await signIn(app, KEY_A);
}, 120_000);
afterAll(async () => {
  rules?.stop();
  await db?.close();
});

const get = (path: string, who: Signed | null = me) =>
  dashRequest(app, path, { headers: who ? { cookie: who.cookie } : {} });

/** Train now as the page's form sends it (same origin, the session's CSRF field). */
const press = (goal: string, opts: { csrf?: string | null; siteId?: string } = {}) =>
  dashRequest(app, `/dashboard/goals/${goal}/train?site=${opts.siteId ?? 'a'}`, {
    method: 'POST',
    headers: {
      cookie: me.cookie,
      origin: 'http://localhost',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(opts.csrf === null ? {} : { csrf: opts.csrf ?? me.csrf }).toString(),
  });

/** The text of an element with `data-figure="NAME"`. */
const figure = (html: string, name: string) =>
  new RegExp(`data-figure="${name}">([^<]*)<`).exec(html)?.[1]?.trim();

describe('the Goals page', () => {
  it('needs a session: a page sends to the sign-in form, a POST is 401', async () => {
    const page = await get('/dashboard/goals?site=a', null);
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/dashboard/login');
    const one = await get('/dashboard/goals/camera-buyer?site=a', null);
    expect(one.status).toBe(303);
    const post = await dashRequest(app, '/dashboard/goals/camera-press/train?site=a', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(post.status).toBe(401);
  });

  it("keeps site B's goals from site A's session", async () => {
    for (const path of ['/dashboard/goals?site=b', '/dashboard/goals/b-secret-goal?site=b']) {
      const res = await get(path);
      expect(res.status, path).toBe(403);
      expect(await res.text()).not.toContain('b-secret-goal');
    }
    expect((await press('b-secret-goal', { siteId: 'b' })).status).toBe(403);
    expect(await db.storage.goals.model('b', 'b-secret-goal')).toBeUndefined();
    // Site A's own goals do not include B's, whatever the name asked for.
    expect((await get('/dashboard/goals/b-secret-goal?site=a')).status).toBe(404);
  });

  it('lists every goal with its state and the figures of its stored training, in the navigation', async () => {
    const res = await get('/dashboard/goals?site=a');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(
      /<a class="navlink" href="\/dashboard\/goals\?site=a" aria-current="page">/,
    );
    const row = (name: string) =>
      new RegExp(`<tr data-goal="${name}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
    const trained = row('camera-buyer');
    const h = report.holdout;
    if (!h) throw new Error('no holdout');
    expect(report.status).toBe('model');
    expect(trained).toContain('Model serves');
    expect(trained).toContain('purchase · category cameras · within 7d');
    expect(trained).toContain(`<td class="num auc">${fixed(h.auc, 3)}</td>`);
    expect(trained).toContain(
      `<td class="num heuristic-auc">${fixed(report.heuristic?.auc, 3)}</td>`,
    );
    expect(trained).toContain(`<td class="beats">yes</td>`);
    expect(trained).toContain(`${fixed(h.brier, 4)}</td>`);
    expect(trained).toContain(`${fixed(h.topDecileLift, 2)}×</td>`);
    expect(trained).toContain(`${share(h.baseRate)}</td>`);
    expect(trained).toContain(`${fixed(h.calibrationError, 4)}</td>`);
    expect(trained).toContain(
      `train ${report.train.examples.toLocaleString('en-US')} (${report.train.positives.toLocaleString('en-US')})`,
    );
    const untrained = row('never-trained');
    expect(untrained).toContain('Untrained: the intent heuristic serves');
    expect(trained).toContain('trained 2026-06-01 00:00');
  });

  it('shows one trained goal in full: figures, calibration deciles and chart, features', async () => {
    const res = await get('/dashboard/goals/camera-buyer?site=a');
    expect(res.status).toBe(200);
    const html = await res.text();
    const h = report.holdout;
    if (!h) throw new Error('no holdout');
    expect(figure(html, 'auc')).toBe(fixed(h.auc, 3));
    expect(figure(html, 'heuristic-auc')).toBe(fixed(report.heuristic?.auc, 3));
    expect(figure(html, 'beats')).toBe('yes');
    expect(figure(html, 'brier')).toBe(fixed(h.brier, 4));
    expect(figure(html, 'lift')).toBe(`${fixed(h.topDecileLift, 2)}×`);
    expect(figure(html, 'base-rate')).toBe(share(h.baseRate));
    expect(figure(html, 'calibration-error')).toBe(fixed(h.calibrationError, 4));
    const table = /<table id="calibration"[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    const rows = [
      ...table.matchAll(/<tr><th scope="row" class="num">(\d+)<\/th>([\s\S]*?)<\/tr>/g),
    ];
    expect(rows).toHaveLength(10);
    rows.forEach((r, i) => {
      const bin = h.calibration[i];
      expect(r[2]).toContain(
        `${share(bin?.predicted)}</td><td class="num">${share(bin?.observed)}`,
      );
    });
    // The chart: one point per decile, drawn on the server (no script needed).
    const svg = /<svg class="calibration-chart"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    expect(svg.match(/<circle class="decile"/g)).toHaveLength(10);
    expect(html).toContain('<code>discount_hot.cameras</code>');
    expect(html).toMatch(/action="\/dashboard\/goals\/camera-buyer\/train\?site=a"/);
  });

  it('says when a goal is untrained, with no figures', async () => {
    const html = await (await get('/dashboard/goals/never-trained?site=a')).text();
    expect(html).toContain('Untrained: the intent heuristic serves');
    expect(html).toContain('Trained</dt><dd>never');
    expect(figure(html, 'auc')).toBeUndefined();
    expect((await get('/dashboard/goals/nope?site=a')).status).toBe(404);
  });

  it('Train now: refused without the CSRF token, then trains, stores and says so', async () => {
    const bad = await press('camera-press', { csrf: null });
    expect(bad.status).toBe(403);
    const wrong = await press('camera-press', { csrf: 'not-the-token' });
    expect(wrong.status).toBe(403);
    expect(await db.storage.goals.model('a', 'camera-press')).toBeUndefined();

    const res = await press('camera-press');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/goals/camera-press?site=a&trained=done');
    const stored = await db.storage.goals.model('a', 'camera-press');
    expect(stored).toMatchObject({ status: 'model', trained: END });
    const html = await (await get(res.headers.get('location') ?? '')).text();
    expect(html).toMatch(/role="status">Trained: the model serves \(holdout AUC 0\.\d{3}\)/);

    // A second press so soon is refused and trains nothing.
    const again = await press('camera-press');
    expect(again.headers.get('location')).toContain('trained=recent');
    expect((await db.storage.goals.model('a', 'camera-press'))?.evaluation).toBe(
      stored?.evaluation,
    );
  });

  it('Train now while another training runs says so and trains nothing', async () => {
    const running = trainGoal(db.storage, site, 'camera-buyer', CAMERA, {
      now: END + 1,
      inline: true,
    });
    const res = await press('never-trained');
    await running;
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toContain('trained=busy');
    expect(await db.storage.goals.model('a', 'never-trained')).toBeUndefined();
    const html = await (await get(res.headers.get('location') ?? '')).text();
    expect(html).toContain('another training is running');
  });
});
