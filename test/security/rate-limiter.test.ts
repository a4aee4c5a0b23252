/** Issue 12, defect 11: the rate limiter must keep limiting past its key bound, IPv6 by /64. */
import { afterEach, describe, expect, it } from 'vitest';
import { addressGroup } from '../../collector/http/address-group.ts';
import { fixedWindow } from '../../collector/http/rate-limit.ts';
import type { ConfigFile } from '../../collector/config/config.ts';
import { collectRequest, ev, testApp } from '../helpers.ts';

// The bound of the limiters the collector builds (LIMITER_MAX_KEYS; a literal so this runs on the old code too).
const LIMITER_MAX_KEYS = 100_000;

let t: Awaited<ReturnType<typeof testApp>> | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('a bounded limiter that never fails open', () => {
  it('limits a new key after the map was filled with more keys than its bound', () => {
    const l = fixedWindow(2, 60_000);
    for (let i = 0; i < LIMITER_MAX_KEYS + 10; i++) l.hit(`flood${i}`, 1000);
    expect(l.size).toBeLessThanOrEqual(LIMITER_MAX_KEYS);
    expect(l.hit('late', 1000)).toBe(0);
    expect(l.hit('late', 1000)).toBe(0);
    expect(l.hit('late', 1000)).toBeGreaterThan(0);
  });

  it('keeps limiting a key that keeps hitting while a flood of fresh keys passes its bound', () => {
    const l = fixedWindow(5, 60_000, 1000);
    for (let i = 0; i < 5; i++) expect(l.hit('attacker', 0)).toBe(0);
    for (let i = 0; i < 20_000; i++) {
      l.hit(`fresh${i}`, 10);
      if (i % 100 === 0) expect(l.hit('attacker', 10)).toBeGreaterThan(0);
    }
    expect(l.size).toBe(1000);
  });
});

describe('IPv6 clients are one client per /64', () => {
  it('groups addresses by prefix; IPv4 (mapped too) stays one address', () => {
    expect(addressGroup('2001:db8:a:b:1::1')).toBe(addressGroup('2001:db8:a:b:ffff:2:3:4'));
    expect(addressGroup('2001:DB8:a:b::9')).toBe('2001:db8:a:b::/64');
    expect(addressGroup('2001:db8:a:c::1')).not.toBe(addressGroup('2001:db8:a:b::1'));
    expect(addressGroup('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(addressGroup('203.0.113.9')).toBe('203.0.113.9');
  });

  it('the per-IP limit holds a client that takes a fresh address of its /64 per request', async () => {
    t = await testApp({ limits: { ipPerMinute: 3, visitorPerMinute: 0, trustProxy: 1 } });
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const batch = { site: 'demo', visitor: `v${i}`, events: [ev()] };
      const res = await t.app.request(collectRequest(batch, from(`2001:db8:1:2::${i}`)));
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    // Another /64 is another client.
    const batch = { site: 'demo', visitor: 'w', events: [ev()] };
    const other = await t.app.request(collectRequest(batch, from('2001:db8:1:3::1')));
    expect(other.status).toBe(200);
  });
});

describe("a site's own server (its API key) is not held to a browser's per-address limits", () => {
  const KEY = 'site-server-key-0123456789';
  const OTHER = 'other-site-key-0123456789';
  const config = {
    sites: {
      shop: { allowLocalhost: true, apiKeys: [KEY] },
      other: { apiKeys: [OTHER] },
    },
  } as ConfigFile;
  let app: Awaited<ReturnType<typeof testApp>>['app'];
  const read = (key?: string, site = 'shop') =>
    app.request(`http://localhost:8787/v1/segment?site=${site}&visitor=v1`, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });

  it("reads with the site's key pass; no key, a wrong key or another site's key are counted", async () => {
    t = await testApp({ config, limits: { ipPerMinute: 2, visitorPerMinute: 0, trustProxy: 0 } });
    app = t.app;
    expect((await read()).status).toBe(200);
    expect((await read()).status).toBe(200);
    expect((await read()).status).toBe(429);
    for (let i = 0; i < 5; i++) expect((await read(KEY)).status).toBe(200);
    expect((await read('not-a-key-0123456789')).status).toBe(429);
    expect((await read(OTHER)).status).toBe(429);
    // The other site's key is its site's server when it reads its own site.
    expect((await read(OTHER, 'other')).status).toBe(200);
  });
});
