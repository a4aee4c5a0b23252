/**
 * Goals served with the segment (issue 20) on a real database (SQLite, and PostgreSQL in
 * suite-pg), through the HTTP API: a model trained on a planted-signal site's stored events, then
 * visitors whose events arrive through `POST /v1/events` one by one, each at its own time, as a
 * site's backend would send them. Their answer's probability must equal the model applied to the
 * features training computes from the same events (no train/serve skew); private goals stay out
 * of browsers' answers; rules read `goal.<name>.p`; the audience counts by bucket; a goal without
 * a model answers with the heuristic; another process on the database learns of a new model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigFile, parseConfig, type SiteConfig } from '../../collector/config/config.ts';
import { featuresAt, type FeatureEvent } from '../../collector/goals/features.ts';
import { type RuntimeGoals, runtimeGoals } from '../../collector/goals/runtime.ts';
import { type GoalModel, score } from '../../collector/goals/train.ts';
import { trainGoal } from '../../collector/goals/trainer.ts';
import { createApp } from '../../collector/http/app.ts';
import { placeholderSnippets } from '../../collector/http/snippet-asset.ts';
import type { Segment } from '../../shared/segment.ts';
import { startWebhooks } from '../../collector/webhooks/index.ts';
import { openTestStorage, type TestStorage } from '../support/backend.ts';
import { storeEvents } from './store.ts';
import { syntheticSite } from './synthetic.ts';

const KEY = 'goals-serve-key-0123456789';
const GOAL = { event: 'purchase', category: 'cameras', within: '7d' };
const CONFIG: ConfigFile = {
  sites: {
    shop: {
      origins: ['https://shop.example'],
      apiKeys: [KEY],
      goals: { 'camera-buyer': GOAL, 'newsletter-signup': { event: 'signup', within: '14d' } },
      rules: { 'goal-hot': { when: { fact: 'goal.camera-buyer.p', gte: 0.3 } } },
      webhooks: [
        {
          segment: 'goal-hot',
          on: 'enter',
          url: 'http://127.0.0.1:9/hooks/camera',
          secret: 'goals-serve-webhook-secret-0123',
        },
      ],
    },
  },
};
const END = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;

let db: TestStorage;
let config: ReturnType<typeof parseConfig>;
let site: SiteConfig;
let goals: RuntimeGoals;
let app: ReturnType<typeof createApp>;
let clock = END;
let model: GoalModel;
/** Visitors sent through the API, with the events sent. */
const served = new Map<string, FeatureEvent[]>();

const api = (path: string, init: RequestInit = {}) =>
  app.request(`http://localhost:8787${path}`, {
    ...init,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
  });

const person = async (id: string) => {
  const res = await api(`/v1/visitors/${id}?site=shop&limit=1`);
  expect(res.status).toBe(200);
  return (await res.json()) as { segment: Segment };
};

