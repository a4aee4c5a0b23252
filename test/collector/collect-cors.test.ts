/**
 * CORS on every answer of `POST /v1/collect` to an allowed origin: a page must read a refusal to
 * drop the batch (a 4xx it cannot read looks like a network error, and the snippet retries it
 * forever). `Origin: null` (Firefox's beacon under a referrer policy that hides the origin) is a
 * write like one without an Origin; reads keep refusing it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import type { RateLimits } from '../../collector/http/routes/limits.ts';
import { collectRequest, ev, testApp } from '../helpers.ts';

const SHOP = 'https://shop.example';
const OTHER = 'https://other.example';
const EVIL = 'https://evil.example';
const config = { sites: { shop: { origins: [SHOP] }, other: { origins: [OTHER] } } };

let t: Awaited<ReturnType<typeof testApp>>;
const app = async (limits?: RateLimits) =>
  (t = await testApp({ config, ...(limits ? { limits } : {}) }));
afterEach(() => t?.close());

async function collect(body: unknown, origin?: string) {
  const res = await t.app.request(collectRequest(body, origin ? { origin } : {}));
  const json = (await res.json()) as { error?: string; accepted?: number };
  return {
    status: res.status,
    error: json.error,
    json,
    cors: res.headers.get('access-control-allow-origin'),
    res,
  };
}

const batch = (over: Record<string, unknown> = {}) => ({
  site: 'shop',
  visitor: 'v1',
  events: [ev()],
  ...over,
});

describe('POST /v1/collect — refusals carry CORS for an allowed origin', () => {
  // Each answered before the site is known, or for a site that allows the origin.
  const cases: [string, number, string, unknown][] = [
    ['not JSON', 400, 'invalid_json', '{"site":'],
    ['a body over the size limit', 413, 'body_too_large', 'x'.repeat(LIMITS.bodyBytes + 1)],
    [
      'too many events',
      413,
      'batch_too_large',
      batch({ events: Array.from({ length: LIMITS.batchEvents + 1 }, ev) }),
    ],
    // What an older snippet's retry sent after a 503.
    ['a null token', 400, 'invalid_batch', batch({ token: null })],
    ['no visitor', 400, 'invalid_batch', { site: 'shop', events: [ev()] }],
    ['an unknown site', 400, 'unknown_site', batch({ site: 'nope' })],
    ['no valid event', 400, 'invalid_events', batch({ events: [{ id: 'a' }] })],
  ];

  it.each(cases)('%s → %i %s, readable by the page', async (_name, status, error, body) => {
    await app();
    const res = await collect(body, SHOP);
    expect([res.status, res.error]).toEqual([status, error]);
    expect(res.cors).toBe(SHOP);
    expect(res.res.headers.get('vary')).toContain('Origin');
  });

  it.each(cases)(
    '%s → no grant for an origin no site allows',
    async (_name, status, _error, body) => {
      await app();
      const res = await collect(body, EVIL);
      // Once the site is known, its origin check answers first.
      expect([status, 403]).toContain(res.status);
      expect(res.cors).toBeNull();
    },
  );

  it('grants a refusal given before the site is known to an origin of another site', async () => {
    await app();
    // The body names no site yet: any site's origin may read why.
    expect((await collect('{"site":', OTHER)).cors).toBe(OTHER);
    expect((await collect(batch({ site: 'nope' }), OTHER)).cors).toBe(OTHER);
  });

  it('does not grant origin_not_allowed: the site is known and does not list the origin', async () => {
    await app();
    const res = await collect(batch(), OTHER);
    expect([res.status, res.error, res.cors]).toEqual([403, 'origin_not_allowed', null]);
    expect(res.res.headers.get('vary')).toContain('Origin');
    expect(await t.storage.countEvents('shop')).toBe(0);
  });

  it('grants the 429 of the per-address limit, answered before the body is read', async () => {
    await app({ ipPerMinute: 1, visitorPerMinute: 0, trustProxy: 0 });
    expect((await collect(batch(), SHOP)).status).toBe(200);
    const limited = await collect(batch(), SHOP);
    expect([limited.status, limited.error, limited.cors]).toEqual([429, 'rate_limited', SHOP]);
    expect(limited.res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await collect(batch(), EVIL)).cors).toBeNull();
  });

  it('grants the 429 of the per-visitor limit', async () => {
    await app({ ipPerMinute: 0, visitorPerMinute: 1, trustProxy: 0 });
    expect((await collect(batch(), SHOP)).status).toBe(200);
    const limited = await collect(batch(), SHOP);
    expect([limited.status, limited.error, limited.cors]).toEqual([429, 'rate_limited', SHOP]);
  });
});

describe('Origin: null', () => {
  it('writes like a request without an Origin, and the answer grants nothing', async () => {
    await app();
    const res = await collect(batch(), 'null');
    expect([res.status, res.json.accepted, res.cors]).toEqual([200, 1, null]);
    const none = await collect(batch(), undefined);
    expect([none.status, none.json.accepted, none.cors]).toEqual([200, 1, null]);
    expect(await t.storage.countEvents('shop')).toBe(2);
    // Its refusals grant nothing either: no page origin to grant.
    expect((await collect('{"site":', 'null')).cors).toBeNull();
  });

  it('gets no preflight grant (the snippet sends text/plain, which needs none)', async () => {
    await app();
    const res = await t.app.request('/v1/collect', {
      method: 'OPTIONS',
      headers: { origin: 'null' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('reads a segment with no Origin or a site origin; refuses null and other origins', async () => {
    await app();
    await collect(batch(), SHOP);
    const read = (origin?: string) =>
      t.app.request('/v1/segment?site=shop&visitor=v1', origin ? { headers: { origin } } : {});
    const own = await read(SHOP);
    expect([own.status, own.headers.get('access-control-allow-origin')]).toEqual([200, SHOP]);
    expect((await read()).status).toBe(200);
    for (const origin of ['null', OTHER, EVIL]) {
      const res = await read(origin);
      expect(res.status, origin).toBe(403);
      expect(((await res.json()) as { error: string }).error).toBe('origin_not_allowed');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
  });
});
