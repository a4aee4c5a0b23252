/**
 * Issue 12, defect 13: `/demo/` was served whatever the config, a page sending events to a `demo`
 * site that may not exist. Now it is served only when the config has a `demo` site — the
 * zero-config default has one, so `http://localhost:8787/demo/` still works with no config.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { collector, event, type Collector } from './support.ts';

let c: Collector | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

describe('/demo/', () => {
  it('is not served when the config has no demo site', async () => {
    c = await collector({ sites: { shop: { origins: ['https://shop.example'] } } });
    expect((await c.http('GET', '/demo/')).status).toBe(404);
    expect((await c.http('GET', '/demo')).status).toBe(404);
    expect(c.running.demo).toBe(false);
  });

  it("is served with zero config, and its page may send events from the collector's own address", async () => {
    c = await collector();
    const page = await c.http('GET', '/demo/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-site="demo"');
    const origin = `http://localhost:${c.port}`;
    const res = await c.http(
      'POST',
      '/v1/collect',
      { site: 'demo', visitor: 'demo1', events: [event()] },
      { origin },
    );
    expect(res.status).toBe(200);
    expect(c.running.demo).toBe(true);
  });

  it('is served when a config file names a demo site', async () => {
    c = await collector({ sites: { demo: {}, shop: {} } });
    expect((await c.http('GET', '/demo/')).status).toBe(200);
    // Its own pages are on the collector's own origin, allowed without allowLocalhost.
    const res = await c.http(
      'POST',
      '/v1/collect',
      { site: 'demo', visitor: 'demo2', events: [event()] },
      {
        origin: `http://127.0.0.1:${c.port}`,
      },
    );
    expect(res.status).toBe(200);
  });

  it('is not served with --no-demo', async () => {
    c = await collector(undefined, { demo: false });
    expect((await c.http('GET', '/demo/')).status).toBe(404);
  });
});