beforeAll(async () => {
  db = await openTestStorage();
  config = parseConfig(CONFIG);
  const shop = config.sites.get('shop');
  if (!shop) throw new Error('no site');
  site = shop;
  const weeks = { weeks: 8, end: END, signal: true };
  await storeEvents(db.storage, 'shop', syntheticSite({ visitors: 2500, seed: 5, ...weeks }));
  const report = await trainGoal(db.storage, site, 'camera-buyer', GOAL, {
    now: END,
    inline: true,
  });
  expect(report.status).toBe('model');
  model = JSON.parse(
    (await db.storage.goals.model('shop', 'camera-buyer'))?.model ?? '',
  ) as GoalModel;
  goals = runtimeGoals(db.storage, config, { checkMs: 60_000 });
  await goals.ready;
  app = createApp({
    storage: db.storage,
    config,
    now: () => clock,
    snippets: placeholderSnippets(),
    goals,
    limits: undefined,
  });
  // Visitors of another seed, each event sent at its own time (the collector clamps old times).
  const others = syntheticSite({ visitors: 40, seed: 77, ...weeks });
  const all: { visitor: string; e: FeatureEvent }[] = [];
  let n = 0;
  for (const events of others.histories.values()) {
    const visitor = `srv-${n++}`;
    served.set(visitor, events);
    for (const e of events) all.push({ visitor, e });
  }
  all.sort((a, b) => a.e.ts - b.e.ts);
  for (const [k, { visitor, e }] of all.entries()) {
    clock = Math.round(e.ts) + 1;
    const res = await api('/v1/events', {
      method: 'POST',
      body: JSON.stringify({
        events: [
          {
            site: 'shop',
            visitor,
            id: `srv-ev-${k}`,
            type: e.type,
            ts: Math.round(e.ts),
            ...(e.category === null ? {} : { category: e.category }),
            ...(e.value === null ? {} : { value: e.value }),
            ...(e.utm === null ? {} : { utm: e.utm }),
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
  }
  clock = END;
}, 240_000);

afterAll(async () => {
  goals.stop();
  await db.close();
});

describe('goals served with the segment', () => {
  it('answers the probability training computes from the same events (no skew)', async () => {
    let compared = 0;
    let spread = new Set<string>();
    for (const [visitor, events] of served) {
      const sent = events.map((e) => ({ ...e, ts: Math.round(e.ts) }));
      const x = featuresAt(sent, END, GOAL, model.vocab, undefined, site.engine);
      if (x === null) continue;
      const expected = Math.round(score(model, x) * 1000) / 1000;
      const { segment } = await person(visitor);
      expect(segment.goals?.['camera-buyer']).toMatchObject({ p: expected, source: 'model' });
      spread.add(segment.goals?.['camera-buyer']?.bucket ?? 'none');
      compared++;
    }
    expect(compared).toBeGreaterThan(30);
    // The visitors fall in more than one bucket: the check is not of a constant.
    expect(spread.size).toBeGreaterThan(1);
    spread = new Set();
  });

  it('answers a goal without a model with the intent heuristic, and says so', async () => {
    const { segment } = await person('srv-1');
    const g = segment.goals?.['newsletter-signup'] as {
      p: unknown;
      bucket: string;
      source: string;
    };
    expect(g.source).toBe('intent');
    expect(g.p).toBeNull();
    expect(g.bucket).toBe((segment as unknown as { intent: string }).intent);
  });

  it("keeps private goals out of a browser's answer, and shows a public one", async () => {
    const browser = () =>
      app.request('http://localhost:8787/v1/segment?site=shop&visitor=srv-2', {
        headers: { origin: 'https://shop.example' },
      });
    const before = (await (await browser()).json()) as { goals?: unknown; facts: string[] };
    expect(before.goals).toBeUndefined();
    expect(before.facts.some((f) => f.startsWith('goal.'))).toBe(false);
    // A goal saved public: in force at once, and shown (with its page fact).
    const put = await api('/v1/goals/signup-public?site=shop', {
      method: 'PUT',
      body: JSON.stringify({ event: 'signup', within: '7d', public: true }),
    });
    expect(put.status).toBe(201);
    const after = (await (await browser()).json()) as {
      goals?: Record<string, { bucket: string }>;
      facts: string[];
    };
    expect(Object.keys(after.goals ?? {})).toEqual(['signup-public']);
    expect(after.facts).toContain(`goal.signup-public=${after.goals?.['signup-public']?.bucket}`);
    expect((await api('/v1/goals/signup-public?site=shop', { method: 'DELETE' })).status).toBe(200);
    expect(((await (await browser()).json()) as { goals?: unknown }).goals).toBeUndefined();
  });

  it('lets a rule read goal.<name>.p, and counts the audience by bucket', async () => {
    const all = await (await api('/v1/goals/camera-buyer/audience?site=shop')).json();
    expect(all).toMatchObject({ goal: 'camera-buyer', source: 'model', partial: false });
    const { most_likely, moderately_likely, least_likely } = all.buckets;
    expect(most_likely + moderately_likely + least_likely).toBe(all.total);
    // The profiles are those of the visitors sent (the training's rows went in straight).
    expect(all.total).toBe(served.size);
    expect(most_likely).toBeGreaterThan(0);
    expect(least_likely + moderately_likely).toBeGreaterThan(0);
    expect(all.expected).toBeGreaterThan(0);

    // A rule on the probability: its preview counts those at or above the most-likely threshold.
    const when = { fact: 'goal.camera-buyer.p', gte: model.thresholds.most };
    const preview = await api('/v1/rules/preview?site=shop', {
      method: 'POST',
      body: JSON.stringify({ when }),
    });
    expect((await preview.json()).count).toBe(most_likely);
    const saved = await api('/v1/rules/likely-camera-buyers?site=shop', {
      method: 'PUT',
      body: JSON.stringify({ when }),
    });
    expect(saved.status).toBe(201);
    const members = await (
      await api('/v1/goals/camera-buyer/audience?site=shop&segment=likely-camera-buyers')
    ).json();
    expect(members.total).toBe(most_likely);
    expect(members.buckets).toEqual({
      most_likely,
      moderately_likely: 0,
      least_likely: 0,
    });
    // A served visitor in the top bucket is a member in its answer too.
    for (const visitor of served.keys()) {
      const { segment } = await person(visitor);
      const bucket = segment.goals?.['camera-buyer']?.bucket;
      expect(segment.segments.includes('likely-camera-buyers')).toBe(bucket === 'most_likely');
    }
    // Traits narrow it; unknown goal and segment are refused.
    const none = await (
      await api('/v1/goals/camera-buyer/audience?site=shop&trait.region=NY')
    ).json();
    expect(none.total).toBe(0);
    expect((await api('/v1/goals/nope/audience?site=shop')).status).toBe(404);
    const bad = await api('/v1/goals/camera-buyer/audience?site=shop&segment=nope');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toBe('unknown_segment');
    const badTrait = await api('/v1/goals/camera-buyer/audience?site=shop&trait.9x=1');
    expect(badTrait.status).toBe(400);
  });

  it('fires a webhook when a visitor crosses a rule on the goal', async () => {
    const send = (k: number, type: string, extra: Record<string, unknown> = {}) =>
      api('/v1/events', {
        method: 'POST',
        body: JSON.stringify({
          events: [
            {
              site: 'shop',
              visitor: 'srv-hook',
              id: `hook-${k}`,
              type,
              ts: END - 1000 + k,
              ...extra,
            },
          ],
        }),
      });
    // The outbox writer on (its sender finds nobody at the URL: the row is what is checked).
    const webhooks = startWebhooks(db.storage, config, { now: () => clock });
    const hooks = async () =>
      (await db.storage.outbox.list('shop')).filter((d) => d.visitor === 'srv-hook');
    expect((await send(0, 'email_click', { utm: { campaign: 'spring-discount' } })).status).toBe(
      200,
    );
    expect((await send(1, 'page_view', { category: 'cameras' })).status).toBe(200);
    expect(await hooks()).toEqual([]);
    // The pattern the model learnt (a discount click, then hot on cameras): over 0.3, in.
    await send(2, 'page_view', { category: 'cameras' });
    await send(3, 'page_view', { category: 'cameras' });
    const { segment } = await person('srv-hook');
    expect(segment.goals?.['camera-buyer']?.p).toBeGreaterThanOrEqual(0.3);
    expect(segment.segments).toContain('goal-hot');
    expect(await hooks()).toMatchObject([{ segment: 'goal-hot', change: 'enter' }]);
    await webhooks.stop();
  });

  it('a second process on the database serves a new model after its check', async () => {
    const config2 = parseConfig(CONFIG);
    const second = runtimeGoals(db.storage, config2, { checkMs: 60_000 });
    await second.ready;
    const site2 = config2.sites.get('shop');
    const before = site2?.engine.goals?.find((g) => g.name === 'camera-buyer')?.model;
    expect(before?.platt).toEqual(model.platt);
    // A retraining later on: new cut-offs, a new model row.
    await trainGoal(db.storage, site, 'camera-buyer', GOAL, { now: END + DAY, inline: true });
    const engineBefore = site2?.engine;
    await second.check();
    expect(site2?.engine).not.toBe(engineBefore);
    const after = site2?.engine.goals?.find((g) => g.name === 'camera-buyer')?.model;
    expect(after?.platt).not.toEqual(model.platt);
    second.stop();
  });
});
