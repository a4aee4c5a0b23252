/**
 * Issue 12, defect 5: slow clients. Real sockets against a real collector process: bodies
 * trickled a byte a second to /v1/collect and /v1/events, and headers trickled the same way.
 * Every such connection must be closed soon after its timeout (short ones here, set through the
 * environment), one address may hold only so many browser requests open, and /healthz answers
 * throughout.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type CollectorProcess } from '../collector-process.ts';
import { tempDir } from '../helpers.ts';

const tmp = tempDir();
let collector: CollectorProcess;
beforeAll(async () => {
  collector = await startCollector({
    MICROSEG_DB: join(tmp.dir, 'slow.db'),
    MICROSEG_API_KEY: 'slow-test-api-key-0123456789',
    MICROSEG_HEADERS_TIMEOUT_MS: '1500',
    MICROSEG_REQUEST_TIMEOUT_MS: '4000',
    MICROSEG_BODY_TIMEOUT_MS: '2500',
    MICROSEG_CONNECTIONS_PER_IP: '40',
  });
});
afterAll(() => {
  collector.child.kill('SIGKILL');
  tmp.cleanup();
});

interface Slow {
  socket: Socket;
  /** The status line of the answer, if one came. */
  status: number | null;
  closedAt: number | null;
}

/** A connection that sends `head` at once, then the rest of the request a byte every `everyMs`. */
function trickle(url: string, head: string, rest: string, everyMs = 1000): Slow {
  const { hostname, port } = new URL(url);
  const s: Slow = { socket: connect(Number(port), hostname), status: null, closedAt: null };
  let i = 0;
  const timer = setInterval(() => {
    if (i < rest.length && !s.socket.destroyed) s.socket.write(rest[i++]!);
  }, everyMs);
  s.socket.on('connect', () => head && s.socket.write(head));
  s.socket.on(
    'data',
    (d) => (s.status ??= Number(/^HTTP\/1\.1 (\d+)/.exec(d.toString())?.[1] ?? 0)),
  );
  s.socket.on('error', () => {});
  s.socket.on('close', () => {
    clearInterval(timer);
    s.closedAt = Date.now();
  });
  return s;
}

const event = { id: 'e1', type: 'page_view', ts: 1, url: 'http://localhost/' };
const body = JSON.stringify({ site: 'demo', visitor: 'slow', events: [event] });
const post = (path: string, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n` +
  `Content-Length: ${body.length}\r\n${extra}\r\n`;

describe('slow clients', () => {
  it('trickled bodies and headers are cut after their timeouts; an address holds at most its cap', async () => {
    const t0 = Date.now();
    const browser = Array.from({ length: 200 }, () =>
      trickle(collector.url, post('/v1/collect'), body),
    );
    const auth = 'Authorization: Bearer slow-test-api-key-0123456789\r\n';
    const server = Array.from({ length: 5 }, () =>
      trickle(collector.url, post('/v1/events', auth), body),
    );
    const line = 'GET /v1/segment?site=demo&visitor=v HTTP/1.1\r\n';
    const headers = Array.from({ length: 20 }, () =>
      trickle(collector.url, line, 'Host: x\r\n\r\n'),
    );
    // Connected, then silent: not a byte of a request.
    const silent = Array.from({ length: 10 }, () => trickle(collector.url, '', ''));
    const all = [...browser, ...server, ...headers, ...silent];

    // /healthz all along, from the same address.
    const health: { status: number; ms: number }[] = [];
    while (all.some((s) => s.closedAt === null) && Date.now() - t0 < 12_000) {
      const t = Date.now();
      const res = await fetch(`${collector.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      health.push({ status: res.status, ms: Date.now() - t });
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const s of all) s.socket.destroy();

    const after = (s: Slow) => ((s.closedAt ?? Infinity) - t0) / 1000;
    const worst = (list: Slow[]) => Math.max(...list.map(after));
    const statuses = (list: Slow[]) => {
      const by: Record<string, number> = {};
      for (const s of list) by[String(s.status)] = (by[String(s.status)] ?? 0) + 1;
      return by;
    };
    console.log(
      `browser bodies: ${JSON.stringify(statuses(browser))}, all closed after ${worst(browser).toFixed(1)} s;`,
      `server bodies closed after ${worst(server).toFixed(1)} s;`,
      `slow headers closed after ${worst(headers).toFixed(1)} s; silent ones after ${worst(silent).toFixed(1)} s;`,
      `/healthz ${health.length}× max ${Math.max(...health.map((h) => h.ms))} ms`,
    );
    // Past the cap: refused at once. Within it: 408 body_timeout once the body timeout passed. (The
    // body timeout is longer than the headers one so that all 200 connect before the first slot frees.)
    expect(statuses(browser)).toEqual({ 408: 40, 429: 160 });
    // Every connection closed, long before Node's defaults (60 s headers, 300 s request) would.
    expect(worst(browser)).toBeLessThan(8);
    expect(worst(server)).toBeLessThan(8);
    expect(worst(headers)).toBeLessThan(8);
    expect(worst(silent)).toBeLessThan(8);
    expect(health.length).toBeGreaterThan(0);
    expect(health.every((h) => h.status === 200)).toBe(true);
  });
});
