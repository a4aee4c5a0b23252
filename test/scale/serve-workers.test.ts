/**
 * `microseg serve --workers N` as an operator runs it (the built collector, real processes): on a
 * PostgreSQL database of its own, two workers answer on one port (`/healthz` names the worker),
 * one of them leads the background jobs, a worker killed is restarted, SIGTERM closes all and
 * exits 0. Refused with a reason on SQLite, without MICROSEG_SECRET, and for a bad N.
 */
import { writeFileSync } from 'node:fs';
import { get, request } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runBuilt, startCollector, stopped } from '../collector-process.ts';
import { PG_TEST_SECRET } from '../support/backend.ts';
import { pgTestDatabase } from '../support/pg-database.ts';
import { tempDir } from '../temp.ts';
import { startReceiver } from '../triggers/receiver.ts';
import { API_KEY, SECRET, shopConfig } from '../triggers/setup.ts';

const pgUrl = inject('pgUrl');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** One request on a connection of its own: the cluster hands each connection to a worker in turn. */
function healthz(
  base: string,
): Promise<{ status: number; body: { ok: boolean; worker?: number } }> {
  return new Promise((ok, fail) => {
    get(`${base}/healthz`, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    }).on('error', fail);
  });
}

/** A browser batch on a connection of its own (so the batches spread over the workers). */
function collect(base: string, body: unknown): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(
      `${base}/v1/collect`,
      { method: 'POST', agent: false, headers: { 'content-type': 'text/plain' } },
      (res) => {
        res.resume();
        res.on('end', () => ok(res.statusCode ?? 0));
      },
    );
    req.on('error', fail);
    req.end(JSON.stringify(body));
  });
}

/** The pids that logged taking the background jobs, in order. */
const leaders = (out: string) =>
  [...out.matchAll(/"msg":"background jobs: this process leads[^"]*","pid":(\d+)/g)].map((m) =>
    Number(m[1]),
  );

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('serve --workers: refused where it cannot work', () => {
  it('on SQLite, saying why and pointing to PostgreSQL', async () => {
    const { code, out } = await runBuilt(
      ['serve', '--port', '0', '--workers', '2', '--db', join(tmp.dir, 'w.db')],
      { MICROSEG_WORKERS: '' },
    );
    expect(code).toBe(2);
    expect(out).toMatch(/--workers 2 needs PostgreSQL: a SQLite file has one writer/);
    expect(out).toMatch(/Running on PostgreSQL/);
  });

  it('for a number of workers outside 1–64, from the flag or the environment', async () => {
    for (const n of ['0', '65', '1.5', 'two']) {
      const { code, out } = await runBuilt(['serve', '--port', '0', '--workers', n]);
      expect(code, n).toBe(2);
      expect(out, n).toContain(`invalid --workers ${n}: a whole number of processes, 1–64`);
    }
    const { code, out } = await runBuilt(['serve', '--port', '0'], { MICROSEG_WORKERS: '100' });
    expect(code).toBe(1);
    expect(out).toMatch(/MICROSEG_WORKERS: a whole number of processes, 1–64/);
  }, 60_000);

  it.skipIf(!pgUrl)('without MICROSEG_SECRET on PostgreSQL, saying why', async () => {
    const { code, out } = await runBuilt(['serve', '--port', '0', '--workers', '3'], {
      MICROSEG_DB: 'postgres://nobody@127.0.0.1:1/none',
      MICROSEG_SECRET: '',
    });
    expect(code).toBe(2);
    expect(out).toMatch(
      /MICROSEG_SECRET is required with --workers 3: every worker signs identity tokens/,
    );
  });
});

