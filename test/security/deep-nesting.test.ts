/**
 * Issue 12, defect 8: a hostile shape (12,000-deep arrays and objects, deep prop and trait
 * values) beside a valid event answered 500 and lost the valid event. Now: a 4xx or a 200 with
 * the hostile part refused by reason, never a 5xx, and every valid event of the batch stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { row } from '../support/backend.ts';
import { LIMITS } from '../../shared/limits.ts';
import {
  API_KEY,
  collector,
  deepArray,
  deepObject,
  event,
  withDeep,
  type Collector,
} from './support.ts';

const DEPTH = 12_000;
/** `{"a":` is 5 bytes a level: 10,000 levels stay under the browser body limit (64 KiB). */
const OBJECT_DEPTH = 10_000;
let c: Collector;
beforeAll(async () => {
  c = await collector({
    sites: {
      shop: {
        allowLocalhost: true,
        allowAutomation: true,
        apiKeys: [API_KEY],
        publicTraits: ['plan'],
      },
    },
  });
});
afterAll(() => c.close());

/** Whether the event is in the events table (no storage read finds an event by its id). */
const stored = async (id: string) =>
  (
    await row(
      c.running.storage,
      'select count(*) as n from events where site = ? and id = ?',
      'shop',
      id,
    )
  )?.n;

/** A hostile event, given the placeholder that becomes the deep JSON text. */
const browserCases: [string, string, (hole: string) => unknown][] = [
  ['a 12,000-deep array', deepArray(DEPTH), (h) => h],
  ['a 10,000-deep object', deepObject(OBJECT_DEPTH), (h) => h],
  ['an event with a deep prop value', deepArray(DEPTH), (h) => event({ props: { a: h } })],
  [
    'an event with a deep utm value',
    deepObject(OBJECT_DEPTH),
    (h) => event({ utm: { source: h } }),
  ],
  ['an event with a deep url', deepArray(DEPTH), (h) => event({ url: h })],
];

describe('POST /v1/collect with a hostile event beside a valid one', () => {
  for (const [name, deep, make] of browserCases) {
    it(`refuses ${name} with a reason and stores the valid event`, async () => {
      const valid = event();
      const body = withDeep(
        (h) => ({ site: 'shop', visitor: 'deep1', events: [valid, make(h)] }),
        deep,
      );
      const res = await c.http('POST', '/v1/collect', body);
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({
        accepted: 1,
        refused: [{ index: 1, error: 'invalid_event' }],
      });
      expect(await stored(valid.id)).toBe(1);
    });
  }

  it('answers a batch of only a deep event with a 400, not a 500', async () => {
    const body = withDeep(
      (h) => ({ site: 'shop', visitor: 'deep2', events: [h] }),
      deepArray(DEPTH),
    );
    const res = await c.http('POST', '/v1/collect', body);
    expect(res.status).toBe(400);
    expect(res.json().error).toBe('invalid_events');
  });

  it("refuses a deep browser trait by name, as any bad trait (traits are the batch's, not an event's)", async () => {
    const valid = event();
    const batch = (h: string) => ({
      site: 'shop',
      visitor: 'deep3',
      events: [valid],
      traits: { plan: h },
    });
    const body = withDeep(batch, deepArray(DEPTH));
    const res = await c.http('POST', '/v1/collect', body);
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({
      error: 'invalid_traits',
      message: expect.stringContaining('plan'),
    });
  });
});

describe('POST /v1/events with a hostile event beside a valid one', () => {
  const server = (over: Record<string, unknown> = {}) => ({
    site: 'shop',
    visitor: 'srvdeep',
    type: 'purchase',
    value: 5,
    ...over,
  });
  const cases: [string, string, (hole: string) => unknown][] = [
    ['a 12,000-deep array', deepArray(DEPTH), (h) => h],
    ['a 12,000-deep object', deepObject(DEPTH), (h) => h],
    ['an event with a deep prop value', deepArray(DEPTH), (h) => server({ props: { a: h } })],
    ['an event with deep traits', deepObject(DEPTH), (h) => server({ traits: { plan: h } })],
  ];
  for (const [name, deep, make] of cases) {
    it(`refuses ${name} and stores the valid event`, async () => {
      const id = `srv_${Math.random().toString(36).slice(2, 10)}`;
      const res = await c.api(
        'POST',
        '/v1/events',
        withDeep((h) => ({ events: [server({ id }), make(h)] }), deep),
      );
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({
        accepted: 1,
        refused: [{ index: 1, error: 'invalid_event' }],
      });
      expect(await stored(id)).toBe(1);
    });
  }

  it('answers a deep trait value on PUT /v1/contacts/:id/traits with a 400', async () => {
    const body = withDeep((h) => ({ plan: h }), deepArray(DEPTH));
    const res = await c.api('PUT', '/v1/contacts/deep-contact/traits?site=shop', body);
    expect(res.status).toBe(400);
  });

  it('keeps a bounded payload of each refused deep event in quarantine', async () => {
    const rows = (await c.running.storage.quarantined('shop', 1000)).map((r) => r.payload);
    expect(rows.length).toBeGreaterThan(0);
    for (const p of rows)
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(LIMITS.quarantinePayloadBytes);
  });
});

describe('every JSON body, a deep value in any top-level place', () => {
  const routes: [string, string, Record<string, unknown>, boolean][] = [
    [
      'POST',
      '/v1/collect',
      { site: 'shop', visitor: 'deep4', events: [event()], traits: {}, token: 'x' },
      false,
    ],
    [
      'POST',
      '/v1/events',
      { events: [{ site: 'shop', visitor: 'deep4', type: 'page_view' }] },
      true,
    ],
    [
      'POST',
      '/v1/links',
      { site: 'shop', links: [{ contact: 'c1', to: 'http://localhost/' }] },
      true,
    ],
    ['PUT', '/v1/contacts/deep-contact/traits?site=shop', { plan: 'pro' }, true],
  ];
  for (const [method, path, body, api] of routes) {
    it(`${method} ${path} answers 2xx/4xx, never 5xx`, async () => {
      const send = (text: string) => (api ? c.api(method, path, text) : c.http(method, path, text));
      const statuses = [
        (await send(deepArray(DEPTH))).status,
        (await send(deepObject(OBJECT_DEPTH))).status,
      ];
      for (const key of Object.keys(body)) {
        statuses.push(
          (await send(withDeep((h) => ({ ...body, [key]: h }), deepArray(DEPTH)))).status,
        );
        statuses.push(
          (await send(withDeep((h) => ({ ...body, [key]: [h] }), deepArray(DEPTH)))).status,
        );
      }
      for (const s of statuses) expect(s).toBeLessThan(500);
      expect((await c.http('GET', '/healthz')).status).toBe(200);
    });
  }
});
