/**
 * Issue 12, defect 13: "the collector's own origin" was read from the request's `Host` header, so
 * a request naming `Host: evil.example` and `Origin: http://evil.example` passed the origin check
 * of any site. Now the own origins come from configuration: MICROSEG_PUBLIC_URL's, else the
 * listen address's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownOrigins } from '../../collector/http/origins.ts';
import { collector, event, type Collector } from './support.ts';

const SITES = { sites: { shop: { origins: ['https://shop.example'] } } };
const batch = (visitor: string) => ({ site: 'shop', visitor, events: [event()] });

describe('the own origin is never the Host header', () => {
  let c: Collector;
  beforeAll(async () => {
    c = await collector(SITES);
  });
  afterAll(() => c.close());

  it('refuses a page origin that only matches the Host header it sent', async () => {
    const forged = { host: 'evil.example', origin: 'http://evil.example' };
    const collect = await c.http('POST', '/v1/collect', batch('host1'), forged);
    expect(collect.status).toBe(403);
    expect(collect.json().error).toBe('origin_not_allowed');
    expect(collect.headers['access-control-allow-origin']).toBeUndefined();
    const read = await c.http('GET', '/v1/segment?site=shop&visitor=host1', undefined, forged);
    expect(read.status).toBe(403);
    const preflightHeaders = { ...forged, 'access-control-request-method': 'POST' };
    const preflight = await c.http('OPTIONS', '/v1/collect', undefined, preflightHeaders);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(await c.running.storage.countEvents('shop', 'host1')).toBe(0);
  });

  it('accepts the listen address as its own origin, whatever the Host', async () => {
    const own = `http://127.0.0.1:${c.port}`;
    const res = await c.http('POST', '/v1/collect', batch('host2'), {
      host: 'evil.example',
      origin: own,
    });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(own);
    expect(
      (await c.http('POST', '/v1/collect', batch('host3'), { origin: 'https://shop.example' }))
        .status,
    ).toBe(200);
  });
});

describe('MICROSEG_PUBLIC_URL names the own origin', () => {
  let c: Collector;
  beforeAll(async () => {
    c = await collector(SITES, { publicUrl: 'https://collect.example/base' });
  });
  afterAll(() => c.close());

  it('allows the public origin and nothing else of its own', async () => {
    const from = async (visitor: string, origin: string) =>
      (await c.http('POST', '/v1/collect', batch(visitor), { origin })).status;
    expect(await from('pub1', 'https://collect.example')).toBe(200);
    expect(await from('pub2', `http://127.0.0.1:${c.port}`)).toBe(403);
    const forged = { host: 'evil.example', origin: 'http://evil.example' };
    expect((await c.http('POST', '/v1/collect', batch('pub3'), forged)).status).toBe(403);
  });
});
describe('without MICROSEG_PUBLIC_URL on every interface', () => {
  it('says at start that email links made by the API point at localhost', async () => {
    const logged: [string, string][] = [];
    const c = await collector(
      SITES,
      { host: '0.0.0.0' },
      (level, msg) => void logged.push([level, msg]),
    );
    try {
      const warning = logged.find(
        ([level, msg]) => level === 'warn' && msg.includes('MICROSEG_PUBLIC_URL'),
      );
      expect(warning?.[1]).toContain(`http://localhost:${c.port}`);
    } finally {
      await c.close();
    }
    const quiet: string[] = [];
    const d = await collector(
      SITES,
      { publicUrl: 'https://collect.example' },
      (level) => void quiet.push(level),
    );
    await d.close();
    expect(quiet).not.toContain('warn');
  });
});

describe('ownOrigins', () => {
  it('the public URL alone when set', () => {
    expect(ownOrigins('https://collect.example/base', '0.0.0.0', 8787)).toEqual([
      'https://collect.example',
    ]);
  });
  it('the loopback names for the wildcard or a loopback address, localhost first', () => {
    const all = ownOrigins(undefined, '0.0.0.0', 8787);
    expect(all[0]).toBe('http://localhost:8787');
    expect(all).toEqual(expect.arrayContaining(['http://127.0.0.1:8787', 'http://[::1]:8787']));
    expect(ownOrigins(undefined, '127.0.0.1', 9000)[0]).toBe('http://127.0.0.1:9000');
  });
  it('a named host itself, default ports dropped', () => {
    expect(ownOrigins(undefined, 'collect.internal', 80)).toEqual(['http://collect.internal']);
    expect(ownOrigins(undefined, '::1', 8787)).toContain('http://[::1]:8787');
  });
});
