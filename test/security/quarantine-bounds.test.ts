/**
 * Issue 12, defect 6: 1,000 requests of 263 bytes (`events:[1,1,…]`, rotating visitor ids) wrote
 * 100,000 quarantine rows (~20 MB), never pruned without `retentionDays`. Now a request keeps at
 * most LIMITS.quarantinePerRequest refusals, a site at most `quarantine.rowsPerDay` a UTC day
 * (the rest only counted in `microseg_quarantine_skipped_total`), and rows go after
 * `quarantine.keepDays` (30) whatever the site's retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../collector/config/config.ts';
import { DEFAULT_QUARANTINE } from '../../collector/storage/quarantine.ts';
import { runRetention } from '../../collector/jobs/retention.ts';
import { sqliteHandle } from '../../collector/storage/sqlite/index.ts';
import { BACKEND, row } from '../support/backend.ts';
import { LIMITS } from '../../shared/limits.ts';
import { API_KEY, collector, event, METRICS_TOKEN, type Collector } from './support.ts';

const DAY = 86_400_000;
const CONFIG = {
  sites: {
    shop: { allowAutomation: true, apiKeys: [API_KEY] },
    small: { quarantine: { rowsPerDay: 25 } },
  },
};
const hostile = (site: string, i: number) =>
  `{"site":"${site}","visitor":"v${i.toString(36)}","events":[${Array(LIMITS.batchEvents).fill(1).join(',')}]}`;

let c: Collector;
// Rows and bytes as stored (what the bounds are about), straight from the database file.
const rows = async (site: string) =>
  (
    await row<{ n: number }>(
      c.running.storage,
      'select count(*) as n from quarantine where site = ?',
      site,
    )
  )?.n;
const bytes = async (site: string) =>
  (
    await row<{ n: number }>(
      c.running.storage,
      'select coalesce(sum(length(payload)), 0) as n from quarantine where site = ?',
      site,
    )
  )?.n ?? 0;
async function skipped(site: string): Promise<number> {
  const text = (
    await c.http('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` })
  ).text;
  const m = new RegExp(`^microseg_quarantine_skipped_total\\{site="${site}"\\} (\\d+)`, 'm').exec(
    text,
  );
  return m ? Number(m[1]) : 0;
}

beforeAll(async () => {
  c = await collector(CONFIG);
});
afterAll(() => c.close());

describe('quarantine bounds', () => {
  it('1,000 hostile requests of 100 refusals each write at most the daily cap', async () => {
    expect(Buffer.byteLength(hostile('shop', 999))).toBeLessThan(300);
    for (let i = 0; i < 1000; i++) {
      const res = await c.http('POST', '/v1/collect', hostile('shop', i));
      expect(res.status).toBe(400);
      expect(res.json().refused).toHaveLength(LIMITS.batchEvents);
    }
    // Was 100,000 rows.
    expect(await rows('shop')).toBe(DEFAULT_QUARANTINE.rowsPerDay);
    expect(await bytes('shop')).toBeLessThan(DEFAULT_QUARANTINE.rowsPerDay * 16);
    expect(await skipped('shop')).toBe(1000 * LIMITS.batchEvents - DEFAULT_QUARANTINE.rowsPerDay);
    // A thousand sequential requests: a loaded machine took more than the default 20 s once.
  }, 90_000);

  it("keeps at most LIMITS.quarantinePerRequest refusals of one request, and the site's own daily cap", async () => {
    await c.http('POST', '/v1/collect', hostile('small', 1));
    expect(await rows('small')).toBe(LIMITS.quarantinePerRequest);
    for (let i = 2; i < 6; i++) await c.http('POST', '/v1/collect', hostile('small', i));
    expect(await rows('small')).toBe(25);
  });

  it("still stores a batch's valid events once the cap is reached", async () => {
    const valid = event();
    const res = await c.http('POST', '/v1/collect', {
      site: 'shop',
      visitor: 'after',
      events: [valid, 1, 2],
    });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 1, refused: [{ index: 1 }, { index: 2 }] });
  });

  it('bounds /v1/events per request too', async () => {
    const before = await rows('shop');
    const c2 = await collector(CONFIG);
    try {
      const bad = (i: number) => ({ site: 'shop', visitor: `s${i}`, type: 'purchase', value: 'x' });
      const events = Array.from({ length: 500 }, (_, i) => bad(i));
      const res = await c2.api('POST', '/v1/events', { events });
      expect(res.json().refused).toHaveLength(500);
      const n = (await row(c2.running.storage, `select count(*) as n from quarantine`))?.n;
      expect(n).toBe(LIMITS.quarantinePerRequest);
    } finally {
      await c2.close();
    }
    expect(await rows('shop')).toBe(before);
  });

  // SQLite only: the full disk is made with SQLite's max_page_count.
  it.skipIf(BACKEND === 'postgres')(
    'a refusal whose write was rolled back (503 on a full disk) does not count against the daily cap',
    async () => {
      const c3 = await collector({
        sites: { full: { allowAutomation: true, quarantine: { rowsPerDay: 5 } } },
      });
      try {
        const sqlite = sqliteHandle(c3.running.storage);
        const kept = () =>
          sqlite.prepare(`select count(*) from quarantine where site = 'full'`).pluck().get();
        // One refusal (`7`, a row that fits the quarantine's last page) beside events that need new pages.
        const url = (i: number) => `http://localhost/${i}/${'p'.repeat(1500)}`;
        const batch = (n: number) => ({
          site: 'full',
          visitor: `d${n}`,
          events: [7, ...Array.from({ length: 20 }, (_, i) => event({ url: url(i) }))],
        });
        expect((await c3.http('POST', '/v1/collect', batch(0))).status).toBe(200);
        expect(kept()).toBe(1);
        // The disk is full: nothing of these batches is stored, their refusals included.
        sqlite.pragma(
          `max_page_count = ${sqlite.pragma('page_count', { simple: true }) as number}`,
        );
        for (let n = 1; n <= 8; n++)
          expect((await c3.http('POST', '/v1/collect', batch(n))).status).toBe(503);
        expect(kept()).toBe(1);
        // Room again: the day has kept 1 of its 5 rows, so the next refusals are kept.
        sqlite.pragma('max_page_count = 1073741823');
        expect((await c3.http('POST', '/v1/collect', batch(9))).status).toBe(200);
        expect(kept()).toBe(2);
      } finally {
        await c3.close();
      }
    },
  );

  it('prunes refused events after keepDays without retentionDays; a new day has room again', async () => {
    const config = parseConfig(CONFIG);
    expect(config.sites.get('shop')!.retentionDays).toBeNull();
    const storage = c.running.storage;
    const now = Date.now();
    // A new UTC day: the cap starts over.
    const tomorrow = (Math.floor(now / DAY) + 1) * DAY + 1000;
    const one = [
      { visitor: 'x', refused: { index: 0, error: 'invalid_event', message: 'm' }, raw: 1 },
    ];
    const policy = config.sites.get('shop')!.quarantine;
    expect(
      await storage.write((tx) => tx.keepRefused('shop', 'collect', one, tomorrow, policy)),
    ).toBe(0);
    expect(await rows('shop')).toBe(DEFAULT_QUARANTINE.rowsPerDay + 1);
    const pruned = await runRetention(storage, config, now + DEFAULT_QUARANTINE.keepDays * DAY + 1);
    expect(pruned.shop).toEqual({ quarantine: DEFAULT_QUARANTINE.rowsPerDay });
    expect(await rows('shop')).toBe(1);
  });
});
