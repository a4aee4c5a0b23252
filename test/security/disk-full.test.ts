/**
 * Issue 12, defect 10: a full disk. SQLite is made to fail for real on the collector's own
 * database file with `PRAGMA max_page_count` (on the collector's connection): the next write that
 * needs a new page gets SQLITE_FULL from SQLite itself, as on a full disk. Collect must answer
 * 503 with Retry-After and a clear code, and /healthz must say so; once there is room, both
 * recover.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type Running } from '../../collector/http/server.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { ensureBuilt } from '../collector-process.ts';
import { ev, tempDir } from '../helpers.ts';

const tmp = tempDir();
let running: Running;
beforeAll(async () => {
  await ensureBuilt();
  running = await start(
    {
      port: 0,
      host: '127.0.0.1',
      db: join(tmp.dir, 'full.db'),
      demo: false,
      logLevel: 'error',
      limits: { ipPerMinute: 0, visitorPerMinute: 0, trustProxy: 0 },
    },
    () => {},
  );
});
afterAll(async () => {
  sqliteHandle(running.storage).pragma('max_page_count = 1073741823');
  await running.close();
  tmp.cleanup();
});

/** A batch of 20 events with long URLs: several pages of rows and index entries. */
function batch(n: number) {
  const url = (i: number) => `http://localhost:8787/demo/${n}/${i}/${'p'.repeat(1500)}`;
  const events = Array.from({ length: 20 }, (_, i) => ev({ url: url(i) }));
  const body = JSON.stringify({ site: 'demo', visitor: `full${n}`, events });
  return fetch(`${running.url}/v1/collect`, { method: 'POST', body });
}

describe('a full disk', () => {
  it('collect answers 503 storage_full with Retry-After, /healthz 503; both recover once there is room', async () => {
    expect((await batch(0)).status).toBe(200);
    const sqlite = sqliteHandle(running.storage);
    // No room to grow: the database may not get a page more than it has now.
    sqlite.pragma(`max_page_count = ${sqlite.pragma('page_count', { simple: true }) as number}`);

    let full: Response | undefined;
    for (let n = 1; n <= 20 && !full; n++) {
      const res = await batch(n);
      if (res.status !== 200) full = res;
    }
    expect(full?.status).toBe(503);
    expect(Number(full!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await full!.json()).toMatchObject({ error: 'storage_full' });

    const health = await fetch(`${running.url}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { ok: boolean }).ok).toBe(false);

    // Room again (an operator freed space): the next batch is stored and health is ok.
    sqlite.pragma('max_page_count = 1073741823');
    expect((await batch(99)).status).toBe(200);
    const ok = await fetch(`${running.url}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });
  });

  it('a group commit on a full disk acknowledges only what is stored; /healthz sees no room', async () => {
    const sqlite = sqliteHandle(running.storage);
    sqlite.pragma(`max_page_count = ${sqlite.pragma('page_count', { simple: true }) as number}`);
    // Before any write fails: no page left to grow into is reported as it is.
    const health = await fetch(`${running.url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ ok: false, error: 'storage_full' });

    // Concurrent batches land in one group transaction.
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => batch(200 + i)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses).toContain(503);
    for (const [i, s] of statuses.entries()) {
      expect(await running.storage.countEvents('demo', `full${200 + i}`)).toBe(s === 200 ? 20 : 0);
    }
    sqlite.pragma('max_page_count = 1073741823');
  });
});
