/**
 * Runtime custom segment rules (issue 18) through the HTTP API on a real database (SQLite, and
 * PostgreSQL in suite-pg): create, read, update, delete; validation errors with their paths; a
 * clash with a config rule; bounds; a saved rule in force at the next request with no restart
 * (the read memo included); the preview's count equal to the members after the backfill; a
 * deletion's exits; templates.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RULE_LIMITS } from '../../shared/limits.ts';
import { type ConfigFile, parseConfig } from '../../collector/config/config.ts';
import { createApp } from '../../collector/http/app.ts';
import { placeholderSnippets } from '../../collector/http/snippet-asset.ts';
import { startWebhooks } from '../../collector/webhooks/index.ts';
import { startRuleBackfill } from '../../collector/rules/backfill.ts';
import { previewRule } from '../../collector/rules/preview.ts';
import { type RuntimeRules, runtimeRules } from '../../collector/rules/runtime.ts';
import { TEMPLATES } from '../../collector/rules/templates.ts';
import { DAY, T0, collectRequest, ev } from '../helpers.ts';
import { openTestStorage, type TestStorage } from '../support/backend.ts';
import { condition, history, rng } from '../engine/rule-gen.ts';

const KEY = 'rules-api-key-0123456789';
const CONFIG: ConfigFile = {
  sites: {
    shop: {
      allowLocalhost: true,
      allowAutomation: true,
      apiKeys: [KEY],
      rules: { 'from-config': { when: { fact: 'lifecycle', eq: 'newbie' } } },
      // Names a runtime rule before it exists (webhooks are started by the test that needs them).
      webhooks: [
        {
          segment: 'rule:cam3',
          on: 'enter',
          url: 'http://127.0.0.1:9/unused',
          secret: 'rules-api-webhook-secret-0123',
        },
      ],
    },
    other: { apiKeys: ['other-key-0123456789abc'] },
  },
};
const CAM3 = { when: { count: { type: 'page_view', category: 'cameras', within: '7d' }, gte: 3 } };

let db: TestStorage;
let rules: RuntimeRules;
let clock: { now: number };
let app: ReturnType<typeof createApp>;
let config: ReturnType<typeof parseConfig>;

beforeEach(async () => {
  db = await openTestStorage();
  clock = { now: T0 };
  config = parseConfig(CONFIG);
  rules = runtimeRules(db.storage, config, { checkMs: 60_000 });
  await rules.ready;
  app = createApp({
    storage: db.storage,
    config,
    now: () => clock.now,
    snippets: placeholderSnippets(),
    rules,
  });
});
afterEach(async () => {
  rules.stop();
  await db.close();
});

const api = (path: string, init: RequestInit = {}, key = KEY) =>
  app.request(`http://localhost:8787${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      ...init.headers,
    },
  });
const put = (name: string, body: unknown) =>
  api(`/v1/rules/${name}?site=shop`, { method: 'PUT', body: JSON.stringify(body) });

/** `n` camera page views by `visitor`, an hour apart, ending now. */
async function views(visitor: string, n: number, category = 'cameras') {
  const events = Array.from({ length: n }, (_, i) =>
    ev({ ts: clock.now - (n - i) * 3_600_000, category }),
  );
  const res = await app.request(collectRequest({ site: 'shop', visitor, events }));
  expect(res.status).toBe(200);
}

