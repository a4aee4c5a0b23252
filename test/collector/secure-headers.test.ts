/** The precomputed security headers: Hono's set, on every answer, fast path or not. */
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonHeaders, SECURITY_HEADERS } from '../../collector/http/secure-headers.ts';
import { collectRequest, ev, testApp } from '../helpers.ts';

let t: Awaited<ReturnType<typeof testApp>>;
beforeEach(async () => {
  t = await testApp({ config: { sites: { demo: { allowLocalhost: true } } } });
});
afterEach(() => t.close());

function expectSecure(res: Response) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS))
    expect(res.headers.get(name), name).toBe(value);
}

describe('security headers', () => {
  it("are exactly what Hono secureHeaders sets with the collector's options", async () => {
    const hono = new Hono();
    hono.use(
      '*',
      secureHeaders({ crossOriginResourcePolicy: 'cross-origin', crossOriginOpenerPolicy: false }),
    );
    hono.get('/', (c) => c.body(null, 204));
    const res = await hono.request('/');
    expect(Object.fromEntries(res.headers)).toEqual(SECURITY_HEADERS);
  });

  it('are on the fast answers (segment 200 and 304, collect) with their own headers intact', async () => {
    const origin = { origin: 'http://localhost:3000' };
    const collect = await t.app.request(
      collectRequest({ site: 'demo', visitor: 'v1', events: [ev()] }, origin),
    );
    expect(collect.status).toBe(200);
    expectSecure(collect);
    expect(collect.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(collect.headers.get('vary')).toBe('Origin');
    expect(collect.headers.get('content-type')).toBe('application/json');
    expect(((await collect.json()) as { accepted: number }).accepted).toBe(1);

    const seg = await t.app.request('/v1/segment?site=demo&visitor=v1', { headers: origin });
    expect(seg.status).toBe(200);
    expectSecure(seg);
    expect(seg.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(seg.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const etag = seg.headers.get('etag')!;
    const same = await t.app.request('/v1/segment?site=demo&visitor=v1', {
      headers: { 'if-none-match': etag },
    });
    expect(same.status).toBe(304);
    expect(same.headers.get('etag')).toBe(etag);
    expectSecure(same);
  });

  it('are on every other answer: errors, 404, the snippet', async () => {
    for (const path of ['/v1/segment?site=demo', '/nope', '/ms.js', '/healthz'])
      expectSecure(await t.app.request(path));
    const refused = await t.app.request(collectRequest('{'));
    expect(refused.status).toBe(400);
    expectSecure(refused);
  });
});

describe('JSON header sets', () => {
  it('one frozen set per origin: the security set, CORS and the content type; an ETag makes its own', () => {
    const a = jsonHeaders('https://a.example');
    expect(jsonHeaders('https://a.example')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a).toMatchObject({
      ...SECURITY_HEADERS,
      vary: 'Origin',
      'access-control-allow-origin': 'https://a.example',
      'content-type': 'application/json',
    });
    expect(jsonHeaders(undefined)).not.toHaveProperty('access-control-allow-origin');
    const tagged = jsonHeaders('https://a.example', 'application/json; charset=utf-8', {
      etag: '"x"',
    });
    expect(tagged).toMatchObject({
      etag: '"x"',
      'content-type': 'application/json; charset=utf-8',
    });
    expect(jsonHeaders('https://a.example')).toBe(a);
  });

  it("a segment read answers with its ETag and the asking origin's CORS, twice alike", async () => {
    await t.app.request(collectRequest({ site: 'demo', visitor: 'h1', events: [ev()] }));
    const read = (origin: string) =>
      t.app.request('http://localhost:8787/v1/segment?site=demo&visitor=h1', {
        headers: { origin },
      });
    const first = await read('http://localhost:3000');
    const second = await read('http://localhost:3000');
    const other = await read('http://localhost:8080');
    for (const res of [first, second, other]) expectSecure(res);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(second.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(other.headers.get('access-control-allow-origin')).toBe('http://localhost:8080');
    expect(other.headers.get('etag')).toBe(first.headers.get('etag'));
  });
});
