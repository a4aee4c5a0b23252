import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import type { QuarantineRow } from '../../collector/storage/contract.ts';
import { row as firstRow } from '../support/backend.ts';
import { DAY, T0, testApp } from '../helpers.ts';

const KEY = 'shop-api-key-0123456789';
const OTHER = 'blog-api-key-0123456789';

let t: Awaited<ReturnType<typeof testApp>>;
beforeEach(async () => {
  t = await testApp({
    config: {
      sites: {
        shop: { apiKeys: [KEY], categories: [{ path: '/cameras/*', category: 'cameras' }] },
        blog: { apiKeys: [OTHER] },
      },
    },
  });
});
afterEach(() => t.close());

async function post(body: unknown, key: string | null = KEY) {
  const res = await t.app.request('/v1/events', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}
const row = (id: string) =>
  firstRow(t.storage, "select * from events where site='shop' and id=?", id);

describe('POST /v1/events', () => {
  it('stores a backend purchase with its explicit timestamp, far in the past (imports)', async () => {
    const ts = T0 - 2 * 365 * DAY;
    const { status, body } = await post({
      events: [
        {
          site: 'shop',
          visitor: 'v1',
          type: 'purchase',
          ts,
          value: 120.5,
          currency: 'EUR',
          id: 'order-1',
          props: { sku: 'X100' },
        },
      ],
    });
    expect(status).toBe(200);
    expect(body).toEqual({ accepted: 1, duplicates: 0, refused: [], ids: ['order-1'] });
    expect(await row('order-1')).toMatchObject({
      ts,
      value: 120.5,
      currency: 'EUR',
      type: 'purchase',
      visitor: 'v1',
      received: T0,
    });
    expect((await t.storage.profile('shop', 'v1'))!.profile.purchases).toMatchObject({
      n: 1,
      total: 120.5,
      last: ts,
    });
  });

  it('defaults ts to now and categorizes by the URL rules', async () => {
    const { body } = await post({
      events: [
        { site: 'shop', visitor: 'v1', type: 'screen_view', url: 'https://shop.example/cameras/a' },
      ],
    });
    expect(await row(body.ids[0])).toMatchObject({ ts: T0, category: 'cameras' });
  });

  it('derives an id from the content when none is given: re-sending counts once', async () => {
    const events = [
      { site: 'shop', visitor: 'v1', type: 'page_view', ts: T0 - DAY, category: 'a' },
      { site: 'shop', visitor: 'v1', type: 'page_view', ts: T0 - DAY + 1, category: 'a' },
    ];
    const first = await post({ events });
    expect(first.body).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(first.body.ids[0]).toMatch(/^h_[A-Za-z0-9_-]{24}$/);
    expect(first.body.ids[0]).not.toBe(first.body.ids[1]);
    const again = await post({ events });
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 2, ids: first.body.ids });
    expect(await t.storage.countEvents('shop')).toBe(2);
    expect((await t.storage.profile('shop', 'v1'))!.profile.count).toBe(2);
  });

  it('counts the same id twice in one request once', async () => {
    const e = { site: 'shop', visitor: 'v1', type: 'purchase', value: 5, id: 'o-7' };
    const { body } = await post({ events: [e, e] });
    expect(body).toMatchObject({ accepted: 1, duplicates: 1 });
    expect((await t.storage.profile('shop', 'v1'))!.profile.purchases.n).toBe(1);
  });

  it('spreads one request over several visitors and sites the key opens', async () => {
    const multi = 'multi-site-key-0123456789';
    await t.close();
    t = await testApp({
      config: { sites: { shop: { apiKeys: [multi] }, blog: { apiKeys: [multi] } } },
    });
    const { body } = await post(
      {
        events: [
          { site: 'shop', visitor: 'a', type: 'x' },
          { site: 'blog', visitor: 'a', type: 'x' },
          { site: 'shop', visitor: 'b', type: 'x' },
        ],
      },
      multi,
    );
    expect(body.accepted).toBe(3);
    expect([await t.storage.countEvents('shop'), await t.storage.countEvents('blog')]).toEqual([
      2, 1,
    ]);
  });

  it('refuses bad events one by one with a reason, keeps the good ones, quarantines the refused', async () => {
    const good = { site: 'shop', visitor: 'v1', type: 'page_view', id: 'good-1' };
    const events = [
      good,
      { ...good, id: 'b1', site: 'blog' },
      { ...good, id: 'b2', site: 'nope' },
      { ...good, id: 'b3', ts: T0 + 6 * 60_000 },
      { ...good, id: 'b4', type: 'bad type!' },
      { ...good, id: 'b5', visitor: undefined },
      { ...good, id: 'b6', value: 'a lot' },
      { ...good, id: 'b7', extra: 1 },
      { ...good, id: 'b8', currency: 'euros' },
      { ...good, id: 'b9', props: { nested: { x: 1 } } },
      { ...good, id: 'b10', ts: -5 },
      7,
    ];
    const { status, body } = await post({ events });
    expect(status).toBe(200);
    expect(body.accepted).toBe(1);
    expect(body.refused.map((r: any) => [r.index, r.error])).toEqual([
      [1, 'forbidden_site'],
      [2, 'forbidden_site'],
      [3, 'invalid_event'],
      [4, 'invalid_event'],
      [5, 'invalid_event'],
      [6, 'invalid_event'],
      [7, 'invalid_event'],
      [8, 'invalid_event'], // both a visitor and a contact
      [9, 'invalid_event'],
      [10, 'invalid_event'],
      [11, 'invalid_event'],
    ]);
    expect(body.refused[1].message).toContain('not valid for site "nope"');
    expect(body.refused[2].message).toContain('future');
    expect(body.refused[0].id).toBe('b1');
    expect(body.ids).toEqual(['good-1', ...Array(11).fill(null)]);
    expect(await t.storage.countEvents('shop')).toBe(1);
    expect(await t.storage.countEvents('blog')).toBe(0);
    // Refused events of the key's own site are kept with their reason; another site's are not.
    const kept = (await t.storage.quarantined('shop')).map((q: QuarantineRow) => q.eventId).sort();
    expect(kept).toEqual(['b10', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8', 'b9']);
    expect(await t.storage.quarantined('blog')).toEqual([]);
  });

  it.each([
    ['no key', 401, 'unauthorized', { events: [{}] }, null],
    ['a wrong key', 401, 'unauthorized', { events: [{}] }, 'not-a-key-not-a-key'],
    ['not JSON', 400, 'invalid_json', '{"events":', KEY],
    ['no events', 400, 'invalid_request', {}, KEY],
    ['empty events', 400, 'invalid_request', { events: [] }, KEY],
    ['unknown envelope field', 400, 'invalid_request', { events: [{}], site: 'shop' }, KEY],
    ['every event bad', 400, 'invalid_events', { events: [{ site: 'shop' }] }, KEY],
    [
      'only another site’s events',
      400,
      'invalid_events',
      { events: [{ site: 'blog', visitor: 'v', type: 'x' }] },
      KEY,
    ],
  ] as [string, number, string, unknown, string | null][])(
    '%s → %i %s',
    async (_n, status, error, body, key) => {
      const res = await post(body, key);
      expect(res.status).toBe(status);
      expect(res.body.error).toBe(error);
      expect(typeof res.body.message).toBe('string');
      expect((await t.storage.countEvents('shop')) + (await t.storage.countEvents('blog'))).toBe(0);
    },
  );

  it('refuses a value beyond ±LIMITS.maxValue: two huge purchases would sum to Infinity and the total drop to null', async () => {
    const huge = { site: 'shop', visitor: 'v9', type: 'purchase' };
    const { body } = await post({
      events: [
        { ...huge, id: 'h1', value: 1e308 },
        { ...huge, id: 'h2', value: -1e308 },
        { ...huge, id: 'ok', value: LIMITS.maxValue },
      ],
    });
    expect(body.accepted).toBe(1);
    expect(body.refused.map((r: { id: string; message: string }) => [r.id, r.message])).toEqual([
      ['h1', `value: at most ${LIMITS.maxValue}`],
      ['h2', `value: at least -${LIMITS.maxValue}`],
    ]);
    await post({ events: [{ ...huge, id: 'ok2', value: LIMITS.maxValue }] });
    expect((await t.storage.profile('shop', 'v9'))!.profile.purchases).toMatchObject({
      n: 2,
      total: 2 * LIMITS.maxValue,
    });
  });

  it('refuses more events than the server batch limit, and bodies over the size limit', async () => {
    const many = Array.from({ length: LIMITS.serverBatchEvents + 1 }, () => ({
      site: 'shop',
      visitor: 'v',
      type: 'x',
    }));
    expect(await post({ events: many })).toMatchObject({
      status: 413,
      body: { error: 'batch_too_large' },
    });
    expect(await post('x'.repeat(LIMITS.serverBodyBytes + 1))).toMatchObject({
      status: 413,
      body: { error: 'body_too_large' },
    });
  });

  it('takes a full batch of the limit in one request', async () => {
    const events = Array.from({ length: LIMITS.serverBatchEvents }, (_, i) => ({
      site: 'shop',
      visitor: `v${i % 50}`,
      type: 'page_view',
      ts: T0 - i * 1000,
      category: 'c',
    }));
    const { status, body } = await post({ events });
    expect(status).toBe(200);
    expect(body.accepted).toBe(LIMITS.serverBatchEvents);
    expect((await t.storage.profile('shop', 'v0'))!.profile.count).toBe(20);
  });
});
