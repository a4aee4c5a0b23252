/**
 * The Goals page behind the session (no browser; test/e2e/dashboard-goals.test.ts runs it in
 * Chromium): a goal trained on a planted-signal site shows its stored holdout figures, an
 * untrained one says the heuristic serves, Train now trains (a CSRF-checked POST, 303 back with a
 * notice) and refuses a second press too soon and a press while another training runs; refusals
 * (no session, no CSRF token, another site's goals). The buckets: contacts sent through
 * `POST /v1/events` (each event at its own time, some with `region: NY`), counted on the page as
 * `goalAudience` counts them, all and narrowed by the filter form (a custom segment, a trait).
 * Train now fits in the training's child process
 * (dist/goals-trainer.mjs: `node build.mjs` first). Runs on SQLite and PostgreSQL (PG_SUITES).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigFile, parseConfig, type SiteConfig } from '../../collector/config/config.ts';
import { fixed, share } from '../../collector/dashboard/format.ts';
import { goalKey } from '../../collector/goals/goal.ts';
import { type StoredReport, trainGoal } from '../../collector/goals/trainer.ts';
import { createApp } from '../../collector/http/app.ts';
import { placeholderSnippets } from '../../collector/http/snippet-asset.ts';
import { goalAudience } from '../../collector/goals/audience.ts';
import { type RuntimeGoals, runtimeGoals } from '../../collector/goals/runtime.ts';
import { runtimeRules, type RuntimeRules } from '../../collector/rules/runtime.ts';
import type { Intent } from '../../shared/segment.ts';
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
      rules: {
        'camera-curious': {
          when: { count: { type: 'page_view', category: 'cameras', within: '7d' }, gte: 2 },
        },
      },
      goals: {
        'camera-buyer': CAMERA,
        'camera-press': { ...CAMERA, description: 'trained by the Train now button' },
        'never-trained': { event: 'signup', within: '30d' },
        'too-little': { event: 'signup', within: '14d' },
        changed: { event: 'signup', within: '7d' },
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
let goals: RuntimeGoals;
let clock = END;
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
  goals = runtimeGoals(db.storage, config, { checkMs: 60_000 });
  await Promise.all([rules.ready, goals.ready]);
  app = createApp({
    storage: db.storage,
    config,
    now: () => clock,
    snippets: placeholderSnippets(),
    rules,
    goals,
  });
  await sendContacts(30);
  me = await signIn(app, KEY_A);
}, 120_000);
afterAll(async () => {
  rules?.stop();
  goals?.stop();
  await db?.close();
});

/**
 * `n` contacts of another seed of the synthetic site, their events sent through `POST /v1/events`
 * each at its own time (so the profiles are what ingest builds); every third is `region: NY`.
 */