describe.skipIf(!pgUrl)('serve --workers 2 on one PostgreSQL database', () => {
  const db = pgTestDatabase();

  it('answers on one port from both workers, delivers each webhook once, moves the jobs off a dead leader, closes all on SIGTERM', async () => {
    const rx = await startReceiver(SECRET);
    const configFile = join(tmp.dir, 'sites.json');
    writeFileSync(configFile, JSON.stringify(shopConfig(rx.url)));
    const c = await startCollector(
      {
        MICROSEG_DB: db.url,
        MICROSEG_SECRET: PG_TEST_SECRET,
        MICROSEG_CONFIG: configFile,
        MICROSEG_API_KEY: API_KEY,
        MICROSEG_METRICS_PORT: '0',
        LOG_LEVEL: 'info',
      },
      ['--workers', '2'],
    );
    const m = /workers: {4}2 processes \((\d+), (\d+)\) on one port/.exec(c.output());
    expect(m, c.output()).not.toBeNull();
    const pids = [Number(m?.[1]), Number(m?.[2])];
    expect(pids.every(alive)).toBe(true);

    const seen = new Set<number>();
    for (let i = 0; i < 20 && seen.size < 2; i++) {
      const h = await healthz(c.url);
      expect(h.status).toBe(200);
      if (h.body.worker !== undefined) seen.add(h.body.worker);
    }
    expect([...seen].sort()).toEqual([1, 2]);
    // One leads the background jobs, the other stands by.
    const listening = c.output().match(/"msg":"collector listening"[^\n]*/g) ?? [];
    expect(listening).toHaveLength(2);
    expect(listening.filter((l) => l.includes('"jobs":"leader"'))).toHaveLength(1);
    expect(listening.filter((l) => l.includes('"jobs":"standby"'))).toHaveLength(1);

    // 30 shoppers enter camera-intent, their batches spread over both workers: 30 deliveries,
    // each once, whichever worker's outbox worker sends it.
    const statuses = await Promise.all(
      Array.from({ length: 30 }, (_, v) =>
        collect(c.url, {
          site: 'shop',
          visitor: `shopper-${v}`,
          events: [1, 2, 3].map((n) => ({
            id: `s${v}-${n}`,
            type: 'page_view',
            ts: Date.now(),
            url: `http://localhost/cameras/${n}`,
          })),
        }),
      ),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    await rx.waitFor(30, 10_000);
    await sleep(500);
    const ids = rx.got.map((g) => g.body.id);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    expect(new Set(rx.got.map((g) => g.body.visitor)).size).toBe(30);

    // One /metrics for the cluster, from the primary: counters summed over the workers, the
    // database's figures once, one leader.
    const metricsUrl = /metrics: {4}(http:\/\/\S+)/.exec(c.output())?.[1];
    expect(metricsUrl).toBeDefined();
    const text = await (await fetch(metricsUrl ?? '')).text();
    expect(text).toMatch(/^microseg_events_accepted_total\{site="shop"\} 90$/m);
    expect(text).toMatch(/^microseg_webhook_deliveries\{status="delivered"\} 30$/m);
    expect(text).toMatch(/^microseg_jobs_leader 1$/m);

    // The worker leading the jobs dies: the primary starts another (worker 3) on the same port,
    // and the jobs move to a live worker once the server has ended the dead one's session.
    const [leader] = leaders(c.output());
    expect(pids).toContain(leader);
    process.kill(leader ?? 0, 'SIGKILL');
    for (let i = 0; i < 100 && !/"msg":"worker restarted"/.test(c.output()); i++) await sleep(50);
    expect(c.output()).toMatch(/"msg":"worker exited: restarting"[^\n]*"signal":"SIGKILL"/);
    for (let i = 0; i < 300 && leaders(c.output()).length < 2; i++) await sleep(50);
    const next = leaders(c.output())[1];
    expect(next).toBeDefined();
    expect(next).not.toBe(leader);
    expect(alive(next ?? 0)).toBe(true);
    const after = new Set<number>();
    for (let i = 0; i < 20 && after.size < 2; i++) {
      const h = await healthz(c.url);
      if (h.body.worker !== undefined) after.add(h.body.worker);
    }
    expect(after.size).toBe(2);
    expect(after.has(3)).toBe(true);

    c.child.kill('SIGTERM');
    expect(await stopped(c.child)).toBe(0);
    const survivor = pids.find((p) => p !== leader) ?? 0;
    for (let i = 0; i < 50 && alive(survivor); i++) await sleep(50);
    expect(alive(survivor)).toBe(false);
    expect(c.output()).toMatch(/"msg":"collector closed"/);
    await rx.close();
  }, 60_000);
});
