/**
 * The marketers' stories, replayed through the public HTTP API (browser batches on
 * /v1/collect, backend events on /v1/events, reads on /v1/segment) with a settable clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Segment } from '../../shared/segment.ts';
import { collectRequest, DAY, ev, T0, testApp } from '../helpers.ts';

const KEY = 'shop-api-key-0123456789';
const MIN = 60_000;

let t: Awaited<ReturnType<typeof testApp>>;
beforeEach(async () => {
  t = await testApp({
    config: {
      sites: {
        shop: {
          origins: ['https://shop.example'],
          apiKeys: [KEY],
          categories: [{ path: '/cameras/*', category: 'cameras' }],
          // These scenarios read RFM and cooldown through GET /v1/segment: a site opts in to that.
          browserReveals: ['rfm', 'cooldown'],
          rules: {
            'camera-intent': {
              description: '≥ 3 camera page views within 7 days and no purchase: send the coupon',
              when: {
                all: [
                  { count: { type: 'page_view', category: 'cameras', within: '7d' }, gte: 3 },
                  { count: { type: 'purchase', within: '7d' }, eq: 0 },
                ],
              },
            },
          },
        },
      },
    },
  });
});
afterEach(() => t.close());

/** A browser batch sent "now" on the test clock. */
async function browse(visitor: string, events: Partial<Parameters<typeof ev>[0]>[]) {
  const res = await t.app.request(
    collectRequest({
      site: 'shop',
      visitor,
      events: events.map((e) => ev({ ts: t.clock.now, url: 'https://shop.example/', ...e })),
    }),
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as { segment: Segment }).segment;
}

async function backend(events: object[]) {
  const res = await t.app.request('/v1/events', {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events: events.map((e) => ({ site: 'shop', ...e })) }),
  });
  expect(res.status).toBe(200);
  return res.json() as Promise<{ accepted: number; refused: unknown[] }>;
}

async function segment(visitor: string): Promise<Segment> {
  return (
    await t.app.request(`/v1/segment?site=shop&visitor=${visitor}`)
  ).json() as Promise<Segment>;
}

describe('the shopper who views women’s apparel 70% of the time', () => {
  it('has category womens_apparel with affinity ≈ 0.7', async () => {
    const views = [
      ...Array(7).fill({ category: 'womens_apparel' }),
      ...Array(3).fill({ category: 'shoes' }),
    ];
    // Spread over an afternoon, interleaved.
    for (let i = 0; i < 10; i++) {
      t.clock.now = T0 + i * 10 * MIN;
      await browse('shopper', [views[(i * 3) % 10]]);
    }
    const seg = await segment('shopper');
    expect(seg.category).toBe('womens_apparel');
    expect(seg.affinity.womens_apparel).toBeCloseTo(0.7, 2);
    expect(seg.affinity.shoes).toBeCloseTo(0.3, 2);
    expect(seg.segment).toBe('newbie:womens_apparel:hot');
  });
});

