/** The collector SIGKILLed between a segment change and its delivery still delivers after a restart. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCollector, stopped, type CollectorProcess } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';
import { startReceiver } from './receiver.ts';
import { API_KEY, SECRET, shopConfig } from './setup.ts';
import { collectorEnv, createTestDatabaseFor, type TestDatabase } from '../support/backend.ts';

const tmp = tempDir();
const children: CollectorProcess[] = [];
let database: TestDatabase | undefined;
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  for (const c of children) if (c.child.exitCode === null) await stopped(c.child);
  await database?.drop();
  tmp.cleanup();
});

async function collect(base: string, visitor: string, n: number) {
  const res = await fetch(`${base}/v1/collect`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify({
      site: 'shop',
      visitor,
      events: [
        {
          id: `${visitor}-${n}`,
          type: 'page_view',
          ts: Date.now(),
          url: `http://localhost/cameras/${n}`,
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

describe('webhook delivery across a crash', () => {
  it('a delivery in flight when the collector is SIGKILLed is sent again by the restarted collector', async () => {
    // The first attempt never gets an answer: the collector dies while it waits.
    const rx = await startReceiver(SECRET, (n) => (n === 1 ? 'hang' : 200));
    const configFile = join(tmp.dir, 'sites.json');
    writeFileSync(configFile, JSON.stringify(shopConfig(rx.url)));
    database = await createTestDatabaseFor(tmp.dir, 'c.db');
    const env = {
      ...collectorEnv(database),
      MICROSEG_CONFIG: configFile,
      MICROSEG_API_KEY: API_KEY,
    };

    const first = await startCollector(env);
    children.push(first);
    for (let n = 1; n <= 2; n++) await collect(first.url, 'shopper', n);
    const sent = Date.now();
    await collect(first.url, 'shopper', 3);
    const [attempt] = await rx.waitFor(1);
    const latency = attempt!.at - sent;
    first.child.kill('SIGKILL');
    await stopped(first.child);

    const second = await startCollector(env);
    children.push(second);
    const got = await rx.waitFor(2, 10_000);
    expect(got[1]!.body.id).toBe(got[0]!.body.id);
    expect(got[1]!.body).toMatchObject({
      visitor: 'shopper',
      segment: 'camera-intent',
      change: 'enter',
    });
    expect(got[1]!.valid).toBe(true);

    let status = '';
    for (let i = 0; i < 40 && status !== 'delivered'; i++) {
      const res = await fetch(`${second.url}/v1/deliveries?site=shop`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      const body = (await res.json()) as { deliveries: { status: string; attempts: number }[] };
      expect(body.deliveries).toHaveLength(1);
      status = body.deliveries[0]!.status;
      if (status !== 'delivered') await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('delivered');
    second.child.kill('SIGTERM');
    await stopped(second.child);
    await rx.close();
    console.log(
      `webhook delivery latency (enter → receiver, collector process over HTTP): ${latency} ms`,
    );
  });
});