async function sendContacts(n: number) {
  const other = syntheticSite({ visitors: n, weeks: 8, end: END, signal: true, seed: 77 });
  const all = [...other.histories.values()].flatMap((events, i) =>
    events.map((e) => ({ contact: `cu-${i}`, region: i % 3 === 0 ? 'NY' : 'CA', e })),
  );
  all.sort((x, y) => x.e.ts - y.e.ts);
  const traitsSent = new Set<string>();
  for (const [k, { contact, region, e }] of all.entries()) {
    clock = Math.round(e.ts) + 1;
    const first = !traitsSent.has(contact);
    traitsSent.add(contact);
    const res = await app.request('http://localhost/v1/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [
          {
            site: 'a',
            contact,
            id: `cu-ev-${k}`,
            type: e.type,
            ts: Math.round(e.ts),
            ...(e.category === null ? {} : { category: e.category }),
            ...(e.value === null ? {} : { value: e.value }),
            ...(e.utm === null ? {} : { utm: e.utm }),
            ...(first ? { traits: { region } } : {}),
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
  }
  clock = END;
}

/** The bucket counts the page shows (`#audience`), and its total. */
function shownBuckets(html: string) {
  const out: Record<string, number> = {};
  for (const m of html.matchAll(
    /<tr data-bucket="(\w+)"><th scope="row">[^<]*<\/th><td class="num count">([\d,]+)<\/td>/g,
  ))
    out[m[1] ?? ''] = Number((m[2] ?? '').replace(/,/g, ''));
  const total = Number((figure(html, 'audience-total') ?? '').replace(/,/g, ''));
  return { buckets: out as Record<Intent, number>, total };
}

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

  it("shows the buckets of the site's visitors now as goalAudience counts them, and the filter narrows them", async () => {
    const count = (filter: Parameters<typeof goalAudience>[3]) =>
      goalAudience(db.storage, site, 'camera-buyer', filter, END);
    const all = await count({});
    expect(all.source).toBe('model');
    expect(all.total).toBe(30);
    const page = async (query: string) => {
      const res = await get(`/dashboard/goals/camera-buyer?site=a${query}`);
      expect(res.status, query).toBe(200);
      return res.text();
    };
    const html = await page('');
    const shown = shownBuckets(html);
    expect(shown).toEqual({ buckets: all.buckets, total: all.total });
    expect(figure(html, 'audience-expected')).toBe(all.expected?.toFixed(1));
    // More than one bucket holds someone: the page is not showing a constant.
    expect(Object.values(all.buckets).filter((n) => n > 0).length).toBeGreaterThan(1);

    const ny = await count({ traits: { region: 'NY' } });
    expect(ny.total).toBe(10);
    const nyHtml = await page('&segment=&trait=region&value=NY');
    expect(shownBuckets(nyHtml)).toEqual({ buckets: ny.buckets, total: ny.total });
    expect(nyHtml).toContain('current visitors with region = NY');

    const curious = await count({ segment: 'camera-curious', traits: { region: 'NY' } });
    expect(curious.total).toBeLessThanOrEqual(ny.total);
    const curiousHtml = await page('&segment=camera-curious&trait=region&value=NY');
    expect(shownBuckets(curiousHtml)).toEqual({ buckets: curious.buckets, total: curious.total });
    expect(curiousHtml).toMatch(/<option value="camera-curious" selected="">/);

    // The holdout's buckets of the training, with their thresholds.
    expect(report.buckets).toBeDefined();
    for (const i of ['most_likely', 'moderately_likely', 'least_likely'] as const)
      expect(html).toMatch(
        new RegExp(
          `data-holdout-bucket="${i}"><th scope="row">[^<]*</th><td class="num">[^<]*</td><td class="num wide-only">${(report.buckets?.[i].n ?? -1).toLocaleString('en-US')}</td>`,
        ),
      );
  });

  it('refuses a filter it cannot count, saying why', async () => {
    const unknown = await get('/dashboard/goals/camera-buyer?site=a&segment=nope');
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('This site has no custom segment &quot;nope&quot;');
    const half = await get('/dashboard/goals/camera-buyer?site=a&trait=region');
    expect(half.status).toBe(400);
    expect(await half.text()).toContain('needs both a name and a value');
    const bad = await get('/dashboard/goals/camera-buyer?site=a&trait=9x&value=1');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('is not a trait name');
  });

  it('says why the heuristic serves: too little data, or the goal changed since its training', async () => {
    const reason = '12 training examples, fewer than 200';
    await db.storage.write(async (tx) => {
      await tx.goals.saveModel('a', {
        goal: 'too-little',
        definition: goalKey({ event: 'signup', within: '14d' }),
        trained: END - 1000,
        status: 'fallback',
        model: null,
        evaluation: JSON.stringify({ status: 'fallback', reason }),
      });
      // Trained when the goal was another: stale, shown but not served.
      await tx.goals.saveModel('a', {
        goal: 'changed',
        definition: goalKey({ event: 'signup', within: '30d' }),
        trained: END - 1000,
        status: 'fallback',
        model: null,
        evaluation: JSON.stringify({ status: 'fallback' }),
      });
    });
    const html = await (await get('/dashboard/goals?site=a')).text();
    const row = (name: string) =>
      new RegExp(`<tr data-goal="${name}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
    expect(row('too-little')).toContain('Fallback: the intent heuristic serves');
    expect(row('too-little')).toContain(reason);
    expect(row('changed')).toContain('Stale: the intent heuristic serves until it is retrained');
    expect(row('changed')).toContain('the goal changed since this model was trained');
    const one = await (await get('/dashboard/goals/too-little?site=a')).text();
    expect(one).toContain(reason);
    // No model: the buckets are the heuristic's, with no probability to add up.
    expect(one).toContain('the intent heuristic serves this goal');
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