const segmentsOf = async (visitor: string): Promise<string[]> => {
  const res = await app.request(`http://localhost:8787/v1/segment?site=shop&visitor=${visitor}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { segments: string[] }).segments;
};

/** Runs the backfill job until every pending rule of the site is done. */
async function backfill(): Promise<void> {
  await new Promise<void>((done, fail) => {
    const job = startRuleBackfill(db.storage, config, rules, {
      now: () => clock.now,
      log: (level, msg, f) =>
        level === 'error' ? fail(new Error(`${msg} ${JSON.stringify(f)}`)) : undefined,
      batch: 3,
      tickMs: 1,
      idleMs: 5,
      onDone: () => {
        if (rules.state('shop').rules.every((r) => r.backfilled >= r.revision)) {
          job.stop();
          done();
        }
      },
    });
  });
}

const customCount = async (name: string) => {
  const res = await api('/v1/segments?site=shop');
  const body = (await res.json()) as {
    segments: { name: string; kind: string; members: number }[];
  };
  return body.segments.find((s) => s.kind === 'custom' && s.name === name)?.members;
};

describe('runtime rules: create, read, update, delete', () => {
  it('saves, lists beside the config rules, changes and deletes a rule', async () => {
    let res = await put('cam3', { ...CAM3, description: 'three camera views' });
    expect(res.status).toBe(201);
    const saved = (await res.json()) as { rule: Record<string, unknown> };
    expect(saved.rule).toMatchObject({
      name: 'cam3',
      source: 'api',
      readOnly: false,
      inForce: true,
      description: 'three camera views',
      public: false,
      backfill: 'pending',
      when: CAM3.when,
    });

    res = await api('/v1/rules?site=shop');
    const list = (await res.json()) as {
      rules: { name: string; source: string; readOnly: boolean }[];
    };
    expect(list.rules.map((r) => [r.name, r.source, r.readOnly])).toEqual([
      ['from-config', 'config', true],
      ['cam3', 'api', false],
    ]);

    res = await api('/v1/rules/cam3?site=shop');
    expect(((await res.json()) as { rule: { when: unknown } }).rule.when).toEqual(CAM3.when);
    res = await api('/v1/rules/from-config?site=shop');
    expect(((await res.json()) as { rule: { readOnly: boolean } }).rule.readOnly).toBe(true);

    const changed = { when: { ...CAM3.when, gte: 5 }, public: true };
    res = await put('cam3', changed);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { rule: { when: unknown; public: boolean } }).rule).toMatchObject(
      changed,
    );

    res = await api('/v1/rules/cam3?site=shop', { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect((await api('/v1/rules/cam3?site=shop')).status).toBe(404);
    expect((await api('/v1/rules/cam3?site=shop', { method: 'DELETE' })).status).toBe(404);
    // Another site's rules are its own, and its key opens only it.
    expect((await api('/v1/rules?site=other')).status).toBe(403);
  });

  it('refuses a bad rule with the path of each problem (400)', async () => {
    const res = await put('bad', {
      when: {
        all: [
          { count: { type: 'page_view', within: 'a week' }, gte: 3 },
          { fact: 'lifecyle', eq: 'newbie' },
          { fact: 'trait.age', between: [50, 25] },
        ],
      },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      error: string;
      problems: { path: string; message: string }[];
    };
    expect(body.error).toBe('invalid_rule');
    expect(body.problems.map((p) => p.path)).toEqual([
      'when.all.0.count.within',
      'when.all.1.fact',
      'when.all.2.between',
    ]);
    const extra = await put('bad', { when: { fact: 'known', eq: true }, colour: 'red' });
    expect(extra.status).toBe(400);
    expect(((await extra.json()) as { message: string }).message).toContain('colour');
    const window = await put('bad', {
      when: { count: { type: 'page_view', within: '60d' }, gte: 1 },
    });
    expect(((await window.json()) as { message: string }).message).toContain(
      'when.count.within: 60d is longer than the window log',
    );
    expect((await put('no spaces', CAM3)).status).toBe(400);
    expect((await put('preview', CAM3)).status).toBe(400);
    expect((await api('/v1/rules?site=shop')).status).toBe(200);
    expect(rules.state('shop').rules).toEqual([]);
  });

  it('refuses the name of a config rule (409), and will not delete one', async () => {
    const res = await put('from-config', CAM3);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe('name_taken');
    expect((await api('/v1/rules/from-config?site=shop', { method: 'DELETE' })).status).toBe(409);
  });

  it('bounds the body and the rules per site', async () => {
    const big = {
      when: { fact: 'known', eq: true },
      description: 'x'.repeat(RULE_LIMITS.ruleBytes),
    };
    expect((await put('big', big)).status).toBe(413);
    for (let i = 0; i < RULE_LIMITS.rulesPerSite; i++)
      expect((await put(`r${i}`, { when: { fact: 'purchases.count', gte: i } })).status).toBe(201);
    const res = await put('one-too-many', CAM3);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe('too_many_rules');
    // Changing one of them is not one more.
    expect((await put('r0', CAM3)).status).toBe(200);
    expect((await api('/v1/rules/r1?site=shop', { method: 'DELETE' })).status).toBe(200);
    expect((await put('one-too-many', CAM3)).status).toBe(201);
  });
});

describe('in force at once, no restart', () => {
  it('a segment read right after the save shows the rule (its memo dropped)', async () => {
    await views('v1', 3);
    // Read twice: the second read is answered from the cache entry's memo.
    expect(await segmentsOf('v1')).toEqual(['from-config']);
    expect(await segmentsOf('v1')).toEqual(['from-config']);
    expect((await put('cam3', CAM3)).status).toBe(201);
    expect(await segmentsOf('v1')).toEqual(['from-config', 'cam3']);
    // The next event stores the membership as a config rule's.
    await views('v1', 1);
    expect(
      (await db.storage.segmentHistory('shop', 'v1')).map((h) => `${h.kind}:${h.name}`),
    ).toContain('entered:cam3');
    expect((await api('/v1/rules/cam3?site=shop', { method: 'DELETE' })).status).toBe(200);
    expect(await segmentsOf('v1')).toEqual(['from-config']);
  });

  it('a process that did not save it sees it after its next check', async () => {
    await views('v1', 3);
    const config2 = parseConfig(CONFIG);
    const rules2 = runtimeRules(db.storage, config2, { checkMs: 60_000 });
    await rules2.ready;
    expect((await put('cam3', CAM3)).status).toBe(201);
    expect(config2.sites.get('shop')?.engine.rules.map((r) => r.name)).toEqual(['from-config']);
    await rules2.check();
    expect(config2.sites.get('shop')?.engine.rules.map((r) => r.name)).toEqual([
      'from-config',
      'cam3',
    ]);
    rules2.stop();
  });
});

describe('preview and backfill', () => {
  it('counts now the members the backfill then stores, without webhooks-bound changes', async () => {
    // 12 visitors, 0 to 5 camera views each: those with 3 or more match.
    for (let i = 0; i < 12; i++) await views(`p${i}`, i % 6);
    clock.now += DAY;
    const res = await api('/v1/rules/preview?site=shop', {
      method: 'POST',
      body: JSON.stringify(CAM3),
    });
    expect(res.status).toBe(200);
    const preview = (await res.json()) as {
      count: number;
      sample: string[];
      partial: boolean;
      scanned: number;
      tookMs: number;
    };
    expect(preview).toMatchObject({ count: 6, partial: false, scanned: 10 });
    expect(preview.sample).toHaveLength(6);
    expect(typeof preview.tookMs).toBe('number');
    // Nothing saved by a preview.
    expect(rules.state('shop').rules).toEqual([]);

    expect((await put('cam3', CAM3)).status).toBe(201);
    expect(await customCount('cam3')).toBe(0);
    await backfill();
    expect(await customCount('cam3')).toBe(preview.count);
    const ruleView = (await (await api('/v1/rules/cam3?site=shop')).json()) as {
      rule: { backfill: string };
    };
    expect(ruleView.rule.backfill).toBe('done');
    const exported = await api('/v1/segments/cam3/members?site=shop&format=ndjson');
    expect((await exported.text()).trim().split('\n')).toHaveLength(preview.count);
    expect(
      (await db.storage.segmentHistory('shop', preview.sample[0] ?? '')).map(
        (h) => h.kind + h.name,
      ),
    ).toContain('enteredcam3');

    // Deleted: the backfill records the members' exits and drops the rule.
    expect((await api('/v1/rules/cam3?site=shop', { method: 'DELETE' })).status).toBe(200);
    await backfill();
    expect(await customCount('cam3')).toBeUndefined();
    expect(
      (await db.storage.segmentHistory('shop', preview.sample[0] ?? '')).map(
        (h) => h.kind + h.name,
      ),
    ).toContain('exitedcam3');
    expect(rules.state('shop').rules).toEqual([]);
  });

  it('stops early and says so (partial)', async () => {
    for (let i = 0; i < 5; i++) await views(`q${i}`, 3);
    const site = config.sites.get('shop');
    if (!site) throw new Error('no site');
    const rows = await previewRule(db.storage, site, CAM3.when, clock.now, { maxProfiles: 2 });
    expect(rows).toMatchObject({ count: 2, scanned: 2, partial: true });
    let t = 0;
    const timed = await previewRule(db.storage, site, CAM3.when, clock.now, {
      maxMs: 10,
      clock: () => (t += 20),
    });
    expect(timed).toMatchObject({ count: 0, scanned: 0, partial: true });
  });

  it('reads only the columns for a rule on lifecycle, RFM, purchases and days, with the same answer', async () => {
    // Purchases at various ages, through the server API (its `ts` is trusted).
    const events = [];
    for (let i = 0; i < 12; i++)
      for (let j = 0; j <= i % 4; j++)
        events.push({
          site: 'shop',
          visitor: `b${i}`,
          type: 'purchase',
          id: `b${i}-${j}`,
          ts: clock.now - (i * 20 + j) * DAY,
          value: 40 * (i + 1),
          category: 'cameras',
        });
    const res = await api('/v1/events', { method: 'POST', body: JSON.stringify({ events }) });
    expect(res.status).toBe(200);
    await views('browser-only', 2);
    const site = config.sites.get('shop');
    if (!site) throw new Error('no site');
    const scans = vi.spyOn(db.storage, 'scanProfiles');
    const rules: unknown[] = [
      ...TEMPLATES.filter((t) =>
        ['champions', 'at-risk', 'lapsed-loyalists', 'md-women-25-50'].includes(t.id),
      ).map((t) => t.rule.when),
      { fact: 'lifecycle', in: ['at_risk', 'lapsed'] },
      { fact: 'purchases.total', between: [100, 500] },
      {
        all: [
          { fact: 'days.sinceLastPurchase', gte: 30 },
          { fact: 'known', eq: false },
        ],
      },
      { fact: 'rfm.r', lte: 2 },
    ];
    let matched = 0;
    for (const when of rules) {
      scans.mockClear();
      const fast = await previewRule(db.storage, site, when, clock.now);
      expect(scans.mock.calls[0]?.[3]?.columns, JSON.stringify(when)).toBe(true);
      const full = await previewRule(db.storage, site, when, clock.now, { columns: false });
      expect(scans.mock.calls.at(-1)?.[3]?.columns).toBe(false);
      expect(fast.count, JSON.stringify(when)).toBe(full.count);
      expect(fast.sample).toEqual(full.sample);
      matched += full.count;
    }
    expect(matched).toBeGreaterThan(5);
    // A window, an affinity or a cooldown needs the stored aggregate.
    scans.mockClear();
    await previewRule(db.storage, site, { fact: 'cooldown', eq: true }, clock.now);
    expect(scans.mock.calls[0]?.[3]?.columns).toBe(false);
    scans.mockRestore();
  });

  it('skips inactive profiles only where no match can be (generated rules, pruned = full)', async () => {
    // Generated histories through the server API (its `ts` is trusted): last events from now to
    // 20 days ago, some exactly at a window's edge.
    const r = rng(18);
    const events = [];
    for (let i = 0; i < 60; i++)
      for (const e of history(r, clock.now, `g${i}`))
        events.push({
          site: 'shop',
          visitor: `g${i}`,
          type: e.type,
          id: e.id,
          ts: e.ts,
          ...(e.category ? { category: e.category } : {}),
          ...(typeof e.value === 'number' ? { value: e.value } : {}),
        });
    for (let i = 0; i < events.length; i += 200) {
      const res = await api('/v1/events', {
        method: 'POST',
        body: JSON.stringify({ events: events.slice(i, i + 200) }),
      });
      expect(res.status).toBe(200);
    }
    const site = config.sites.get('shop');
    if (!site) throw new Error('no site');
    const scans = vi.spyOn(db.storage, 'scanProfiles');
    let skipped = 0;
    let matched = 0;
    const rules = [
      ...TEMPLATES.map((t) => t.rule.when),
      // The traits' subquery of a pruned scan.
      { all: [{ fact: 'trait.region', exists: false }, CAM3.when] },
      ...Array.from({ length: 60 }, () => condition(r)),
    ];
    for (const when of rules) {
      scans.mockClear();
      const fast = await previewRule(db.storage, site, when, clock.now);
      for (const res of scans.mock.results)
        if (res.type === 'return')
          skipped += (await res.value).filter((p) => p.profile === null).length;
      const full = await previewRule(db.storage, site, when, clock.now, {
        columns: false,
        prune: false,
      });
      expect(fast.count, JSON.stringify(when)).toBe(full.count);
      expect(fast.sample).toEqual(full.sample);
      expect(fast.scanned).toBe(full.scanned);
      matched += full.count;
    }
    expect(skipped).toBeGreaterThan(300);
    expect(matched).toBeGreaterThan(100);
    scans.mockRestore();
  });

  it('refuses a bad preview with paths', async () => {
    const res = await api('/v1/rules/preview?site=shop', {
      method: 'POST',
      body: JSON.stringify({ when: { count: { within: '7d' }, gte: -1 } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { problems: { path: string }[] }).problems[0]?.path).toBe(
      'when.gte',
    );
  });
});

describe('webhooks on a runtime rule ("rule:<name>")', () => {
  it('the backfill enters its members quietly; an entry by an event fires', async () => {
    const hooks = startWebhooks(db.storage, config, { now: () => clock.now });
    hooks.worker.stop();
    try {
      await views('early', 3);
      expect((await put('cam3', CAM3)).status).toBe(201);
      await backfill();
      expect(await customCount('cam3')).toBe(1);
      expect(await db.storage.outbox.list('shop')).toEqual([]);
      // Entered by its own events after the save: a delivery like a config rule's.
      await views('late', 3);
      const sent = await db.storage.outbox.list('shop');
      expect(sent.map((d) => [d.visitor, d.segment, d.change])).toEqual([
        ['late', 'rule:cam3', 'enter'],
      ]);
    } finally {
      await hooks.stop();
    }
  });
});

describe('vocabulary for a builder', () => {
  it('lists the facts with their values, the comparisons and the window', async () => {
    const res = await api('/v1/rules/vocabulary?site=shop');
    expect(res.status).toBe(200);
    const v = (await res.json()) as {
      facts: { name: string; values?: string[] }[];
      ops: string[];
      windowDays: number;
      eventTypes: string[];
    };
    expect(v.facts.find((f) => f.name === 'rfm.label')?.values).toContain('champions');
    expect(v.facts.find((f) => f.name === 'lifecycle')?.values).toContain('lapsed');
    expect(v.ops).toContain('between');
    expect(v.windowDays).toBe(30);
    expect(v.eventTypes).toContain('add_to_cart');
    expect((await put('vocabulary', CAM3)).status).toBe(400);
  });
});

describe('templates', () => {
  it('lists the recipes and adds one in a call, under its id or a name given', async () => {
    const res = await api('/v1/rules/templates');
    const { templates } = (await res.json()) as { templates: { id: string; rule: unknown }[] };
    expect(templates.map((t) => t.id)).toEqual([
      'camera-curious',
      'cart-abandoned',
      'luxury-cooldown',
      'lapsed-loyalists',
      'champions',
      'at-risk',
      'md-women-25-50',
    ]);
    for (const t of templates) {
      const added = await api(`/v1/rules/templates/${t.id}?site=shop`, { method: 'POST' });
      expect(added.status, t.id).toBe(201);
    }
    const named = await api('/v1/rules/templates/cart-abandoned?site=shop', {
      method: 'POST',
      body: JSON.stringify({ name: 'carts-24h' }),
    });
    expect(named.status).toBe(201);
    expect(rules.state('shop').rules.map((r) => r.name)).toContain('carts-24h');
    expect((await api('/v1/rules/templates/nope?site=shop', { method: 'POST' })).status).toBe(404);
  });
});
