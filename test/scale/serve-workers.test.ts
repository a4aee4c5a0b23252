/**
 * `microseg serve --workers N` as an operator runs it (the built collector, real processes): on a
 * PostgreSQL database of its own, two workers answer on one port (`/healthz` names the worker),
 * one of them leads the background jobs, a worker killed is restarted, SIGTERM closes all and
 * exits 0. Refused with a reason on SQLite, without MICROSEG_SECRET, and for a bad N.
 */
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runBuilt, startCollector, stopped } from '../collector-process.ts';
import { PG_TEST_SECRET } from '../support/backend.ts';
import { pgTestDatabase } from '../support/pg-database.ts';
import { tempDir } from '../temp.ts';

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
  });

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

  it('answers on one port from both workers, restarts a dead one, closes all on SIGTERM', async () => {
    const c = await startCollector(
      { MICROSEG_DB: db.url, MICROSEG_SECRET: PG_TEST_SECRET, LOG_LEVEL: 'info' },
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

    // A worker dies: the primary starts another (worker 3) on the same port.
    process.kill(pids[0] ?? 0, 'SIGKILL');
    for (let i = 0; i < 100 && !/"msg":"worker restarted"/.test(c.output()); i++) await sleep(50);
    expect(c.output()).toMatch(/"msg":"worker exited: restarting"[^\n]*"signal":"SIGKILL"/);
    const after = new Set<number>();
    for (let i = 0; i < 20 && after.size < 2; i++) {
      const h = await healthz(c.url);
      if (h.body.worker !== undefined) after.add(h.body.worker);
    }
    expect([...after].sort()).toEqual([2, 3]);

    c.child.kill('SIGTERM');
    expect(await stopped(c.child)).toBe(0);
    for (let i = 0; i < 50 && pids.some(alive); i++) await sleep(50);
    expect(alive(pids[1] ?? 0)).toBe(false);
    expect(c.output()).toMatch(/"msg":"collector closed"/);
  });
});
