/**
 * The Hono and Express middlewares (sdk/hono.ts, sdk/express.ts), each in a real app on a real
 * port, reading segments from a real collector: a returning visitor's cookie gives its segment to
 * the page's handler, a first visit gets a new id in a cookie and asks the collector nothing.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../sdk/client.ts';
import { microseg as expressMicroseg, type MicrosegLocals } from '../../sdk/express.ts';
import { type MicrosegEnv, microseg as honoMicroseg } from '../../sdk/hono.ts';
import { VISITOR_COOKIE } from '../../shared/visitor-cookie.ts';
import { KEY, listen, listeningCollector, SITE } from './support.ts';

type Collector = Awaited<ReturnType<typeof listeningCollector>>;
let collector: Collector;
/** Segment reads the sites' client made. */
let reads = 0;
const sites: Record<'hono' | 'express', string> = { hono: '', express: '' };
const closers: (() => Promise<void>)[] = [];

const banner = (category: string | null) =>
  category === 'cameras' ? '<p id="banner">New lenses</p>' : '<p id="banner">Spring sale</p>';

beforeAll(async () => {
  collector = await listeningCollector();
  const client = createClient({
    endpoint: collector.url,
    site: SITE,
    timeoutMs: 2000,
    fetch: (input, init) => {
      reads++;
      return fetch(input, init);
    },
  });

  const hono = new Hono<MicrosegEnv>();
  hono.use('*', honoMicroseg({ client }));
  hono.get('/', (c) => {
    const { visitor, segment, source } = c.var.microseg;
    return c.html(`${banner(segment.category)}<i>${visitor}</i><b>${source}</b>`);
  });
  // A handler that builds its own Response still gets the cookie.
  hono.get('/raw', () => new Response('raw'));
  const h = await listen(hono.fetch);
  sites.hono = h.url;
  closers.push(h.close);

  const app = express();
  app.use(expressMicroseg({ client }));
  app.get('/', (_req, res) => {
    const { visitor, segment, source } = res.locals.microseg as MicrosegLocals;
    res.send(`${banner(segment.category)}<i>${visitor}</i><b>${source}</b>`);
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  sites.express = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(() => new Promise<void>((done) => server.close(() => done())));

  await createClient({ endpoint: collector.url, site: SITE, apiKey: KEY }).track(
    [0, 1, 2].map((i) => ({
      visitor: 'v_cameras',
      type: 'page_view',
      url: `https://shop.example/cameras/${i}`,
    })),
  );
});
afterAll(async () => {
  for (const close of closers) await close();
  await collector.close();
});

describe.each(['hono', 'express'] as const)('the %s middleware', (name) => {
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${sites[name]}${path}`, { headers });

  it("renders a returning visitor's page with its segment and renews the cookie", async () => {
    const res = await get('/', { cookie: 'other=1; ms_vid=v_cameras' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('New lenses');
    expect(html).toContain('<i>v_cameras</i>');
    expect(res.headers.getSetCookie()).toEqual([
      `ms_vid=v_cameras; Path=/; Max-Age=${VISITOR_COOKIE.maxAgeSeconds}; SameSite=Lax`,
    ]);
  });

  it('gives a first visit a new id in a cookie, without asking the collector', async () => {
    const before = reads;
    const res = await get('/');
    const html = await res.text();
    expect(html).toContain('Spring sale');
    expect(html).toContain('<b>empty</b>');
    const [cookie] = res.headers.getSetCookie();
    const id = /^ms_vid=(\d+(?:_\d+){3});/.exec(cookie ?? '')?.[1];
    expect(id).toBeDefined();
    expect(html).toContain(`<i>${id}</i>`);
    expect(reads).toBe(before);
  });

  it('sets a Secure cookie behind a TLS proxy', async () => {
    const res = await get('/', { 'x-forwarded-proto': 'https', cookie: 'ms_vid=v_cameras' });
    expect(res.headers.getSetCookie()[0]).toMatch(/; Secure$/);
  });

  it('sets no cookie and reads nothing under Global Privacy Control', async () => {
    const before = reads;
    const res = await get('/', { 'sec-gpc': '1', cookie: 'ms_vid=v_cameras' });
    const html = await res.text();
    expect(html).toContain('Spring sale');
    expect(html).toContain('<i>null</i>');
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(reads).toBe(before);
  });
});

it('hono: the cookie reaches an answer the handler built itself', async () => {
  const res = await fetch(`${sites.hono}/raw`, { headers: { cookie: 'ms_vid=v_cameras' } });
  expect(await res.text()).toBe('raw');
  expect(res.headers.getSetCookie()[0]).toMatch(/^ms_vid=v_cameras;/);
});
