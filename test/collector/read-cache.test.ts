/**
 * The segment read cache never answers with a stale segment: every kind of write is followed by
 * a read that was cached just before it, on a real database through the real app. On PostgreSQL
 * (suite-pg) there is no read cache (every read is a query): the answers must be the same, and the
 * checks of the cache's own entries (`SQLITE_CACHE`) are SQLite's.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../collector/http/app.ts';
import { parseConfig, type Config, type ConfigFile } from '../../collector/config/config.ts';
import { placeholderSnippets } from '../../collector/http/snippet-asset.ts';
import type { Storage } from '../../collector/storage/contract.ts';
import { DEFAULT_PROFILE_CACHE } from '../../collector/storage/sqlite/index.ts';
import { optionsFromEnv } from '../../collector/http/server.ts';
import { DEFAULT_ENGINE } from '../../collector/engine/index.ts';
import type { Segment } from '../../shared/segment.ts';
import { segmentOf } from '../../collector/identity/identify.ts';
import { collectRequest, DAY, ev, T0 } from '../helpers.ts';
import { BACKEND, openTestStorage, type TestStorage } from '../support/backend.ts';

/** The backend keeps a read cache whose entries these tests look into. */
const SQLITE_CACHE = BACKEND === 'sqlite';

const KEY = 'shop-api-key-0123456789';
const BASE = 'http://collect.test';
const CONFIG: ConfigFile = {
  sites: {
    shop: {
      origins: ['https://site.example'],
      apiKeys: [KEY],
      // Public: the browser's answer (`segment(…)` below) may name it though region is not a public trait.
      rules: { 'md-buyers': { when: { fact: 'trait.region', eq: 'MD' }, public: true } },
    },
  },
};
const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

let opened: TestStorage;
let storage: Storage;
let config: Config;
let app: ReturnType<typeof createApp>;
const clock = { now: T0 };

beforeEach(async () => {
  opened = await openTestStorage();
  storage = opened.storage;
  config = parseConfig(CONFIG);
  clock.now = T0;
  app = createApp({ storage, config, now: () => clock.now, snippets: placeholderSnippets() });
});
afterEach(async () => {
  await opened.close();
});

const pv = (category: string) => ev({ url: 'https://site.example/p', category });

async function collect(visitor: string, events: unknown[], extra: Record<string, unknown> = {}) {
  const res = await app.request(collectRequest({ site: 'shop', visitor, events, ...extra }));
  expect(res.status).toBe(200);
  return res.json();
}

