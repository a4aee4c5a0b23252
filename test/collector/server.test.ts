import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../shared/limits.ts';
import { start, type Running } from '../../collector/http/server.ts';
import { ensureBuilt } from '../collector-process.ts';
import { ev, tempDir } from '../helpers.ts';
import { adoptStorage, createTestDatabaseFor, row, type TestDatabase } from '../support/backend.ts';

/** A raw HTTP request, so bodies can be chunked or broken as no fetch would send them. */
function raw(
  url: string,
  path: string,
  chunks: (string | Buffer)[],
  headers: Record<string, string> = {},
) {
  return new Promise<{ status: number; body: string }>((ok, fail) => {
    const req = request(
      `${url}${path}`,
      { method: 'POST', headers: { 'content-type': 'text/plain', ...headers } },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => ok({ status: res.statusCode!, body }));
      },
    );
    req.on('error', fail);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('a real listening collector', () => {
  const tmp = tempDir();
  let running: Running;
  let database: TestDatabase;
  beforeAll(async () => {
    await ensureBuilt();
    // On PostgreSQL in suite-pg (a database of its own, with the secret it requires).
    database = await createTestDatabaseFor(tmp.dir, 'server.db');
    running = await start({
      port: 0,
      host: '127.0.0.1',
      db: database.db,
      secret: database.secret,
      demo: true,
      logLevel: 'error',
      limits: { ipPerMinute: 0, visitorPerMinute: 0, trustProxy: 0 },
    });
    adoptStorage(running.storage, database.db);
  });
  afterAll(async () => {
    await running.close();
    await database.drop();
    tmp.cleanup();
  });

  it('takes a text/plain batch over HTTP and serves the segment back', async () => {
    const res = await fetch(`${running.url}/v1/collect`, {
      method: 'POST',
      body: JSON.stringify({
        site: 'demo',
        visitor: 'srv1',
        events: [ev({ category: 'cameras' }), ev({ category: 'cameras' })],
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const seg = (await (
      await fetch(`${running.url}/v1/segment?site=demo&visitor=srv1`)
    ).json()) as any;
    expect(seg.category).toBe('cameras');
    expect(await running.storage.countEvents('demo', 'srv1')).toBe(2);
  });

  it('refuses a chunked body over the limit with 413 and stays up', async () => {
    const chunk = 'x'.repeat(16 * 1024);
    const res = await raw(
      running.url,
      '/v1/collect',
      Array.from({ length: LIMITS.bodyBytes / chunk.length + 2 }, () => chunk),
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toBe('body_too_large');
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
  });

  it('stores invalid UTF-8 as replacement characters, never a crash', async () => {
    const body = Buffer.concat([
      Buffer.from(
        `{"site":"demo","visitor":"utf","events":[{"id":"u1","type":"page_view","ts":${Date.now()},"category":"`,
      ),
      Buffer.from([0xff, 0xc3, 0x28]),
      Buffer.from('"}]}'),
    ]);
    const res = await raw(running.url, '/v1/collect', [body]);
    expect(res.status).toBe(200);
    const stored = await row<{ category: string }>(
      running.storage,
      "select category from events where id='u1'",
    );
    expect(stored?.category).toContain('\ufffd');
  });

  it('serves the built snippets and the demo page', async () => {
    const js = await fetch(`${running.url}/ms.js`);
    expect(js.status).toBe(200);
    const core = await js.text();
    expect(core.length).toBeGreaterThan(100);
    // ms.rules.js is the rule engine ms.js loads beside itself: ms.js names the file and looks for
    // rule-carrying elements, but matches no rule (the rules script has the matching).
    const rules = await (await fetch(`${running.url}/ms.rules.js`)).text();
    expect(rules).toContain('[data-ms-show]');
    expect(rules).toContain('ms-pending');
    expect(core).toContain('ms.rules.js');
    expect(core).not.toContain('ms-pending');
    const demo = await fetch(`${running.url}/demo/`);
    expect(demo.status).toBe(200);
    expect(await demo.text()).toContain('src="/ms.js"');
  });
});

describe('the missing public URL on every interface', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  // The quick start (no config file: the demo site only) makes no real email links, so its first
  // lines hold no warning; a configured collector gets one.
  it.each([
    ['without a config file', undefined, 'info'],
    ['with a config file', 'sites.json', 'warn'],
  ])('is logged %s at %s', async (_, config, level) => {
    await ensureBuilt();
    const db = join(tmp.dir, `${level}.db`);
    let file: string | undefined;
    if (config) {
      file = join(tmp.dir, config);
      writeFileSync(
        file,
        JSON.stringify({ sites: { shop: { origins: ['https://shop.example'] } } }),
      );
    }
    const lines: { level: string; msg: string }[] = [];
    const running = await start(
      {
        port: 0,
        host: '0.0.0.0',
        db,
        config: file,
        demo: false,
        logLevel: 'debug',
        limits: { ipPerMinute: 0, visitorPerMinute: 0, trustProxy: 0 },
      },
      (lvl, msg) => void lines.push({ level: lvl, msg }),
    );
    await running.close();
    const line = lines.find((l) => l.msg.startsWith('MICROSEG_PUBLIC_URL is not set'));
    expect(line?.level).toBe(level);
  });
});
