import { afterEach, describe, expect, it } from 'vitest';
import { fixedWindow } from '../../collector/http/rate-limit.ts';
import { collectRequest, ev, METRICS_TOKEN, T0, testApp } from '../helpers.ts';

const scrape = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } };

let t: Awaited<ReturnType<typeof testApp>> | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('rate limits', () => {
  it('fixed window: over the limit answers the seconds left, a new window starts fresh', () => {
    const l = fixedWindow(2, 60_000);
    expect(l.hit('a', 0)).toBe(0);
    expect(l.hit('a', 1000)).toBe(0);
    expect(l.hit('a', 1000)).toBe(59);
    expect(l.hit('b', 1000)).toBe(0);
    expect(l.hit('a', 60_000)).toBe(0);
    expect(l.size).toBe(1);
  });

  it('per visitor: 429 with Retry-After, counted in /metrics', async () => {
    t = await testApp({ limits: { ipPerMinute: 0, visitorPerMinute: 2, trustProxy: 0 } });
    const send = () =>
      t!.app.request(collectRequest({ site: 'demo', visitor: 'v1', events: [ev()] }));
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as any).error).toBe('rate_limited');
    const other = await t!.app.request(
      collectRequest({ site: 'demo', visitor: 'v2', events: [ev()] }),
    );
    expect(other.status).toBe(200);
    const metrics = await (await t!.app.request('/metrics', scrape)).text();
    expect(metrics).toMatch(/microseg_rate_limited_total\{scope="visitor"\} 1/);
  });

  it('per IP holds email-link clicks too (/r writes an event per request)', async () => {
    t = await testApp({ limits: { ipPerMinute: 2, visitorPerMinute: 0, trustProxy: 0 } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await t!.app.request('/r?site=demo')).status);
    expect(statuses.slice(0, 2).every((s) => s === 400)).toBe(true);
    expect(statuses[2]).toBe(429);
  });

  it('per IP behind a trusted proxy: the forwarded address is limited, reads included', async () => {
    t = await testApp({ limits: { ipPerMinute: 3, visitorPerMinute: 0, trustProxy: 1 } });
    // The client's own X-Forwarded-For is kept by the proxy, which appends the address it saw: a new forged hop each time changes nothing.
    let n = 0;
    const from = (ip: string) => ({ 'x-forwarded-for': `10.9.9.${n++}, ${ip}` });
    for (let i = 0; i < 3; i++)
      expect(
        (await t!.app.request('/v1/segment?site=demo&visitor=v1', { headers: from('203.0.113.9') }))
          .status,
      ).toBe(200);
    const limited = await t!.app.request(
      collectRequest({ site: 'demo', visitor: 'v1', events: [ev()] }, from('203.0.113.9')),
    );
    expect(limited.status).toBe(429);
    expect(
      (await t!.app.request('/v1/segment?site=demo&visitor=v1', { headers: from('198.51.100.7') }))
        .status,
    ).toBe(200);
  });
});

describe('metrics and headers', () => {
  it('exposes Prometheus metrics: accepted, duplicates, refusals by reason, requests by route', async () => {
    t = await testApp();
    const e = ev();
    await t!.app.request(
      collectRequest({ site: 'demo', visitor: 'v1', events: [e, { id: 'x' }], dropped: 7 }),
    );
    await t!.app.request(collectRequest({ site: 'demo', visitor: 'v1', events: [e] }));
    await t!.app.request(collectRequest('nope'));
    const res = await t!.app.request('/metrics', scrape);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/microseg_events_accepted_total\{site="demo"\} 1/);
    expect(text).toMatch(/microseg_snippet_dropped_events_total\{site="demo"\} 7/);
    expect(text).toMatch(/microseg_events_duplicate_total\{site="demo"\} 1/);
    expect(text).toMatch(/microseg_events_refused_total\{reason="invalid_event"\} 1/);
    expect(text).toMatch(/microseg_events_refused_total\{reason="invalid_json"\} 1/);
    expect(text).toMatch(/microseg_http_requests_total\{route="\/v1\/collect",status="200"\} 2/);
    expect(text).toMatch(/microseg_webhook_deliveries\{status="pending"\} 0/);
    expect(text).toMatch(/microseg_write_queue_depth 0/);
    expect(text).toMatch(/microseg_commit_seconds_count \d+/);
  });

  it('reports the webhook backlog by status', async () => {
    t = await testApp();
    const { storage } = t;
    const row = {
      site: 'demo',
      visitor: 'v1',
      contact: null,
      hook: 'h',
      url: 'http://127.0.0.1:9/',
      segment: 'camera-intent',
      change: 'enter' as const,
      body: () => '{}',
    };
    await storage.write((tx) => tx.outbox.enqueue([row, row], T0));
    const text = await (await t!.app.request('/metrics', scrape)).text();
    expect(text).toMatch(/microseg_webhook_deliveries\{status="pending"\} 2/);
    expect(text).toMatch(/microseg_webhook_deliveries\{status="failed"\} 0/);
  });

  it('sets security headers on every response, cross-origin resources allowed', async () => {
    t = await testApp();
    for (const path of ['/ms.js', '/v1/segment?site=demo&visitor=v1', '/healthz', '/nope']) {
      const res = await t!.app.request(path);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });
});