async function segment(visitor: string): Promise<Segment> {
  const res = await app.request(`${BASE}/v1/segment?site=shop&visitor=${visitor}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Segment;
}

/** Reads twice, so the second read is served by the cache. */
async function cachedSegment(visitor: string): Promise<Segment> {
  await segment(visitor);
  return segment(visitor);
}

describe('segment read cache', () => {
  it('serves a repeated read without SQLite, and a write is seen by the next read', async () => {
    await collect('v1', [pv('cameras')]);
    expect((await cachedSegment('v1')).affinity).toEqual({ cameras: 1 });
    // Admitted on its second read (cachedSegment), then served from memory...
    if (SQLITE_CACHE) {
      const inputs = await storage.segmentInputs('shop', 'v1');
      expect((await storage.segmentInputs('shop', 'v1')).stored).toBe(inputs.stored);
    }
    // ...but any write through the collector drops it.
    await collect('v1', [pv('sports')]);
    expect((await segment('v1')).affinity).toEqual({ cameras: 0.5, sports: 0.5 });
  });

  it('a never-seen visitor, cached as such, is seen once it sends events', async () => {
    expect((await cachedSegment('fresh')).category).toBeNull();
    await collect('fresh', [pv('lenses')]);
    expect((await segment('fresh')).category).toBe('lenses');
  });

  it('erasure: the next read is of an empty profile', async () => {
    await collect('gone', [pv('cameras'), pv('cameras')]);
    expect((await cachedSegment('gone')).category).toBe('cameras');
    const del = await app.request(`${BASE}/v1/visitors/gone?site=shop`, {
      method: 'DELETE',
      headers: auth,
    });
    expect(del.status).toBe(200);
    expect(await segment('gone')).toMatchObject({ category: null, affinity: {}, known: false });
  });

  it("identify and merge: a cached anonymous visitor reads its contact's merged profile once linked", async () => {
    await collect('anon', [pv('cameras')]);
    expect(await cachedSegment('anon')).toMatchObject({ known: false, affinity: { cameras: 1 } });
    const links = await app.request(`${BASE}/v1/links`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        site: 'shop',
        plain: true,
        links: [{ contact: 'ann', to: 'https://site.example/' }],
      }),
    });
    const token = new URL(
      ((await links.json()) as { links: { url: string }[] }).links[0]!.url,
    ).searchParams.get('ms_t')!;
    await collect('anon', [pv('sports')], { token });
    expect(await segment('anon')).toMatchObject({
      known: true,
      affinity: { cameras: 0.5, sports: 0.5 },
    });
    // The anonymous profile is gone; the contact's own reads agree.
    expect(await storage.profile('shop', 'anon')).toBeUndefined();
    const c = await app.request(`${BASE}/v1/contacts/ann/segment?site=shop`, { headers: auth });
    expect(await c.json()).toMatchObject({ known: true, affinity: { cameras: 0.5, sports: 0.5 } });
  });

  it('traits: a change reaches rules on the next read of the contact and of its linked visitors', async () => {
    await app.request(`${BASE}/v1/events`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        events: [{ site: 'shop', contact: 'md', type: 'page_view', ts: T0, category: 'home' }],
      }),
    });
    const links = await app.request(`${BASE}/v1/links`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        site: 'shop',
        plain: true,
        links: [{ contact: 'md', to: 'https://site.example/' }],
      }),
    });
    const token = new URL(
      ((await links.json()) as { links: { url: string }[] }).links[0]!.url,
    ).searchParams.get('ms_t')!;
    await collect('mdv', [pv('home')], { token });
    expect((await cachedSegment('mdv')).segments).toEqual([]);
    const contactSegment = async () =>
      (await (
        await app.request(`${BASE}/v1/contacts/md/segment?site=shop`, { headers: auth })
      ).json()) as Segment;
    expect((await contactSegment()).segments).toEqual([]);
    expect((await contactSegment()).segments).toEqual([]); // now cached too
    const put = await app.request(`${BASE}/v1/contacts/md/traits?site=shop`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ region: 'MD' }),
    });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { segment: Segment }).segment.segments).toEqual(['md-buyers']);
    expect((await segment('mdv')).segments).toEqual(['md-buyers']);
    expect((await contactSegment()).segments).toEqual(['md-buyers']);
  });

  it('config: a changed site config applies to the very next read (the cache holds inputs, not answers)', async () => {
    await collect('v2', [pv('cameras'), pv('cameras'), pv('sports')]);
    expect((await cachedSegment('v2')).category).toBe('cameras');
    config.sites.set('shop', {
      ...config.sites.get('shop')!,
      engine: { ...DEFAULT_ENGINE, dominantShare: 0.9 },
    });
    expect((await segment('v2')).category).toBe('mixed');
  });
});

describe('MICROSEG_PROFILE_CACHE', () => {
  it('sizes the cache: a whole number, 0 for none, the default when unset', () => {
    expect(optionsFromEnv({}).profileCache).toBe(DEFAULT_PROFILE_CACHE);
    expect(optionsFromEnv({ MICROSEG_PROFILE_CACHE: '0' }).profileCache).toBe(0);
    expect(optionsFromEnv({ MICROSEG_PROFILE_CACHE: '20000' }).profileCache).toBe(20_000);
    expect(() => optionsFromEnv({ MICROSEG_PROFILE_CACHE: 'lots' })).toThrow(
      'MICROSEG_PROFILE_CACHE',
    );
  });
});

describe('segment memo (kept until the next time boundary)', () => {
  const read = async (visitor: string) => {
    const res = await app.request(`${BASE}/v1/segment?site=shop&visitor=${visitor}`);
    expect(res.status).toBe(200);
    return { etag: res.headers.get('etag'), segment: (await res.json()) as Segment };
  };

  it('changes exactly at a window edge and a lifecycle threshold though cached, and follows a clock set back', async () => {
    // Three views at T0: hot (≥ 3 in the top category within 7 days), then active for 7 days,
    // then warm; newbie for 30 days, then prospect.
    await collect('m1', [pv('cameras'), pv('cameras'), pv('cameras')]);
    const at = async (t: number) => {
      clock.now = t;
      return read('m1');
    };
    const hot = await at(T0 + 1);
    await at(T0 + 2); // admitted into the read cache; from here the answer is kept on its entry
    const kept = (await storage.segmentInputs('shop', 'm1', T0 + 3)).entry.memo;
    if (SQLITE_CACHE) expect(kept).toBeDefined();
    expect((await at(T0 + 7 * DAY - 1)).segment.engagement).toBe('hot');
    // The same answer object served in between: evaluated once, not per read.
    if (SQLITE_CACHE)
      expect((await storage.segmentInputs('shop', 'm1', T0 + 7 * DAY - 1)).entry.memo).toBe(kept);
    expect((await at(T0 + 7 * DAY - 1)).etag).toBe(hot.etag);
    // The events leave the 7-day window and the visitor is no longer active, at the same ms.
    const week = await at(T0 + 7 * DAY);
    expect(week.segment).toMatchObject({ engagement: 'warm', lifecycle: 'newbie' });
    expect(week.etag).not.toBe(hot.etag);
    // Warm while seen within 30 days, newbie while first seen within 30 days: both end together.
    expect((await at(T0 + 30 * DAY - 1)).segment).toMatchObject({
      engagement: 'warm',
      lifecycle: 'newbie',
    });
    expect((await at(T0 + 30 * DAY)).segment).toMatchObject({
      engagement: 'cold',
      lifecycle: 'prospect',
    });
    // A clock set back is not served a later answer.
    expect((await at(T0 + 5)).segment).toMatchObject({ engagement: 'hot', lifecycle: 'newbie' });
  });

  it('a new RFM quintile set is a new answer', async () => {
    const buy = (n: number) =>
      ev({ type: 'purchase', value: 100 * n, currency: 'EUR', url: 'https://site.example/p' });
    await collect('m2', [buy(1)]);
    const site = config.sites.get('shop')!;
    const rfm = async () => (await segmentOf(storage, site, { visitor: 'm2' }, clock.now)).rfm;
    await rfm();
    const before = await rfm(); // cached, and kept on its entry
    if (SQLITE_CACHE) expect((await storage.segmentInputs('shop', 'm2')).entry.memo).toBeDefined();
    expect(before).toMatchObject({ m: 2 }); // 100 against the fixed thresholds 50/150/400/1000
    // Quintiles over customers who bought far more: the same visitor now scores lower on M.
    for (let i = 0; i < 5; i++) await collect(`rich${i}`, [buy(10 + i), buy(20 + i)]);
    await storage.write((tx) => tx.recomputeRfm('shop', 1, clock.now));
    expect(await rfm()).toMatchObject({ m: 1 });
  });
});