describe('the camera buyer who visits camera pages three times in a week', () => {
  const visit = (at: number) => {
    t.clock.now = at;
    return browse('cam', [{ url: 'https://shop.example/cameras/x100' }]);
  };

  it('turns hot and enters camera-intent, then exits a minute after the oldest view falls out', async () => {
    expect((await visit(T0)).segments).toEqual([]);
    expect((await visit(T0 + 2 * DAY)).engagement).toBe('active');
    const third = await visit(T0 + 4 * DAY);
    expect(third).toMatchObject({
      category: 'cameras',
      engagement: 'hot',
      segment: 'newbie:cameras:hot',
      intent: 'moderately_likely',
      segments: ['camera-intent'],
    });

    t.clock.now = T0 + 7 * DAY - MIN; // 6d23h59m after the first view
    expect((await segment('cam')).segments).toEqual(['camera-intent']);
    t.clock.now = T0 + 7 * DAY + MIN; // a minute after it fell out
    const after = await segment('cam');
    expect(after.segments).toEqual([]);
    expect(after.engagement).toBe('active');

    // History: entered with the third view; the exit, caused by time alone, is recorded at the next event.
    await browse('cam', [{ url: 'https://shop.example/about' }]);
    const history = (await t.storage.segmentHistory('shop', 'cam')).map(
      ({ kind, name, previous, at }) => ({ kind, name, previous, at }),
    );
    expect(history).toEqual([
      { kind: 'key', name: 'newbie:cameras:active', previous: null, at: T0 },
      {
        kind: 'key',
        name: 'newbie:cameras:hot',
        previous: 'newbie:cameras:active',
        at: T0 + 4 * DAY,
      },
      { kind: 'entered', name: 'camera-intent', previous: null, at: T0 + 4 * DAY },
      {
        kind: 'key',
        name: 'newbie:cameras:active',
        previous: 'newbie:cameras:hot',
        at: T0 + 7 * DAY + MIN,
      },
      { kind: 'exited', name: 'camera-intent', previous: null, at: T0 + 7 * DAY + MIN },
    ]);
  });

  it('exits camera-intent when the backend reports the purchase', async () => {
    await visit(T0);
    await visit(T0 + DAY);
    expect((await visit(T0 + 2 * DAY)).segments).toEqual(['camera-intent']);
    t.clock.now = T0 + 2 * DAY + 5 * MIN;
    expect(
      await backend([
        {
          visitor: 'cam',
          type: 'purchase',
          value: 649,
          currency: 'EUR',
          category: 'cameras',
          id: 'order-1001',
        },
      ]),
    ).toMatchObject({ accepted: 1 });
    const seg = await segment('cam');
    expect(seg).toMatchObject({
      segments: [],
      lifecycle: 'new_customer',
      rfm: { r: 5, f: 1, m: 4, label: 'new_customer' },
    });
    expect((await t.storage.segmentHistory('shop', 'cam')).at(-1)).toMatchObject({
      kind: 'exited',
      name: 'camera-intent',
      event: 'order-1001',
    });
  });
});

describe('the newbie versus the loyalist', () => {
  it('the newbie clicking one category recently and often is pushed; the loyalist in cooldown is not', async () => {
    // Newbie: first seen two days ago, clicks sports again and again today.
    t.clock.now = T0 - 2 * DAY;
    await browse('newbie', [{ category: 'sports' }]);
    t.clock.now = T0;
    await browse(
      'newbie',
      [1, 2, 3, 4].map(() => ({ type: 'click', category: 'sports' })),
    );

    // Loyalist: history imported by the backend (timestamps far in the past are kept), a
    // high-end purchase three months ago, and visits ever since.
    await backend([
      { visitor: 'loyal', type: 'page_view', category: 'tv', ts: T0 - 400 * DAY },
      {
        visitor: 'loyal',
        type: 'purchase',
        value: 300,
        category: 'tv',
        ts: T0 - 200 * DAY,
        id: 'o-1',
      },
      {
        visitor: 'loyal',
        type: 'purchase',
        value: 2400,
        category: 'tv',
        ts: T0 - 85 * DAY,
        id: 'o-2',
      },
      { visitor: 'loyal', type: 'page_view', category: 'audio', ts: T0 - 30 * DAY },
      { visitor: 'loyal', type: 'page_view', category: 'audio', ts: T0 - 9 * DAY },
    ]);
    await browse('loyal', [{ category: 'audio' }]);

    const newbie = await segment('newbie');
    expect(newbie).toMatchObject({
      lifecycle: 'newbie',
      category: 'sports',
      engagement: 'hot',
      cooldown: false,
      intent: 'moderately_likely',
      rfm: null,
      segment: 'newbie:sports:hot',
    });

    const loyal = await segment('loyal');
    expect(loyal).toMatchObject({
      lifecycle: 'loyalist',
      cooldown: true,
      intent: 'least_likely',
      segment: 'loyalist:audio:active',
    });
    expect(loyal.intent).not.toBe('most_likely');
    expect(loyal.rfm).toMatchObject({ f: 2, m: 5 });

    // Five days later the cooldown ends (90 days after the high-end purchase).
    t.clock.now = T0 + 5 * DAY;
    expect(await segment('loyal')).toMatchObject({ cooldown: false, lifecycle: 'loyalist' });
  });
});
