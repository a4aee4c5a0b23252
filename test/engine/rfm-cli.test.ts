/**
 * `microseg rfm --site S` recomputes a site's quintiles now, on the file of a running collector,
 * which then scores with them at its next read (no 10-minute wait after an import).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.ts';
import { type Collector, collector } from '../security/support.ts';
import { cli } from '../cli-capture.ts';
import { BACKEND, row } from '../support/backend.ts';

const config = { sites: { shop: { segment: { rfm: { minCustomers: 5 } } } } };
const tmp = tempDir();
const configFile = join(tmp.dir, 'sites.json');
let c: Collector;
beforeAll(async () => {
  writeFileSync(configFile, JSON.stringify(config));
  c = await collector(config);
});
afterAll(async () => {
  await c.close();
  tmp.cleanup();
});

const rfmOf = async (contact: string) =>
  (await c.api('GET', `/v1/contacts/${contact}/segment?site=shop`)).json().rfm;

describe('microseg rfm', () => {
  it('after an import, puts the running collector on quintiles at once', async () => {
    // 10 customers: c<i> bought i + 1 times, total 10 × (i + 1), the last i days ago.
    const now = Date.now();
    const events = Array.from({ length: 10 }, (_, i) =>
      Array.from({ length: i + 1 }, (_, k) => ({
        site: 'shop',
        contact: `c${i}`,
        type: 'purchase',
        value: 10,
        ts: now - i * 86_400_000 - k * 1000,
      })),
    ).flat();
    expect((await c.api('POST', '/v1/events', { events })).status).toBe(200);
    // The job ran at start, with no customer: fixed thresholds (6 purchases → F 5, 60 → M 2).
    expect(await c.running.storage.rfmBreakpoints('shop')).toBeNull();
    expect(await rfmOf('c5')).toMatchObject({ f: 5, m: 2 });

    const r = await cli('rfm', '--site', 'shop', '--config', configFile, '--db', c.db);
    expect(r.code).toBe(0);
    expect(r.out).toContain('site shop: 10 customers');
    expect(r.out).toMatch(/F \(purchases\) +2 {2}4 {2}6 {2}8/);
    if (BACKEND === 'postgres') {
      // On PostgreSQL a running collector reads them again within RFM_CACHE_MS (30 s; tested in
      // test/storage/pg-modules.test.ts with a clock): here, that they are stored.
      const stored = await row(
        c.running.storage,
        `select customers, frequency, monetary from rfm_breakpoints where site = 'shop'`,
      );
      expect(stored).toEqual({ customers: 10, frequency: '[2,4,6,8]', monetary: '[20,40,60,80]' });
    } else {
      // The collector's own process sees the other connection's commit at its next read.
      await new Promise((ok) => setImmediate(ok));
      expect(await c.running.storage.rfmBreakpoints('shop')).toMatchObject({
        customers: 10,
        frequency: [2, 4, 6, 8],
        monetary: [20, 40, 60, 80],
      });
      // c5: 6 purchases, 60 in all: on the third breakpoints, so F 3 and M 3 (the lower score).
      expect(await rfmOf('c5')).toMatchObject({ f: 3, m: 3 });
    }

    const json = await cli('rfm', '--site', 'shop', '--json', '--config', configFile, '--db', c.db);
    expect(JSON.parse(json.out)).toMatchObject({
      site: 'shop',
      minCustomers: 5,
      breakpoints: { customers: 10 },
    });
  });

  it('says when the site has too few customers, and refuses an unknown site', async () => {
    const few = { sites: { other: {} } };
    const file = join(tmp.dir, 'few.json');
    writeFileSync(file, JSON.stringify(few));
    const r = await cli('rfm', '--site', 'other', '--config', file, '--db', c.db);
    expect(r).toMatchObject({ code: 0, out: expect.stringContaining('fewer than 50 customers') });
    expect((await cli('rfm', '--site', 'nope', '--config', file, '--db', c.db)).code).toBe(2);
    expect((await cli('rfm')).code).toBe(2);
  });
});
