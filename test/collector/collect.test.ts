import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { collectRequest, DAY, ev, T0, testApp } from '../helpers.ts';
import { row } from '../support/backend.ts';

let t: Awaited<ReturnType<typeof testApp>>;
beforeEach(async () => {
  t = await testApp({
    config: {
      sites: {
        demo: { allowLocalhost: true, allowAutomation: true },
        shop: {
          origins: ['https://shop.example'],
          categories: [{ path: '/cameras/*', category: 'cameras' }],
        },
      },
    },
    // The collector's own origin comes from its configuration (server.ts: the listen address).
    selfOrigins: ['http://localhost:8787'],
  });
});
afterEach(() => t.close());

async function collect(body: unknown, headers?: Record<string, string>) {
  const res = await t.app.request(collectRequest(body, headers));
  return { status: res.status, body: (await res.json()) as any, res };
}

describe('POST /v1/collect — valid batches', () => {
  it('stores the events and answers with the fresh segment', async () => {
    const events = [
      ev({ category: 'cameras' }),
      ev({ type: 'click', category: 'cameras', target: 'https://x.example/', outbound: true }),
    ];
    const { status, body } = await collect({ site: 'demo', visitor: 'v1', events });
    expect(status).toBe(200);
    expect(body).toMatchObject({ accepted: 2, duplicates: 0, refused: [] });
    expect(body.segment).toMatchObject({
      site: 'demo',
      visitor: 'v1',
      category: 'cameras',
      lifecycle: 'newbie',
      engagement: 'active',
      known: false,
    });
    expect(body.segment.affinity).toEqual({ cameras: 1 });
    expect(await t.storage.countEvents('demo', 'v1')).toBe(2);
    const stored = await row(
      t.storage,
      "select * from events where site='demo' and id=?",
      events[1]!.id,
    );
    expect(stored).toMatchObject({
      type: 'click',
      category: 'cameras',
      target: 'https://x.example/',
      outbound: 1,
      visitor: 'v1',
      received: T0,
    });
  });

  it('answers a batch without events (the snippet asking for the segment) with the segment, storing nothing', async () => {
    const events = [ev({ category: 'cameras' })];
    const first = await collect({ site: 'demo', visitor: 'v1', events });
    const empty = await collect({ site: 'demo', visitor: 'v1', events: [] });
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ accepted: 0, duplicates: 0, refused: [] });
    expect(empty.body.segment).toEqual(first.body.segment);
    expect(empty.body.segment).toMatchObject({ category: 'cameras', facts: expect.any(Array) });
    // The compact form too, and a visitor never seen gets the segment of no activity.
    const compact = await collect({ s: 'demo', v: 'new1', e: [] });
    expect(compact.status).toBe(200);
    expect(compact.body.segment).toMatchObject({ visitor: 'new1', category: null });
    expect(await t.storage.countEvents('demo')).toBe(1);
    expect(await t.storage.profile('demo', 'new1')).toBeFalsy();
  });

  it('counts a retried batch once, profile included', async () => {
    const events = [ev({ category: 'cameras' }), ev({ category: 'cameras' })];
    await collect({ site: 'demo', visitor: 'v1', events });
    const again = await collect({ site: 'demo', visitor: 'v1', events });
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(await t.storage.countEvents('demo')).toBe(2);
    expect((await t.storage.profile('demo', 'v1'))!.profile.count).toBe(2);
  });

  it('keeps a text/plain body and a JSON body alike', async () => {
    const res = await t.app.request('/v1/collect', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ site: 'demo', visitor: 'v2', events: [ev()] }),
    });
    expect(res.status).toBe(200);
  });

  it('categorizes page views by the site URL rules when the page names none', async () => {
    const { body } = await collect({
      site: 'shop',
      visitor: 'v1',
      events: [ev({ url: 'https://shop.example/cameras/x100' })],
    });
    expect(body.segment.category).toBe('cameras');
  });

  it('clamps client timestamps into the sane window', async () => {
    const e1 = ev({ ts: T0 + 365 * DAY });
    const e2 = ev({ ts: 0 });
    await collect({ site: 'demo', visitor: 'v1', events: [e1, e2] });
    const ts = async (id: string) =>
      (await row(t.storage, 'select ts from events where id=?', id))?.ts;
    expect(await ts(e1.id)).toBe(T0 + 5 * 60_000);
    expect(await ts(e2.id)).toBe(T0 - 7 * DAY);
  });

  it('echoes an allowed origin for CORS and refuses others', async () => {
    const ok = await collect(
      { site: 'shop', visitor: 'v1', events: [ev()] },
      { origin: 'https://shop.example' },
    );
    expect(ok.status).toBe(200);
    expect(ok.res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const bad = await collect(
      { site: 'shop', visitor: 'v1', events: [ev()] },
      { origin: 'https://evil.example' },
    );
    expect(bad.status).toBe(403);
    expect(bad.body.error).toBe('origin_not_allowed');
    const local = await collect(
      { site: 'shop', visitor: 'v1', events: [ev()] },
      { origin: 'http://localhost:3000' },
    );
    expect(local.status).toBe(403);
    const demoLocal = await collect(
      { site: 'demo', visitor: 'v1', events: [ev()] },
      { origin: 'http://localhost:3000' },
    );
    expect(demoLocal.status).toBe(200);
    const self = await collect(
      { site: 'shop', visitor: 'v1', events: [ev()] },
      { origin: 'http://localhost:8787' },
    );
    expect(self.status).toBe(200);
    // Not the Host header: a request to evil.example from an evil.example page is not "own".
    const body = JSON.stringify({ site: 'shop', visitor: 'v1', events: [ev()] });
    const headers = { origin: 'http://evil.example' };
    const evil = new Request('http://evil.example/v1/collect', { method: 'POST', headers, body });
    const forged = await t.app.request(evil);
    expect(forged.status).toBe(403);
  });

  it('answers a preflight only for origins some site allows', async () => {
    const ok = await t.app.request('/v1/collect', {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const bad = await t.app.request('/v1/collect', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example' },
    });
    expect(bad.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('stores bot and automation traffic flagged, out of segments, unless the site allows it', async () => {
    const auto = await collect({
      site: 'shop',
      visitor: 'v1',
      webdriver: true,
      events: [ev({ category: 'cameras' })],
    });
    expect(auto.status).toBe(200);
    expect(auto.body).toMatchObject({ accepted: 1, bot: 'automation', segment: null });
    const crawler = await collect(
      { site: 'shop', visitor: 'v2', events: [ev()] },
      { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1)' },
    );
    expect(crawler.body).toMatchObject({ accepted: 1, bot: 'user_agent', segment: null });
    const headless = await collect(
      { site: 'shop', visitor: 'v3', events: [ev()] },
      { 'user-agent': 'Mozilla/5.0 HeadlessChrome/120.0' },
    );
    expect(headless.body.bot).toBe('user_agent');
    expect(await t.storage.countEvents('shop')).toBe(3);
    // bot is 0/1 in SQLite, a boolean in PostgreSQL: `bot` alone is true on both.
    expect(
      (await row(t.storage, "select count(*) as n from events where site='shop' and bot"))?.n,
    ).toBe(3);
    expect(await t.storage.profile('shop', 'v1')).toBeUndefined();
    const person = await collect(
      { site: 'shop', visitor: 'v4', events: [ev()] },
      { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36' },
    );
    expect(person.body.bot).toBeUndefined();
    expect(person.body.segment.visitor).toBe('v4');
    const kept = await collect({ site: 'demo', visitor: 'v1', webdriver: true, events: [ev()] });
    expect(kept.body).toMatchObject({ accepted: 1 });
    expect(kept.body.segment.visitor).toBe('v1');
  });

  it('honors Do-Not-Track and Global Privacy Control unless the site config states consent', async () => {
    const gpc = await collect({ site: 'shop', visitor: 'p1', events: [ev()] }, { 'sec-gpc': '1' });
    expect(gpc.body).toMatchObject({ accepted: 0, privacy: 'gpc', segment: null });
    const dnt = await collect({ site: 'shop', visitor: 'p1', events: [ev()] }, { dnt: '1' });
    expect(dnt.body.privacy).toBe('dnt');
    expect(await t.storage.countEvents('shop')).toBe(0);
    const consented = await testApp({ config: { sites: { s: { consent: true } } } });
    try {
      const res = await consented.app.request(
        collectRequest({ site: 's', visitor: 'p1', events: [ev()] }, { 'sec-gpc': '1', dnt: '1' }),
      );
      expect(((await res.json()) as any).accepted).toBe(1);
    } finally {
      await consented.close();
    }
  });

  it('keeps refused events in quarantine with reason and capped raw payload', async () => {
    const huge = { ...ev(), type: 'x y', props: { a: 'p'.repeat(200) }, url: 'u'.repeat(3000) };
    await collect({ site: 'demo', visitor: 'v1', events: [ev(), { id: 'bad1', type: 5 }, huge] });
    const rows = await t.storage.quarantined('demo');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({
      site: 'demo',
      visitor: 'v1',
      eventId: 'bad1',
      source: 'collect',
      error: 'invalid_event',
      received: T0,
    });
    expect(JSON.parse(rows[1]!.payload)).toEqual({ id: 'bad1', type: 5 });
    expect(Buffer.byteLength(rows[0]!.payload)).toBeLessThanOrEqual(2048);
    expect(rows[0]!.payload.endsWith('…')).toBe(true);
  });
});

describe('POST /v1/collect — bad input', () => {
  const cases: [string, unknown, number, string][] = [
    ['not JSON', '{"site":', 400, 'invalid_json'],
    ['empty body', '', 400, 'invalid_json'],
    ['JSON null', 'null', 400, 'invalid_batch'],
    ['an array', '[]', 400, 'invalid_batch'],
    ['no events', { site: 'demo', visitor: 'v1' }, 400, 'invalid_batch'],
    ['events not an array', { site: 'demo', visitor: 'v1', events: 'x' }, 400, 'invalid_batch'],
    ['visitor with a slash', { site: 'demo', visitor: 'a/b', events: [{}] }, 400, 'invalid_batch'],
    [
      'visitor too long',
      { site: 'demo', visitor: 'v'.repeat(65), events: [{}] },
      400,
      'invalid_batch',
    ],
    ['site a number', { site: 7, visitor: 'v1', events: [{}] }, 400, 'invalid_batch'],
    [
      'unknown field',
      { site: 'demo', visitor: 'v1', events: [{}], admin: true },
      400,
      'invalid_batch',
    ],
    [
      'unknown site',
      { site: 'nope', visitor: 'v1', events: [{ id: 'a', type: 'page_view', ts: 1 }] },
      400,
      'unknown_site',
    ],
    [
      'every event bad',
      { site: 'demo', visitor: 'v1', events: [{ id: 'a' }, 5] },
      400,
      'invalid_events',
    ],
  ];
  it.each(cases)('%s → %s %s', async (_name, body, status, error) => {
    const res = await collect(body);
    expect(res.status).toBe(status);
    expect(res.body.error).toBe(error);
    expect(typeof res.body.message).toBe('string');
    expect(await t.storage.countEvents('demo')).toBe(0);
  });

  it('refuses a batch over the event limit', async () => {
    const events = Array.from({ length: LIMITS.batchEvents + 1 }, () => ev());
    const res = await collect({ site: 'demo', visitor: 'v1', events });
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('batch_too_large');
  });

  it('refuses a body over the size limit before parsing', async () => {
    const res = await collect('x'.repeat(LIMITS.bodyBytes + 1));
    expect(res.status).toBe(413);
    expect(res.body.error).toBe('body_too_large');
  });

  it('accepts the good events of a batch and names the bad ones with a reason', async () => {
    const good = ev();
    const events = [
      good,
      { ...ev(), type: 'bad type!' },
      { ...ev(), url: 'u'.repeat(LIMITS.urlLength + 1) },
      { ...ev(), category: 'c'.repeat(LIMITS.categoryLength + 1) },
      { ...ev(), ts: 'yesterday' },
      { ...ev(), value: 'NaN' },
      { ...ev(), currency: 'euros' },
      { ...ev(), props: { ['__proto__']: 1 } },
      {
        ...ev(),
        props: Object.fromEntries(
          Array.from({ length: LIMITS.propsKeys + 1 }, (_, i) => [`k${i}`, i]),
        ),
      },
      { ...ev(), props: { nested: { deep: true } } },
      { ...ev(), extra: 1 },
    ];
    const res = await collect(
      JSON.stringify({ site: 'demo', visitor: 'v1', events }).replace(
        '"props":{}',
        '"props":{"__proto__":1}',
      ),
    );
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(1);
    expect(res.body.refused.map((r: any) => r.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const r of res.body.refused) {
      expect(r.error).toBe('invalid_event');
      expect(r.message.length).toBeGreaterThan(3);
    }
    expect(await t.storage.countEvents('demo')).toBe(1);
  });
});

describe('stored columns', () => {
  it('stores outbound only for clicks: null on other events', async () => {
    const t2 = await testApp();
    try {
      const pv = ev();
      const click = ev({ type: 'click', target: 'http://localhost:8787/x', outbound: false });
      await t2.app.request(collectRequest({ site: 'demo', visitor: 'v1', events: [pv, click] }));
      const outbound = async (id: string) =>
        (await row(t2.storage, 'select outbound from events where id=?', id))?.outbound;
      expect(await outbound(pv.id)).toBeNull();
      expect(await outbound(click.id)).toBe(0);
    } finally {
      await t2.close();
    }
  });
});

describe('arrival parameters from the page URL', () => {
  it('stores utm_* as the campaign and lets ms_cat set the landing page category', async () => {
    const t3 = await testApp();
    try {
      const landing = ev({
        category: 'home',
        url: 'http://localhost:8787/demo/?utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale&ms_cat=cameras&x=1',
      });
      const plain = ev({ category: 'sports', url: 'http://localhost:8787/demo/sports' });
      const given = ev({
        url: 'http://localhost:8787/?utm_source=ignored',
        utm: { source: 'explicit' },
      });
      const res = await t3.app.request(
        collectRequest({ site: 'demo', visitor: 'a1', events: [landing, plain, given] }),
      );
      expect(res.status).toBe(200);
      const stored = (id: string) =>
        row(t3.storage, 'select category, utm from events where id=?', id);
      expect(await stored(landing.id)).toEqual({
        category: 'cameras',
        utm: JSON.stringify({ source: 'newsletter', medium: 'email', campaign: 'spring sale' }),
      });
      expect(await stored(plain.id)).toEqual({ category: 'sports', utm: null });
      expect((await stored(given.id))?.utm).toBe(JSON.stringify({ source: 'explicit' }));
    } finally {
      await t3.close();
    }
  });

  it('ignores an over-long ms_cat and non-URLs', async () => {
    const { arrivalOf } = await import('../../collector/ingest/arrival.ts');
    expect(arrivalOf(`http://x.example/?ms_cat=${'c'.repeat(65)}`)).toEqual({});
    expect(arrivalOf('not a url utm_source=x')).toEqual({});
    expect(arrivalOf(undefined)).toEqual({});
  });
});

describe('purchase values', () => {
  it('refuses a negative purchase and an overflowing value, from the browser and from a backend', async () => {
    const KEY = 'purchase-test-key-0123456789';
    const t4 = await testApp({
      config: { sites: { demo: { allowLocalhost: true, allowAutomation: true, apiKeys: [KEY] } } },
    });
    try {
      const refund = ev({ type: 'purchase', value: -20, currency: 'EUR' });
      const huge = ev({ type: 'purchase', value: 1e308, currency: 'EUR' });
      const ok = ev({ type: 'purchase', value: 20, currency: 'EUR' });
      const custom = ev({ type: 'refund', value: -20, currency: 'EUR' });
      const res = await t4.app.request(
        collectRequest({ site: 'demo', visitor: 'b1', events: [refund, huge, ok, custom] }),
      );
      const body = (await res.json()) as any;
      expect(body.accepted).toBe(2);
      expect(body.refused.map((r: any) => [r.index, r.message.slice(0, 6)])).toEqual([
        [0, 'value:'],
        [1, 'value:'],
      ]);
      expect((await t4.storage.profile('demo', 'b1'))!.profile.purchases).toMatchObject({
        n: 1,
        total: 20,
      });

      const server = await t4.app.request('/v1/events', {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}` },
        body: JSON.stringify({
          events: [{ site: 'demo', visitor: 'b2', type: 'purchase', ts: T0, value: -5 }],
        }),
      });
      expect(server.status).toBe(400);
      expect(((await server.json()) as any).refused[0].message).toContain('refund');
    } finally {
      await t4.close();
    }
  });
});
