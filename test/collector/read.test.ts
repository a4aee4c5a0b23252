import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectRequest, DAY, ev, T0, testApp } from '../helpers.ts';

let t: Awaited<ReturnType<typeof testApp>>;
beforeEach(async () => {
  t = await testApp({
    config: {
      sites: { demo: { allowLocalhost: true }, shop: { origins: ['https://shop.example'] } },
    },
  });
});
afterEach(() => t.close());

describe('GET /v1/segment', () => {
  it('answers the segment of a stored visitor, moving with the clock', async () => {
    await t.app.request(
      collectRequest({
        site: 'demo',
        visitor: 'v1',
        events: [1, 2, 3].map(() => ev({ category: 'cameras' })),
      }),
    );
    const res = await t.app.request('/v1/segment?site=demo&visitor=v1');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private, no-cache');
    const seg = (await res.json()) as any;
    expect(seg).toMatchObject({
      segment: 'newbie:cameras:hot',
      category: 'cameras',
      engagement: 'hot',
      lifecycle: 'newbie',
    });
    t.clock.now = T0 + 8 * DAY;
    const later = (await (await t.app.request('/v1/segment?site=demo&visitor=v1')).json()) as any;
    expect(later.segment).toBe('newbie:cameras:warm');
    t.clock.now = T0 + 31 * DAY;
    const cold = (await (await t.app.request('/v1/segment?site=demo&visitor=v1')).json()) as any;
    expect(cold.segment).toBe('prospect:cameras:cold');
  });

  it('answers a never-seen visitor with an empty segment', async () => {
    const seg = (await (await t.app.request('/v1/segment?site=demo&visitor=nobody')).json()) as any;
    expect(seg).toMatchObject({
      visitor: 'nobody',
      segment: 'newbie:none:cold',
      category: null,
      affinity: {},
      known: false,
    });
  });

  it('revalidates with ETag and answers 304 while nothing changed', async () => {
    const first = await t.app.request('/v1/segment?site=demo&visitor=v1');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const again = await t.app.request('/v1/segment?site=demo&visitor=v1', {
      headers: { 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    await t.app.request(
      collectRequest({ site: 'demo', visitor: 'v1', events: [ev({ category: 'sports' })] }),
    );
    const changed = await t.app.request('/v1/segment?site=demo&visitor=v1', {
      headers: { 'if-none-match': etag },
    });
    expect(changed.status).toBe(200);
  });

  it('allows only the site origins (CORS) and varies on Origin', async () => {
    const ok = await t.app.request('/v1/segment?site=shop&visitor=v1', {
      headers: { origin: 'https://shop.example' },
    });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(ok.headers.get('vary')).toContain('Origin');
    const bad = await t.app.request('/v1/segment?site=shop&visitor=v1', {
      headers: { origin: 'https://evil.example' },
    });
    expect(bad.status).toBe(403);
    expect(bad.headers.get('access-control-allow-origin')).toBeNull();
  });

  it.each([
    ['/v1/segment?visitor=v1', 400, 'missing_site'],
    ['/v1/segment?site=demo', 400, 'invalid_visitor'],
    ['/v1/segment?site=demo&visitor=a%20b', 400, 'invalid_visitor'],
    ['/v1/segment?site=nope&visitor=v1', 404, 'unknown_site'],
  ])('%s → %s %s', async (path, status, error) => {
    const res = await t.app.request(path);
    expect(res.status).toBe(status);
    expect(((await res.json()) as any).error).toBe(error);
  });
});

describe('assets and health', () => {
  for (const file of ['ms.js', 'ms.rules.js', 'ms.cookie.js'])
    it(`serves the snippet build /${file} with validation and gzip`, async () => {
      const res = await t.app.request(`/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('javascript');
      expect(res.headers.get('cache-control')).toContain('max-age=86400');
      expect(await res.text()).toBe(`/*${file}*/`);
      const etag = res.headers.get('etag')!;
      expect((await t.app.request(`/${file}`, { headers: { 'if-none-match': etag } })).status).toBe(
        304,
      );
      const gz = await t.app.request(`/${file}`, { headers: { 'accept-encoding': 'gzip, br' } });
      expect(gz.headers.get('content-encoding')).toBe('gzip');
    });

  it('answers /healthz and a JSON 404 for unknown paths', async () => {
    expect(await (await t.app.request('/healthz')).json()).toEqual({ ok: true });
    const res = await t.app.request('/nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error).toBe('not_found');
  });
});
