/**
 * The segment read cache never answers with a stale segment: every kind of write is followed by
 * a read that was cached just before it, on a real SQLite file through the real app.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../collector/http/app.ts';
import { parseConfig, type Config, type ConfigFile } from '../../collector/config/config.ts';
import { Lru } from '../../collector/storage/read-cache.ts';
import { snippetAsset } from '../../collector/http/snippet-asset.ts';
import {
  DEFAULT_PROFILE_CACHE,
  openStorage,
  type Storage,
} from '../../collector/storage/storage.ts';
import { optionsFromEnv } from '../../collector/http/server.ts';
import { DEFAULT_ENGINE } from '../../collector/engine/index.ts';
import type { Segment } from '../../shared/segment.ts';
import { segmentOf } from '../../collector/identity/identify.ts';
import { collectRequest, DAY, ev, T0, tempDir } from '../helpers.ts';

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

let tmp: ReturnType<typeof tempDir>;
let storage: Storage;
let config: Config;
let app: ReturnType<typeof createApp>;
let file: string;
const clock = { now: T0 };

beforeEach(() => {
  tmp = tempDir();
  file = join(tmp.dir, 'cache.db');
  storage = openStorage(file);
  config = parseConfig(CONFIG);
  clock.now = T0;
  app = createApp({ storage, config, now: () => clock.now, snippet: snippetAsset('/*ms*/') });
});
afterEach(() => {
  storage.close();
  tmp.cleanup();
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
    const inputs = storage.segmentInputs('shop', 'v1');
    expect(storage.segmentInputs('shop', 'v1').stored).toBe(inputs.stored);
    // ...but any write through the collector drops it.
    await collect('v1', [pv('sports')]);
    expect((await segment('v1')).affinity).toEqual({ cameras: 0.5, sports: 0.5 });
  });

  it('admits a visitor on its second read, so reads spread over many visitors do not churn it', async () => {
    await collect('once', [pv('cameras')]);
    const first = storage.segmentInputs('shop', 'once');
    const second = storage.segmentInputs('shop', 'once');
    expect(second.stored).not.toBe(first.stored);
    expect(storage.segmentInputs('shop', 'once').stored).toBe(second.stored);
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
    expect(storage.profile('shop', 'anon')).toBeUndefined();
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

  it('a commit by another connection on the same file (the CLI, a second process) drops the cache by the next turn', async () => {
    await collect('v3', [pv('cameras')]);
    expect((await cachedSegment('v3')).affinity).toEqual({ cameras: 1 });
    const other = openStorage(file);
    try {
      other.ingest(
        'shop',
        'v3',
        [{ id: 'ext1', type: 'page_view', ts: T0, category: 'books' }],
        config.sites.get('shop')!.engine,
        T0,
      );
    } finally {
      other.close();
    }
    await new Promise((turn) => setImmediate(turn));
    expect((await segment('v3')).affinity).toEqual({ books: 0.5, cameras: 0.5 });
  });

  it('a rolled-back write leaves nothing in the cache: reads inside a transaction do not fill it', () => {
    const engine = config.sites.get('shop')!.engine;
    storage.ingest(
      'shop',
      'v4',
      [{ id: 'a1', type: 'page_view', ts: T0, category: 'cameras' }],
      engine,
      T0,
    );
    storage.segmentInputs('shop', 'v4');
    expect(storage.segmentInputs('shop', 'v4').stored!.profile.count).toBe(1);
    const sqlite = storage.db.$client;
    expect(() =>
      sqlite.transaction(() => {
        storage.ingest(
          'shop',
          'v4',
          [{ id: 'a2', type: 'page_view', ts: T0, category: 'sports' }],
          engine,
          T0,
        );
        // Inside the transaction the uncommitted write is visible...
        expect(storage.segmentInputs('shop', 'v4').stored!.profile.count).toBe(2);
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    // ...and after the rollback it is not served.
    expect(storage.segmentInputs('shop', 'v4').stored!.profile.count).toBe(1);
  });

  it('the sweep and a profile written directly in SQL are seen too (triggers, not call sites)', async () => {
    await collect('v5', [pv('cameras')]);
    await cachedSegment('v5');
    storage.db.$client
      .prepare(
        `UPDATE profiles SET data = json_set(data, '$.count', 41) WHERE site = 'shop' AND visitor = 'v5'`,
      )
      .run();
    expect(storage.segmentInputs('shop', 'v5').stored!.profile.count).toBe(41);
  });

  it('profileCache: 0 turns the cache off', async () => {
    const off = openStorage(join(tmp.dir, 'off.db'), { profileCache: 0 });
    try {
      const engine = config.sites.get('shop')!.engine;
      off.ingest(
        'shop',
        'v',
        [{ id: 'b1', type: 'page_view', ts: T0, category: 'cameras' }],
        engine,
        T0,
      );
      const a = off.segmentInputs('shop', 'v');
      expect(off.segmentInputs('shop', 'v').stored).not.toBe(a.stored);
      expect(a.stored!.profile.count).toBe(1);
    } finally {
      off.close();
    }
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
    const kept = storage.segmentInputs('shop', 'm1', T0 + 3).entry.memo;
    expect(kept).toBeDefined();
    expect((await at(T0 + 7 * DAY - 1)).segment.engagement).toBe('hot');
    // The same answer object served in between: evaluated once, not per read.
    expect(storage.segmentInputs('shop', 'm1', T0 + 7 * DAY - 1).entry.memo).toBe(kept);
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
    const rfm = () => segmentOf(storage, site, { visitor: 'm2' }, clock.now).rfm;
    rfm();
    const before = rfm(); // cached, and kept on its entry
    expect(storage.segmentInputs('shop', 'm2').entry.memo).toBeDefined();
    expect(before).toMatchObject({ m: 2 }); // 100 against the fixed thresholds 50/150/400/1000
    // Quintiles over customers who bought far more: the same visitor now scores lower on M.
    for (let i = 0; i < 5; i++) await collect(`rich${i}`, [buy(10 + i), buy(20 + i)]);
    storage.recomputeRfm('shop', 1, clock.now);
    expect(rfm()).toMatchObject({ m: 1 });
  });
});

describe('Lru', () => {
  it('evicts the least recently used entry beyond its size', () => {
    const lru = new Lru<number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
    lru.delete('a');
    expect(lru.get('a')).toBeUndefined();
    const none = new Lru<number>(0);
    none.set('x', 1);
    expect(none.size).toBe(0);
  });

  it('holds at most its size, answers the latest value of what it holds, keeps what is hit', () => {
    const lru = new Lru<number>(50);
    const truth = new Map<string, number>();
    let x = 7;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const key = `k${x % 400}`;
      if (x % 10 === 0) {
        lru.delete(key);
        truth.delete(key);
      } else if (x % 3 === 0) {
        lru.set(key, i);
        truth.set(key, i);
      } else {
        const v = lru.get(key);
        if (v !== undefined) expect(v).toBe(truth.get(key));
      }
      expect(lru.size).toBeLessThanOrEqual(50);
    }
    // A key read between every insertion survives a sweep of new keys that are never read.
    lru.set('hot', 1);
    for (let i = 0; i < 500; i++) {
      expect(lru.get('hot')).toBe(1);
      lru.set(`cold${i}`, i);
    }
  });
});
