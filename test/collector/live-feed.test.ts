/**
 * The live feed of ingest outcomes (collector/live/feed.ts): every outcome kind, published by the
 * real routes, with its reason and its fix; scoped to the watcher's sites; bounded; no work when
 * nobody watches.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LiveEntry, LiveFeed, type LiveScope } from '../../collector/live/feed.ts';
import { LiveHub } from '../../collector/live/cluster-relay.ts';
import { collectRequest, ev, testApp } from '../helpers.ts';

let t: Awaited<ReturnType<typeof testApp>>;
const KEY = 'shop-key-0123456789abcdef';
beforeEach(async () => {
  t = await testApp({
    config: {
      sites: {
        demo: { allowLocalhost: true, allowAutomation: true },
        shop: {
          origins: ['https://shop.example'],
          apiKeys: [KEY],
          categories: [{ path: '/cameras/*', category: 'cameras' }],
        },
      },
    },
    limits: { ipPerMinute: 0, visitorPerMinute: 2, trustProxy: 0 },
  });
});
afterEach(() => t.close());

const scope = (sites: string[], everySite = false, session = 's1'): LiveScope => ({
  sites: new Set(sites),
  everySite,
  session,
});

/** A watcher on the test app's feed; `seen()` takes what it was given so far. */
function watch(sites: string[], everySite = false) {
  const sub = t.live.subscribe(scope(sites, everySite), () => {});
  if (typeof sub === 'string') throw new Error(sub);
  return { seen: (): LiveEntry[] => sub.take().entries, sub };
}

const SHOP = { origin: 'https://shop.example' };
const UA = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36' };
const shopEvent = () => ev({ url: 'https://shop.example/cameras/x1' });

async function collect(body: unknown, headers: Record<string, string> = {}) {
  return t.app.request(collectRequest(body, { ...UA, ...headers }));
}

