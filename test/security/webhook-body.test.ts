/**
 * Issue 12, defect 4: the webhook worker reads a few KiB of a receiver's answer, never the whole
 * of it. A real receiver streams a 200 MB answer to a real collector process, whose peak RSS
 * (VmHWM in /proc) is read before and after the delivery.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCollector, type CollectorProcess } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';
import { API_KEY, shopConfig } from '../triggers/setup.ts';
import { excerpt, readCapped } from '../../collector/webhooks/response.ts';

const MB = 2 ** 20;
const tmp = tempDir();
const servers: Server[] = [];
let collector: CollectorProcess | undefined;
afterAll(async () => {
  collector?.child.kill('SIGKILL');
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  tmp.cleanup();
});

/** VmHWM / VmRSS of a live process, in MB. */
function memory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024;
  return { peak: kb('VmHWM'), rss: kb('VmRSS') };
}

/** A receiver that answers every delivery `status` with `bytes` of body, streamed with backpressure. */
async function hugeReceiver(status: number, bytes: number) {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const seen = { requests: 0, sent: 0, ended: 0 };
  const server = createServer((req, res) => {
    req.resume();
    seen.requests++;
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(bytes) });
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        seen.sent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
          return void res.once('drain', pump);
      }
      res.end();
    };
    res.once('close', () => seen.ended++);
    pump();
  });
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen };
}

async function collect(base: string, visitor: string, n: number) {
  const res = await fetch(`${base}/v1/collect`, {
    method: 'POST',
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
}

async function deliveries(base: string) {
  const res = await fetch(`${base}/v1/deliveries?site=shop`, {
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  type Delivery = { status: string; lastStatus: number | null; lastError: string | null };
  return ((await res.json()) as { deliveries: Delivery[] }).deliveries;
}

describe('a receiver answering 200 MB', () => {
  it('costs the collector a few KiB of it: peak RSS stays put, the transfer is cut short', async () => {
    const rx = await hugeReceiver(200, 200 * MB);
    const file = join(tmp.dir, 'sites.json');
    // A long timeout: the answer's size, not the clock, must be what stops the read.
    const config = shopConfig(rx.url);
    (config as { delivery: Record<string, number> }).delivery.timeoutMs = 30_000;
    writeFileSync(file, JSON.stringify(config));
    const env = {
      MICROSEG_DB: join(tmp.dir, 'c.db'),
      MICROSEG_CONFIG: file,
      MICROSEG_API_KEY: API_KEY,
    };
    collector = await startCollector(env);
    const pid = collector.child.pid!;
    // Warm up the paths the delivery takes (ingest, the deliveries API), then take the baseline.
    await collect(collector.url, 'warm', 1);
    await deliveries(collector.url);
    const before = memory(pid);

    for (let n = 1; n <= 3; n++) await collect(collector.url, 'shopper', n);
    let list: Awaited<ReturnType<typeof deliveries>> = [];
    for (let i = 0; i < 200 && list[0]?.status !== 'delivered'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      list = await deliveries(collector.url);
    }
    expect(list[0]).toMatchObject({ status: 'delivered', lastStatus: 200 });
    const after = memory(pid);
    console.log(
      `collector VmHWM ${before.peak.toFixed(0)} → ${after.peak.toFixed(0)} MB, VmRSS ${after.rss.toFixed(0)} MB;`,
      `receiver wrote ${(rx.seen.sent / MB).toFixed(1)} of 200 MB`,
    );
    expect(rx.seen.requests).toBe(1);
    expect(after.peak - before.peak).toBeLessThan(40);
    // The rest was not read: the receiver could write no more than the sockets' buffers hold.
    expect(rx.seen.sent).toBeLessThan(50 * MB);
  });
});

describe('reading an answer', () => {
  it('stops at the cap on an endless body, and keeps a short single-line excerpt', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(ctl) {
        pulled++;
        ctl.enqueue(new TextEncoder().encode(`error:\n${'y'.repeat(1000)}`));
      },
    });
    const text = await readCapped(new Response(endless), 4096);
    expect(text.length).toBe(4096);
    expect(pulled).toBeLessThan(10);
    expect(excerpt(text)).toMatch(/^error: y+$/);
    expect(excerpt(text).length).toBe(200);
  });

  it('a body trickled a byte at a time ends with the request timeout', async () => {
    // The attempt's signal (its timeout in the worker) fires while the body is being read: here
    // once the answer is open and two more bytes went out, not after a fixed time, so a loaded
    // machine cannot fire it before the headers. 4 KiB would take 200 s to trickle in.
    const abort = new AbortController();
    let written = 0;
    let onWrite = () => {};
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => {
        res.write('.');
        written++;
        onWrite();
      }, 50);
      res.once('close', () => clearInterval(timer));
    });
    servers.push(server);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const res = await fetch(url, { signal: abort.signal });
    const reading = readCapped(res);
    const until = written + 2;
    await new Promise<void>((ok) => (onWrite = () => written >= until && ok()));
    abort.abort(new Error('attempt timed out'));
    await expect(reading).rejects.toThrow('attempt timed out');
  });
});
