import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { keyMatches, requireApiKey, sitesForKey, type AuthEnv } from '../../collector/http/auth.ts';
import { ConfigError, loadConfig, parseConfig } from '../../collector/config/config.ts';

const config = parseConfig(
  {
    sites: {
      a: { apiKeys: ['key-for-site-a-0001', 'key-for-site-a-0002'] },
      b: { apiKeys: ['key-for-site-b-0001'] },
      c: {},
    },
  },
  'test',
  { apiKey: 'env-key-for-the-rest' },
);

describe('API keys', () => {
  it('compares keys of any length', () => {
    expect(keyMatches('abc', 'abc')).toBe(true);
    expect(keyMatches('abc', 'abcd')).toBe(false);
  });

  it('maps a key to the sites it opens; the env key serves sites without their own', () => {
    expect([...sitesForKey(config, 'key-for-site-a-0002')]).toEqual(['a']);
    expect([...sitesForKey(config, 'key-for-site-b-0001')]).toEqual(['b']);
    expect([...sitesForKey(config, 'env-key-for-the-rest')]).toEqual(['c']);
    expect(sitesForKey(config, 'nope').size).toBe(0);
  });

  it('refuses a short env key at start', () => {
    expect(() => loadConfig(undefined, { apiKey: 'short' })).toThrow(ConfigError);
  });

  it('guards a route: 401 without or with a bad key, 403 for another site', async () => {
    const app = new Hono<AuthEnv>();
    app.use('/x', requireApiKey(config));
    app.get('/x', (c) => c.json([...c.var.apiSites]));
    const get = (auth?: string, q = '') =>
      app.request(`/x${q}`, { headers: auth ? { authorization: auth } : {} });
    const none = await get();
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await get('Bearer wrong-key-wrong-key')).status).toBe(401);
    expect((await get('Basic key-for-site-a-0001')).status).toBe(401);
    expect((await get('Bearer key-for-site-a-0001', '?site=b')).status).toBe(403);
    const ok = await get('Bearer key-for-site-a-0001', '?site=a');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual(['a']);
  });
});
