/**
 * Every API-key route that takes `?site=` gets its site from one middleware (requireSite): the
 * same refusals, in the same words, on each, before the route itself runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must } from '../../shared/must.ts';
import { shopConfig, triggersApp } from '../triggers/setup.ts';

const ROUTES: [string, string][] = [
  ['GET', '/v1/segments'],
  ['GET', '/v1/segments/camera-intent/members'],
  ['GET', '/v1/deliveries'],
  ['GET', '/v1/deliveries/d1'],
  ['POST', '/v1/deliveries/d1/replay'],
  ['DELETE', '/v1/visitors/v1'],
  ['DELETE', '/v1/contacts/c1'],
  ['GET', '/v1/contacts/c1/segment'],
  ['PUT', '/v1/contacts/c1/traits'],
];

let t: Awaited<ReturnType<typeof triggersApp>>;
beforeAll(async () => {
  t = await triggersApp(shopConfig('http://127.0.0.1:9/unused'));
});
afterAll(() => t.close());

describe('requireSite', () => {
  it.each(ROUTES)('%s %s without ?site= is 400 missing_site', async (method, path) => {
    const res = await t.api(path, { method, ...(method === 'PUT' ? { body: '{}' } : {}) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'missing_site',
      message: 'the site query parameter is required',
    });
  });

  it.each(ROUTES)('%s %s with ?site=shop reaches the route', async (method, path) => {
    const res = await t.api(`${path}?site=shop`, {
      method,
      ...(method === 'PUT' ? { body: '{}' } : {}),
    });
    expect(res.status).not.toBe(400);
    const body = (await res.text()).slice(0, 200);
    expect(body).not.toContain('missing_site');
  });
});

describe('must', () => {
  it('hands back a value that is there, and throws naming what is missing', () => {
    expect(must(0, 'zero')).toBe(0);
    expect(() => must(undefined, 'the first key')).toThrow('microseg: the first key is missing');
  });
});