describe('live feed: each outcome with its reason and fix', () => {
  it('accepted: the events with their categories and the visitor; then the same batch is a duplicate', async () => {
    const w = watch(['shop']);
    const batch = { site: 'shop', visitor: 'v1', events: [shopEvent(), shopEvent()] };
    expect((await collect(batch, SHOP)).status).toBe(200);
    const [accepted] = w.seen();
    expect(accepted).toMatchObject({
      site: 'shop',
      source: 'collect',
      origin: 'https://shop.example',
      outcome: 'accepted',
      count: 2,
      reason: null,
      fix: null,
      visitor: 'v1',
    });
    expect(accepted?.events).toEqual([
      { type: 'page_view', category: 'cameras' },
      { type: 'page_view', category: 'cameras' },
    ]);
    await collect(batch, SHOP);
    const [dup] = w.seen();
    expect(dup).toMatchObject({ outcome: 'duplicate', count: 2, reason: 'duplicate' });
    expect(dup?.message).toContain('already stored');
    expect(dup?.fix).toContain('nothing to fix');
  });

  it('origin not allowed: the origin, and the fix names the config field to add it to', async () => {
    const w = watch(['shop']);
    const res = await collect(
      { site: 'shop', visitor: 'v1', events: [shopEvent()] },
      { origin: 'https://evil.example' },
    );
    expect(res.status).toBe(403);
    const [e] = w.seen();
    expect(e).toMatchObject({
      outcome: 'origin_not_allowed',
      reason: 'origin_not_allowed',
      origin: 'https://evil.example',
      count: 1,
    });
    expect(e?.fix).toContain('add "https://evil.example" to sites.shop.origins');
    expect(e?.visitor).toBeUndefined();
  });

  it('bot/automation: stored flagged, and the fix is allowAutomation', async () => {
    const w = watch(['shop']);
    await collect({ site: 'shop', visitor: 'v1', webdriver: true, events: [shopEvent()] }, SHOP);
    const [e] = w.seen();
    expect(e).toMatchObject({ outcome: 'bot', reason: 'automation', count: 1 });
    expect(e?.fix).toContain('sites.shop.allowAutomation: true');
    await collect(
      { site: 'shop', visitor: 'v2', events: [shopEvent()] },
      { ...SHOP, 'user-agent': 'curl/8.0' },
    );
    expect(w.seen()[0]).toMatchObject({ outcome: 'bot', reason: 'user_agent' });
  });

  it('refused events: the reason and message of each kind, and where to find them', async () => {
    const w = watch(['shop']);
    const res = await collect(
      {
        site: 'shop',
        visitor: 'v1',
        events: [shopEvent(), { id: 'x', type: 'page_view' }, { id: 'y', type: 'page_view' }],
      },
      SHOP,
    );
    expect(res.status).toBe(200);
    const entries = w.seen();
    expect(entries.map((e) => e.outcome)).toEqual(['accepted', 'refused']);
    expect(entries[1]).toMatchObject({ count: 2, reason: 'invalid_event' });
    expect(entries[1]?.message).toMatch(/^refused: /);
    expect(entries[1]?.fix).toContain('microseg quarantine --site shop');
  });

  it('rate limited (per visitor): a 429 with the setting to raise', async () => {
    const w = watch(['shop']);
    for (let i = 0; i < 3; i++)
      await collect({ site: 'shop', visitor: 'v1', events: [shopEvent()] }, SHOP);
    const limited = w.seen().filter((e) => e.outcome === 'rate_limited');
    expect(limited).toHaveLength(1);
    expect(limited[0]).toMatchObject({ reason: 'visitor', count: 1 });
    expect(limited[0]?.fix).toContain('MICROSEG_RATE_VISITOR');
  });

  it('privacy signal (GPC, DNT): nothing stored, and why nothing is to fix', async () => {
    const w = watch(['shop']);
    await collect(
      { site: 'shop', visitor: 'v1', events: [shopEvent()] },
      { ...SHOP, 'sec-gpc': '1' },
    );
    await collect({ site: 'shop', visitor: 'v2', events: [shopEvent()] }, { ...SHOP, dnt: '1' });
    const [gpc, dnt] = w.seen();
    expect(gpc).toMatchObject({ outcome: 'privacy', reason: 'gpc' });
    expect(dnt).toMatchObject({ outcome: 'privacy', reason: 'dnt' });
    expect(gpc?.fix).toContain('sites.shop.consent: true');
    expect(await t.storage.countEvents('shop', 'v1')).toBe(0);
  });

  it('server events (POST /v1/events): accepted and refused of the sites the key opens', async () => {
    const w = watch(['shop', 'demo'], true);
    const res = await t.app.request('http://localhost/v1/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [
          { site: 'shop', contact: 'c1', type: 'purchase', value: 20, currency: 'EUR' },
          { site: 'shop', visitor: 'v9', type: '' },
          { site: 'demo', visitor: 'v9', type: 'page_view' },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const entries = w.seen();
    expect(entries.map((e) => [e.site, e.outcome, e.reason])).toEqual([
      ['shop', 'accepted', null],
      ['shop', 'refused', 'invalid_event'],
    ]);
    expect(entries[0]).toMatchObject({ source: 'events', origin: null, visitor: 'c:c1' });
  });
});

describe('live feed: scope', () => {
  it("a watcher of one site never sees another site's entries", async () => {
    const shop = watch(['shop']);
    const demo = watch(['demo']);
    await collect({ site: 'demo', visitor: 'v1', events: [ev()] });
    await collect({ site: 'shop', visitor: 'v1', events: [shopEvent()] }, SHOP);
    expect(shop.seen().map((e) => e.site)).toEqual(['shop']);
    expect(demo.seen().map((e) => e.site)).toEqual(['demo']);
  });

  it('an unknown site reaches only a watcher of every site (an operator key), with the fix', async () => {
    const owner = watch(['shop', 'demo']);
    const operator = watch(['shop', 'demo'], true);
    const res = await collect({ site: 'shpo', visitor: 'v1', events: [ev()] });
    expect(res.status).toBe(400);
    expect(owner.seen()).toEqual([]);
    const [e] = operator.seen();
    expect(e).toMatchObject({ site: null, outcome: 'refused', reason: 'unknown_site', count: 1 });
    expect(e?.fix).toContain('add it under "sites"');
  });

  it('a malformed batch naming a configured site is shown to that site', async () => {
    const w = watch(['shop']);
    await collect({ site: 'shop', visitor: 'v 1', events: [shopEvent()] }, SHOP);
    expect(w.seen()[0]).toMatchObject({
      site: 'shop',
      outcome: 'refused',
      reason: 'invalid_batch',
    });
  });
});

describe('live feed: bounds and cost', () => {
  it('builds nothing when nobody watches, nor for a site nobody watches', async () => {
    await collect({ site: 'shop', visitor: 'v1', events: [shopEvent()] }, SHOP);
    await collect(
      { site: 'shop', visitor: 'v1', events: [shopEvent()] },
      { origin: 'https://x.example' },
    );
    await collect({ site: 'nope', visitor: 'v1', events: [ev()] });
    expect(t.live.published).toBe(0);
    const w = watch(['demo']);
    await collect({ site: 'shop', visitor: 'v2', events: [shopEvent()] }, SHOP);
    expect(t.live.published).toBe(0);
    w.sub.close();
    expect(t.live.wants('demo')).toBe(false);
  });

  it('a full buffer drops the oldest and counts them; caps on watchers per process and per session', () => {
    const feed = new LiveFeed({ buffer: 3, subscribers: 3, perSession: 2 });
    let woken = 0;
    const sub = feed.subscribe(scope(['a']), () => woken++);
    if (typeof sub === 'string') throw new Error(sub);
    const one = (n: number) => ({
      at: n,
      site: 'a',
      source: 'collect' as const,
      origin: null,
      outcome: 'accepted' as const,
      count: 1,
      reason: null,
      message: `m${n}`,
      fix: null,
      events: [],
    });
    feed.publish([1, 2, 3, 4, 5].map(one));
    expect(woken).toBe(1);
    const { entries, dropped } = sub.take();
    expect(entries.map((e) => e.message)).toEqual(['m3', 'm4', 'm5']);
    expect(dropped).toBe(2);
    expect(feed.dropped).toBe(2);
    expect(sub.take()).toEqual({ entries: [], dropped: 0 });
    // Two per session, three per process.
    expect(typeof feed.subscribe(scope(['a']), () => {})).toBe('object');
    expect(feed.subscribe(scope(['a']), () => {})).toBe('too_many_for_session');
    expect(typeof feed.subscribe(scope(['a'], false, 's2'), () => {})).toBe('object');
    expect(feed.subscribe(scope(['a'], false, 's3'), () => {})).toBe('too_many_watchers');
    sub.close();
    sub.close();
    expect(feed.watchers).toBe(2);
  });
});

describe('live feed: across the workers of serve --workers (the primary relays)', () => {
  /** Two workers' feeds linked by a LiveHub as the primary runs it, IPC as direct calls. */
  function cluster() {
    const feeds = new Map<number, LiveFeed>([
      [1, new LiveFeed()],
      [2, new LiveFeed()],
    ]);
    const hub = new LiveHub(
      (id, m) => {
        const f = feeds.get(id);
        if (m.type === 'microseg:live-remote')
          f?.setRemote({ sites: m.sites, everySite: m.everySite });
        else if (m.type === 'microseg:live') f?.deliver(m.entries);
      },
      () => [...feeds.keys()],
    );
    for (const [id, f] of feeds) {
      f.connect({
        relay: (entries) => hub.message(id, { type: 'microseg:live', entries }),
        interest: (now) => hub.message(id, { type: 'microseg:live-interest', ...now }),
      });
    }
    return { hub, one: feeds.get(1) as LiveFeed, two: feeds.get(2) as LiveFeed };
  }
  const entryOf = (site: string | null) => ({
    at: 1,
    site,
    source: 'collect' as const,
    origin: null,
    outcome: 'accepted' as const,
    count: 1,
    reason: null,
    message: 'stored',
    fix: null,
    events: [],
  });

  it("an entry published on one worker reaches a watcher on another, only for the watcher's sites", () => {
    const { hub, one, two } = cluster();
    expect(one.wants('shop')).toBe(false);
    const sub = two.subscribe(scope(['shop']), () => {});
    if (typeof sub === 'string') throw new Error(sub);
    // Worker 1 has no watcher but knows worker 2 watches shop (and nothing else).
    expect(one.wants('shop')).toBe(true);
    expect(one.wants('demo')).toBe(false);
    expect(one.wants(null)).toBe(false);
    one.publish([entryOf('shop')]);
    expect(sub.take().entries.map((e) => e.site)).toEqual(['shop']);
    // The watcher leaves: worker 1 is told, and builds nothing again.
    sub.close();
    expect(one.wants('shop')).toBe(false);
    // A worker that exits takes its watchers' interest with it.
    const again = two.subscribe(scope(['shop'], true), () => {});
    expect(one.wants(null)).toBe(true);
    hub.gone(2);
    expect(one.wants('shop')).toBe(false);
    expect(typeof again).toBe('object');
  });
});

describe('live feed: email links (/r) and the per-address limit', () => {
  const linkFor = async (contact: string) => {
    const res = await t.app.request('http://collect.test/v1/links', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        site: 'shop',
        links: [{ contact, to: 'https://shop.example/cameras/x1', campaign: 'spring' }],
      }),
    });
    const body = (await res.json()) as { links: { url: string }[] };
    return body.links[0]?.url ?? '';
  };

  it('a click is accepted into the contact, a replay in the window is a duplicate, a forged link reaches only every-site watchers', async () => {
    const owner = watch(['shop']);
    const operator = watch(['shop', 'demo'], true);
    const url = await linkFor('c7');
    const get = (u: string) => t.app.request(u, { headers: UA });
    expect((await get(url)).status).toBe(302);
    expect((await get(url)).status).toBe(302);
    const [click, again] = owner.seen();
    expect(click).toMatchObject({
      site: 'shop',
      source: 'email',
      outcome: 'accepted',
      visitor: 'c:c7',
      events: [{ type: 'email_click', category: null }],
    });
    expect(again).toMatchObject({ outcome: 'duplicate', reason: 'duplicate' });
    operator.seen();
    const forged = url.replace(/sig=[^&]+/, 'sig=AAAA');
    expect((await get(forged)).status).toBe(400);
    expect(owner.seen()).toEqual([]);
    expect(operator.seen()[0]).toMatchObject({
      site: null,
      source: 'email',
      outcome: 'refused',
      reason: 'invalid_signature',
    });
  });

  it('a 429 per address (before the body is read) reaches only every-site watchers, with the setting to raise', async () => {
    const limited = await testApp({
      config: { sites: { shop: { origins: ['https://shop.example'] } } },
      limits: { ipPerMinute: 1, visitorPerMinute: 0, trustProxy: 0 },
    });
    try {
      const owner = limited.live.subscribe(scope(['shop']), () => {});
      const operator = limited.live.subscribe(scope(['shop'], true, 's2'), () => {});
      if (typeof owner === 'string' || typeof operator === 'string') throw new Error('refused');
      const batch = { site: 'shop', visitor: 'v1', events: [shopEvent()] };
      for (let i = 0; i < 2; i++)
        await limited.app.request(collectRequest(batch, { ...UA, ...SHOP }));
      expect(owner.take().entries.map((e) => e.outcome)).toEqual(['accepted']);
      const entries = operator.take().entries;
      expect(entries.map((e) => [e.site, e.outcome, e.reason])).toEqual([
        ['shop', 'accepted', null],
        [null, 'rate_limited', 'address'],
      ]);
      expect(entries[1]?.fix).toContain('MICROSEG_RATE_IP');
    } finally {
      await limited.close();
    }
  });
});
