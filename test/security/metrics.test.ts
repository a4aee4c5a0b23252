/**
 * Issue 12, defect 7: `/metrics` off the public port (its own loopback listener, or a Bearer
 * token), its rendering bounded, and the browser-stated `dropped` figure clamped.
 */
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { start, type Running, type ServeOptions } from '../../collector/http/server.ts';
import { createMetrics } from '../../collector/http/metrics.ts';
import { metricsHandler } from '../../collector/http/routes/metrics.ts';
import { Hono } from 'hono';
import { ensureBuilt } from '../collector-process.ts';
import { ev, tempDir } from '../helpers.ts';

const TOKEN = 'metrics-token-for-this-test-0123';
let running: Running | undefined;
let tmp: ReturnType<typeof tempDir> | undefined;

async function collector(over: Partial<ServeOptions> = {}) {
  tmp = tempDir();
  running = await start({
    port: 0,
    host: '127.0.0.1',
    db: join(tmp.dir, 'm.db'),
    demo: false,
    logLevel: 'error',
    limits: { ipPerMinute: 0, visitorPerMinute: 0, trustProxy: 0 },
    ...over,
  });
  return running;
}

beforeAll(() => ensureBuilt());
afterEach(async () => {
  await running?.close();
  tmp?.cleanup();
  running = undefined;
});

describe('/metrics access', () => {
  it('is not served on the public port by default', async () => {
    const r = await collector();
    const body = JSON.stringify({ site: 'demo', visitor: 'v1', events: [ev()] });
    await fetch(`${r.url}/v1/collect`, { method: 'POST', body });
    const res = await fetch(`${r.url}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('microseg_events_accepted_total');
    expect(r.metricsUrl).toBeUndefined();
  });

  it('with MICROSEG_METRICS_TOKEN: 401 without the token, the metrics with it', async () => {
    const r = await collector({ metricsToken: TOKEN });
    const none = await fetch(`${r.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const wrong = { headers: { authorization: 'Bearer wrong-token-0123456789' } };
    expect((await fetch(`${r.url}/metrics`, wrong)).status).toBe(401);
    const ok = await fetch(`${r.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('microseg_http_requests_total');
  });

  it('with a metrics port: served on its own loopback listener, still not on the public port', async () => {
    const r = await collector({ metricsPort: 0 });
    expect(r.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(r.metricsUrl).not.toBe(r.url);
    const res = await fetch(`${r.metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('microseg_process_resident_memory_bytes');
    expect((await fetch(`${r.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${r.metricsUrl}/v1/segment?site=demo&visitor=v1`)).status).toBe(404);
  });

  it('a batch cannot set the dropped-events counter to any figure it likes', async () => {
    const r = await collector({ metricsPort: 0 });
    const res = await fetch(`${r.url}/v1/collect`, {
      method: 'POST',
      body: JSON.stringify({
        site: 'demo',
        visitor: 'v1',
        events: [ev()],
        dropped: Number.MAX_SAFE_INTEGER,
      }),
    });
    expect(res.status).toBe(200);
    const text = await (await fetch(`${r.metricsUrl}/metrics`)).text();
    const m = /microseg_snippet_dropped_events_total\{site="demo"\} (\d+)/.exec(text);
    expect(Number(m?.[1])).toBe(LIMITS.droppedEvents);
    expect(LIMITS.droppedEvents).toBeLessThanOrEqual(1000);
  });
});

describe('/metrics rendering cost', () => {
  it('a burst of scrapes renders the registry once per second, not once per request', async () => {
    const metrics = createMetrics({ defaults: true });
    const render = vi.spyOn(metrics.registry, 'metrics');
    let now = 0;
    const app = new Hono().get(
      '/metrics',
      metricsHandler(metrics, 1000, () => now),
    );
    const texts = await Promise.all(
      Array.from({ length: 200 }, async () => (await app.request('/metrics')).text()),
    );
    expect(render).toHaveBeenCalledTimes(1);
    expect(new Set(texts).size).toBe(1);
    now = 999;
    await app.request('/metrics');
    expect(render).toHaveBeenCalledTimes(1);
    now = 1000;
    await app.request('/metrics');
    expect(render).toHaveBeenCalledTimes(2);
  });
});
