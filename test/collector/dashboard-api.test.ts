/**
 * GET /v1/stats and GET /v1/visitors/:id on a seeded site (`seedAudience`, the code of
 * `microseg seed`): every figure the API answers is counted again here from the stored rows, by
 * other means (plain SQL rows, summed in the test). Also: API key and site checks, 400 reasons,
 * the daily size snapshot job, and the query plans of the hot reads (SQLite).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ConfigFile } from '../../collector/config/config.ts';
import { seedAudience, type SeedSummary } from '../../collector/cli/seed.ts';
import { dayOf, snapshotAll, startSegmentSizes } from '../../collector/jobs/segment-sizes.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { parseSegmentKey } from '../../shared/segment.ts';
import type { StatsResponse, VisitorResponse } from '../../shared/stats.ts';
import { rfmLabel } from '../../collector/engine/rfm.ts';
import { DAY, T0, testApp } from '../helpers.ts';
import { BACKEND, exec, rows } from '../support/backend.ts';

const KEY = 'dash-api-key-0123456789';
const OTHER_KEY = 'other-api-key-0123456789';
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
    other: { origins: ['https://other.example'], apiKeys: [OTHER_KEY] },
  },
} as ConfigFile;

let t: Awaited<ReturnType<typeof testApp>>;
let seeded: SeedSummary;
const config = parseConfig(FILE);
const site = config.sites.get('shop');
if (!site) throw new Error('no shop');

const api = (path: string, key: string | null = KEY) =>
  t.app.request(`http://localhost:8787${path}`, {
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
  });
async function json<T>(path: string): Promise<T> {
  const res = await api(path);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  t = await testApp({ config: FILE, now: T0 });
  seeded = await seedAudience(t.storage, site, { visitors: 300, days: 20, seed: 7, now: T0 });
}, 120_000);
afterAll(async () => t?.close());

type EventRow = { ts: number; visitor: string; contact: string | null; bot: unknown };

describe('microseg seed (seedAudience)', () => {
  it('writes visitors, purchases, identified contacts and snapshots that the tables hold', async () => {
    const [events] = await rows<{ n: number }>(
      t.storage,
      `select count(*) as n from events where site = 'shop'`,
    );
    expect(seeded.events).toBeGreaterThan(1000);
    // The email clicks are events too (of the contact's own `c:` id).
    expect(Number(events?.n)).toBe(seeded.events + seeded.emailArrivals);
    const links = await rows(
      t.storage,
      `select visitor from links where site = 'shop' and visitor not like 'c:%'`,
    );
    expect(links.length).toBe(seeded.contacts);
    expect(seeded.contacts).toBeGreaterThan(10);
    const [buys] = await rows<{ n: number }>(
      t.storage,
      `select count(*) as n from events where site = 'shop' and type = 'purchase'`,
    );
    expect(Number(buys?.n)).toBe(seeded.purchases);
    expect(seeded.purchases).toBeGreaterThan(20);
    // The URL rules categorized the pages: only the config's categories appear.
    const cats = await rows<{ category: string }>(
      t.storage,
      `select distinct category from events where site = 'shop' and category is not null`,
    );
    expect(new Set(cats.map((c) => c.category))).toEqual(new Set(['cameras', 'lenses', 'books']));
    // History at the times it happened, not all at the seeding moment.
    const days = await rows<{ at: number }>(
      t.storage,
      `select at from segment_changes where site = 'shop'`,
    );
    expect(new Set(days.map((d) => dayOf(Number(d.at)))).size).toBeGreaterThan(15);
    const snaps = await rows<{ day: number }>(
      t.storage,
      `select distinct day from segment_sizes where site = 'shop'`,
    );
    expect(snaps.length).toBe(21);
    expect(seeded.customersForRfm).not.toBeNull();
  });
});

describe('GET /v1/stats', () => {
  const from = dayOf(T0) - 13 * DAY;
  const to = dayOf(T0) + DAY;

  it('counts visitors, contacts and events per day as the events table holds them', async () => {
    const s = await json<StatsResponse>(`/v1/stats?site=shop&from=${from}&to=${to}`);
    expect(s.from).toBe(from);
    expect(s.to).toBe(to);
    expect(s.activity).toHaveLength(14);
    const all = await rows<EventRow>(
      t.storage,
      `select ts, visitor, contact, bot from events where site = 'shop'`,
    );
    const known = (inB: EventRow[]) =>
      new Set(inB.filter((e) => e.contact !== null).map((e) => e.contact)).size;
    for (const b of s.activity) {
      const inB = all.filter(
        (e) => !e.bot && Number(e.ts) >= b.start && Number(e.ts) < b.start + DAY,
      );
      expect({ events: b.events, visitors: b.visitors }).toEqual({
        events: inB.length,
        visitors: new Set(inB.map((e) => e.visitor)).size,
      });
      // A closed day's contacts are those known when it was rolled up: at least the contacts
      // that clicked an email that day (their own `c:` events), at most those known now (a
      // visitor identified later has its earlier events claimed by its contact).
      const clicked = inB.filter((e) => e.visitor.startsWith('c:'));
      expect(b.contacts).toBeGreaterThanOrEqual(known(clicked));
      expect(b.contacts).toBeLessThanOrEqual(known(inB));
    }
    expect(s.activity.reduce((a, b) => a + b.events, 0)).toBeGreaterThan(100);
    // Rolled up again now, every figure is the rows' own.
    await t.storage.write((tx) => tx.rollupStats('shop', DAY, from, dayOf(T0), T0));
    const again = await json<StatsResponse>(`/v1/stats?site=shop&from=${from}&to=${to}`);
    for (const b of again.activity) {
      const inB = all.filter(
        (e) => !e.bot && Number(e.ts) >= b.start && Number(e.ts) < b.start + DAY,
      );
      expect(b).toEqual({
        start: b.start,
        events: inB.length,
        visitors: new Set(inB.map((e) => e.visitor)).size,
        contacts: known(inB),
      });
    }
  });

  it('the days rolled up and the open day counted live meet without a gap or a double count', async () => {
    const rolled = await t.storage.dashboard.rollup('shop', DAY, from, to);
    const marked = new Set(rolled.filter((r) => r.metric === 'rolled').map((r) => r.start));
    expect(marked.has(dayOf(T0) - DAY)).toBe(true);
    expect(marked.has(dayOf(T0))).toBe(false);
    const s = await json<StatsResponse>(`/v1/stats?site=shop&from=${from}&to=${to}`);
    const [n] = await rows<{ n: number }>(
      t.storage,
      `select count(*) as n from events where site = 'shop' and not bot and ts >= ? and ts < ?`,
      from,
      to,
    );
    expect(s.activity.reduce((a, b) => a + b.events, 0)).toBe(Number(n?.n));
  });

  it('hour buckets too', async () => {
    const s = await json<StatsResponse>(
      `/v1/stats?site=shop&bucket=hour&from=${dayOf(T0) - DAY}&to=${dayOf(T0)}`,
    );
    expect(s.activity).toHaveLength(24);
    const all = await rows<EventRow>(
      t.storage,
      `select ts, visitor, contact, bot from events where site = 'shop' and ts >= ? and ts < ?`,
      dayOf(T0) - DAY,
      dayOf(T0),
    );
    expect(s.activity.reduce((a, b) => a + b.events, 0)).toBe(all.filter((e) => !e.bot).length);
  });

  it('segment sizes: past days from the snapshots, today counted now, both equal to the profiles', async () => {
    const s = await json<StatsResponse>(`/v1/stats?site=shop&from=${from}&to=${to}`);
    expect(s.segments.days).toHaveLength(14);
    const today = s.segments.days.indexOf(dayOf(T0));
    expect(today).toBe(13);
    const live = await rows<{ segment: string; n: number }>(
      t.storage,
      `select segment, count(*) as n from profiles where site = 'shop' group by segment`,
    );
    for (const r of live) {
      const series = s.segments.series.find((x) => x.kind === 'key' && x.name === r.segment);
      expect(series?.members[today]).toBe(Number(r.n));
    }
    const snap = await rows<{ day: number; kind: string; name: string; members: number }>(
      t.storage,
      `select day, kind, name, members from segment_sizes where site = 'shop' and day = ?`,
      dayOf(T0) - 5 * DAY,
    );
    expect(snap.length).toBeGreaterThan(3);
    for (const r of snap.filter((r) => r.kind !== 'rfm')) {
      const series = s.segments.series.find((x) => x.kind === r.kind && x.name === r.name);
      expect(series?.members[8]).toBe(Number(r.members));
    }
    // Lifecycle per day is the key series summed by stage.
    const stages = s.lifecycle.days[8];
    const newbies = snap
      .filter((r) => r.kind === 'key' && r.name.startsWith('newbie:'))
      .reduce((a, r) => a + Number(r.members), 0);
    expect(stages?.newbie).toBe(newbies);
    // The custom rule has a series of its own.
    expect(s.segments.series.some((x) => x.kind === 'custom' && x.name === 'camera-intent')).toBe(
      true,
    );
  });

  it('the lifecycle flow is the key changes between stages, per day', async () => {
    const s = await json<StatsResponse>(`/v1/stats?site=shop&from=${from}&to=${to}`);
    const changes = await rows<{ at: number; name: string; previous: string | null }>(
      t.storage,
      `select at, name, previous from segment_changes where site = 'shop' and kind = 'key' and at >= ? and at < ?`,
      from,
      to,
    );
    const expected = new Map<string, number>();
    for (const c of changes) {
      const f = c.previous === null ? null : parseSegmentKey(c.previous).lifecycle;
      const to2 = parseSegmentKey(c.name).lifecycle;
      if (f === to2) continue;
      const k = `${dayOf(Number(c.at))}|${f}|${to2}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    const got = new Map(s.lifecycle.flow.map((m) => [`${m.start}|${m.from}|${m.to}`, m.count]));
    expect(got).toEqual(expected);
    expect(s.lifecycle.flow.some((m) => m.from === 'newbie' && m.to === 'new_customer')).toBe(true);
  });

  it('categories, engagement and the RFM grid equal the stored profiles', async () => {
    const s = await json<StatsResponse>(`/v1/stats?site=shop`);
    const profiles = await rows<{ segment: string; purchases: number; last_purchase: number }>(
      t.storage,
      `select segment, purchases, last_purchase from profiles where site = 'shop'`,
    );
    const cats = new Map<string, number>();
    const eng: Record<string, number> = { hot: 0, active: 0, warm: 0, cold: 0 };
    for (const p of profiles) {
      const k = parseSegmentKey(p.segment);
      cats.set(k.category ?? 'none', (cats.get(k.category ?? 'none') ?? 0) + 1);
      eng[k.engagement] = (eng[k.engagement] ?? 0) + 1;
    }
    expect(new Map(s.categories.map((c) => [c.category, c.profiles]))).toEqual(cats);
    expect(s.engagement).toEqual(eng);
    // The grid, scored here with the quintiles the site stores.
    const bp = await t.storage.rfmBreakpoints('shop');
    expect(bp).not.toBeNull();
    expect(s.rfm.scoring).toBe('quintiles');
    const score = (x: number, b: readonly number[]) => 1 + b.filter((v) => x > v).length;
    const grid = new Map<string, number>();
    for (const p of profiles.filter((p) => Number(p.purchases) > 0)) {
      const r = score(Number(p.last_purchase), bp?.lastPurchase ?? []);
      const f = score(Number(p.purchases), bp?.frequency ?? []);
      grid.set(`${r}:${f}`, (grid.get(`${r}:${f}`) ?? 0) + 1);
    }
    expect(s.rfm.cells).toHaveLength(25);
    for (const c of s.rfm.cells) {
      expect(c.customers).toBe(grid.get(`${c.r}:${c.f}`) ?? 0);
      expect(c.label).toBe(rfmLabel(c.r, c.f));
    }
    expect(s.rfm.customers).toBe(profiles.filter((p) => Number(p.purchases) > 0).length);
    expect(s.rfm.cells.find((c) => c.r === 5 && c.f === 5)?.label).toBe('champions');
  });

  it("before the job's first snapshot of the day, today's sizes and grid are counted now", async () => {
    const snapped = await json<StatsResponse>(`/v1/stats?site=shop`);
    await exec(t.storage, `delete from segment_sizes where site = 'shop' and day = ?`, dayOf(T0));
    const counted = await json<StatsResponse>(`/v1/stats?site=shop`);
    // Nothing was written since the seed's last snapshot: both ways give the same figures.
    expect(counted).toEqual(snapped);
    await snapshotAll(t.storage, config, T0);
    expect(await json<StatsResponse>(`/v1/stats?site=shop`)).toEqual(snapped);
  });

  it('refuses without a key, with a wrong key, and for a site the key does not open', async () => {
    expect((await api('/v1/stats?site=shop', null)).status).toBe(401);
    expect((await api('/v1/stats?site=shop', 'wrong-key-0123456789')).status).toBe(401);
    expect((await api('/v1/stats?site=shop', OTHER_KEY)).status).toBe(403);
    expect((await api('/v1/visitors/abc?site=shop', null)).status).toBe(401);
    expect((await api('/v1/visitors/abc?site=shop', OTHER_KEY)).status).toBe(403);
  });

  it.each([
    ['bucket=week', 'invalid_query', 'bucket'],
    ['from=yesterday', 'invalid_query', 'from'],
    ['nope=1', 'invalid_query', 'nope'],
    [`from=${T0}&to=${T0 - DAY}`, 'invalid_range', 'from must be before to'],
    [`from=${T0 - 400 * DAY}&to=${T0}`, 'invalid_range', 'at most 366 days'],
    [`bucket=hour&from=${T0 - 40 * DAY}&to=${T0}`, 'invalid_range', 'at most 744 hours'],
  ])('400 for %s', async (q, error, reason) => {
    const res = await api(`/v1/stats?site=shop&${q}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe(error);
    expect(body.message).toContain(reason);
  });

  it('takes ISO dates', async () => {
    const s = await json<StatsResponse>(`/v1/stats?site=shop&from=2026-10-25&to=2026-11-01`);
    expect(s.from).toBe(Date.UTC(2026, 9, 25));
    expect(s.activity).toHaveLength(7);
  });
});

describe('GET /v1/visitors/:id', () => {
  async function someVisitor(linked: boolean) {
    const [r] = await rows<{ visitor: string; contact: string | null }>(
      t.storage,
      linked
        ? `select e.visitor, l.contact from events e join links l on l.site = e.site and l.visitor = e.visitor
            where e.site = 'shop' group by e.visitor, l.contact order by count(*) desc limit 1`
        : `select e.visitor, null as contact from events e
            where e.site = 'shop' and e.contact is null and e.visitor not like 'c:%'
            group by e.visitor order by count(*) desc limit 1`,
    );
    if (!r) throw new Error('no visitor');
    return r;
  }

  it('an anonymous visitor: segment, why, events newest first (paged), history', async () => {
    const { visitor } = await someVisitor(false);
    const v = await json<VisitorResponse>(`/v1/visitors/${visitor}?site=shop&limit=3`);
    expect(v.contact).toBeNull();
    expect(v.profile).toBe(visitor);
    const own = await rows<{ id: string; ts: number }>(
      t.storage,
      `select id, ts from events where site = 'shop' and visitor = ? order by ts desc, id desc`,
      visitor,
    );
    expect(v.events.items.map((e) => e.id)).toEqual(own.slice(0, 3).map((e) => e.id));
    // Every page, to the end, gives every event once.
    const ids = v.events.items.map((e) => e.id);
    let next = v.events.next;
    while (next !== null) {
      const page = await json<VisitorResponse>(
        `/v1/visitors/${visitor}?site=shop&limit=3&before=${next}`,
      );
      ids.push(...page.events.items.map((e) => e.id));
      next = page.events.next;
    }
    expect(ids).toEqual(own.map((e) => e.id));
    const [p] = await rows<{ segment: string; data: string }>(
      t.storage,
      `select segment, data from profiles where site = 'shop' and visitor = ?`,
      visitor,
    );
    const profile = JSON.parse(String(p?.data)) as { count: number };
    expect(v.why.events).toBe(profile.count);
    expect(v.segment.segment).toBe(p?.segment);
    expect(v.why.windows.map((w) => w.days)).toEqual([7, 30]);
    const windowEvents = own.filter((e) => Number(e.ts) > T0 - 30 * DAY).length;
    expect(v.why.windows[1]?.events).toBe(Math.min(windowEvents, 200));
    const history = await rows<{ seq: number; name: string }>(
      t.storage,
      `select seq, name from segment_changes where site = 'shop' and visitor = ? order by seq`,
      visitor,
    );
    expect(v.history.items.map((h) => h.name)).toEqual(history.map((h) => h.name));
  });

  it('a visitor identified by an email link reads as its contact: timeline of all its devices, campaign touch', async () => {
    const { visitor, contact } = await someVisitor(true);
    const v = await json<VisitorResponse>(`/v1/visitors/${visitor}?site=shop&limit=200`);
    expect(v.contact).toBe(contact);
    expect(v.profile).toBe(`c:${contact}`);
    expect(v.segment.known).toBe(true);
    expect(v.campaign.first?.medium).toBe('email');
    expect(v.campaign.last?.campaign).toMatch(/^newsletter-week-/);
    const all = await rows<{ id: string }>(
      t.storage,
      `select id from events where site = 'shop' and contact = ? order by ts desc, id desc limit 200`,
      contact,
    );
    expect(v.events.items.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(v.events.items.some((e) => e.type === 'email_click')).toBe(true);
  });

  it('404 for an id the site has nothing of; 400 for bad ids and params', async () => {
    const res = await api('/v1/visitors/nobody-here?site=shop');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe('unknown_visitor');
    const bad = await api('/v1/visitors/a%3Ab?site=shop');
    expect(bad.status).toBe(400);
    for (const q of ['limit=0', 'limit=201', 'before=abc', 'historyLimit=9999', 'x=1']) {
      const r = await api(`/v1/visitors/abc?site=shop&${q}`);
      expect(r.status, q).toBe(400);
      expect(((await r.json()) as { error: string }).error).toBe('invalid_query');
    }
  });
});

describe('the segment size snapshot', () => {
  it('snapshotAll writes the sizes the profiles hold now; the job closes a day at its first tick after it', {
    timeout: 60_000,
  }, async () => {
    await snapshotAll(t.storage, config, T0 + 5 * DAY);
    const snap = await rows<{ kind: string; name: string; members: number }>(
      t.storage,
      `select kind, name, members from segment_sizes where site = 'shop' and day = ?`,
      dayOf(T0 + 5 * DAY),
    );
    const counts = await t.storage.segmentCounts('shop');
    expect(
      Object.fromEntries(
        snap.filter((r) => r.kind === 'key').map((r) => [r.name, Number(r.members)]),
      ),
    ).toEqual(counts.keys);
    expect(
      Object.fromEntries(
        snap.filter((r) => r.kind === 'custom').map((r) => [r.name, Number(r.members)]),
      ),
    ).toEqual(counts.custom);

    let now = dayOf(T0) + 11 * DAY - 1000;
    const logs: string[] = [];
    const job = startSegmentSizes(t.storage, config, {
      now: () => now,
      log: (_l, m) => void logs.push(m),
      everyMs: 20,
    });
    const taken = async (day: number) =>
      (
        await rows<{ taken: number }>(
          t.storage,
          `select max(taken) as taken from segment_sizes where site = 'shop' and day = ?`,
          day,
        )
      )[0]?.taken;
    const poll = { timeout: 15_000 };
    await expect.poll(() => taken(dayOf(now)), poll).toBe(now);
    const before = dayOf(now);
    now += 2000;
    // The day just over is written once more, at the first tick of the next.
    await expect.poll(() => taken(before), poll).toBe(now);
    await expect.poll(() => taken(dayOf(now)), poll).toBe(now);
    // And its activity rolled up, the hours and the day.
    const marked = async () =>
      (await t.storage.dashboard.rollup('shop', DAY, before - DAY, before + DAY))
        .filter((r) => r.metric === 'rolled')
        .map((r) => r.start);
    await expect.poll(marked, poll).toEqual([before - DAY, before]);
    job.stop();
    expect(logs).toEqual([]);
  });
});

describe.runIf(BACKEND === 'sqlite')('query plans (SQLite)', () => {
  it('the stats reads walk indexes, not tables', () => {
    const db = sqliteHandle(t.storage);
    const plan = (sql: string, ...args: unknown[]) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[])
        .map((r) => r.detail)
        .join(' | ');
    expect(
      plan(
        `SELECT count(*) FROM events WHERE site = ? AND ts >= ? AND ts < ? AND bot = 0`,
        's',
        0,
        1,
      ),
    ).toMatch(/USING INDEX events_age/);
    expect(
      plan(
        `SELECT count(*) FROM segment_changes WHERE site = ? AND at >= ? AND at < ? AND kind = 'key'`,
        's',
        0,
        1,
      ),
    ).toMatch(/USING INDEX segment_changes_at/);
    expect(
      plan(`SELECT * FROM segment_sizes WHERE site = ? AND day >= ? AND day <= ?`, 's', 0, 1),
    ).toMatch(/USING INDEX sqlite_autoindex_segment_sizes_1/);
    expect(
      plan(
        `SELECT id FROM events WHERE site = ? AND visitor = ? ORDER BY ts DESC, id DESC LIMIT 50`,
        's',
        'v',
      ),
    ).toMatch(/USING INDEX events_visitor/);
  });
});
