/** The client address behind a trusted proxy: the hop the proxy appended, never one the client sent. */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { clientIp, dailyHasher } from '../../collector/http/client-ip.ts';
import { optionsFromEnv } from '../../collector/http/server.ts';

const app = (trust: number) => new Hono().get('/', (c) => c.text(clientIp(c, trust)));
const ip = async (trust: number, xff?: string) =>
  (
    await app(trust).request('/', { headers: xff === undefined ? {} : { 'x-forwarded-for': xff } })
  ).text();

describe('clientIp', () => {
  it('takes the last X-Forwarded-For hop: a client cannot choose its address by sending the header itself', async () => {
    expect(await ip(1, '203.0.113.9')).toBe('203.0.113.9');
    expect(await ip(1, '1.2.3.4, 198.51.100.7')).toBe('198.51.100.7');
    expect(await ip(1, 'forged,198.51.100.7 ')).toBe('198.51.100.7');
    // Two proxies (a CDN, then a load balancer): the CDN's hop, second from the right.
    expect(await ip(2, 'forged, 203.0.113.9, 10.0.0.1')).toBe('203.0.113.9');
  });

  it('ignores the header unless a proxy is trusted, and a missing hop', async () => {
    expect(await ip(0, '1.2.3.4')).toBe('unknown');
    expect(await ip(1, '')).toBe('unknown');
    expect(await ip(1, '1.2.3.4, ')).toBe('unknown');
    expect(await ip(3, '1.2.3.4, 10.0.0.1')).toBe('unknown');
  });
});

describe('MICROSEG_TRUST_PROXY', () => {
  it('is a count of proxies; 1 and true mean one', () => {
    const trust = (v?: string) =>
      optionsFromEnv(v === undefined ? {} : { MICROSEG_TRUST_PROXY: v }).limits.trustProxy;
    expect([trust(), trust('0'), trust('false'), trust('1'), trust('true'), trust('2')]).toEqual([
      0, 0, 0, 1, 1, 2,
    ]);
    expect(() => trust('yes')).toThrow(/MICROSEG_TRUST_PROXY: the number of reverse proxies/);
  });
});

describe('dailyHasher', () => {
  it('one hash per address a day, kept for the day only: the next day salts it anew', () => {
    const hash = dailyHasher();
    const day = 86_400_000;
    const a = hash('203.0.113.9', 5 * day);
    expect(hash('203.0.113.9', 5 * day + 1000)).toBe(a);
    expect(hash('203.0.113.10', 5 * day)).not.toBe(a);
    // Past the kept addresses the map starts over; the hash is the same all day.
    for (let i = 0; i < 10_001; i++) hash(`10.0.${i >> 8}.${i & 255}`, 5 * day);
    expect(hash('203.0.113.9', 6 * day - 1)).toBe(a);
    expect(hash('203.0.113.9', 6 * day)).not.toBe(a);
  });
});
