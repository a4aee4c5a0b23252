/**
 * `microseg seed` end to end, as a newcomer runs it: the built CLI on a fresh database, then the
 * same figures read back; a second run refused with nothing written; a site not in the config
 * and bad options refused with their reason.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuilt } from '../collector-process.ts';
import { openStorage } from '../../collector/storage/open.ts';
import { tempDir } from '../helpers.ts';
import { createTestDatabaseFor, type TestDatabase } from '../support/backend.ts';

const tmp = tempDir();
let db: TestDatabase;
const config = join(tmp.dir, 'sites.json');

beforeAll(async () => {
  db = await createTestDatabaseFor(tmp.dir);
  writeFileSync(
    config,
    JSON.stringify({
      sites: {
        shop: {
          origins: ['https://shop.example'],
          categories: [{ path: '/cameras/*', category: 'cameras' }],
        },
      },
    }),
  );
});
afterAll(async () => {
  await db.drop();
  tmp.cleanup();
});

const seed = (...args: string[]) =>
  runBuilt(['seed', '--config', config, '--db', db.db, ...args], { MICROSEG_CONFIG: '' });

describe('microseg seed', () => {
  it('fills an empty site and says what it wrote', { timeout: 120_000 }, async () => {
    const { code, out } = await seed('--site', 'shop', '--visitors', '150', '--days', '14');
    expect(out).toContain('seeded site shop');
    expect(code).toBe(0);
    const events = Number(/events\s+(\d+)/.exec(out)?.[1]);
    const profiles = Number(/profiles\s+(\d+)/.exec(out)?.[1]);
    const storage = await openStorage(db.db);
    try {
      // The events it reports, plus the contacts' email clicks (events of their own).
      const arrivals = Number(/by (\d+) email arrivals/.exec(out)?.[1]);
      expect(await storage.countEvents('shop')).toBe(events + arrivals);
      const counts = await storage.segmentCounts('shop');
      expect(Object.values(counts.keys).reduce((a, b) => a + b, 0)).toBe(profiles);
      expect(events).toBeGreaterThan(300);
      // A snapshot for every day with profiles: the last 14 always; the first of the 15 only when
      // a visit fell in its part after "14 days ago" (an hour of it when run at 23:00 UTC).
      const day = 86_400_000;
      const today = Date.now() - (Date.now() % day);
      const sizes = await storage.dashboard.segmentSizes('shop', today - 14 * day, today);
      const days = new Set(sizes.map((s) => s.day));
      for (let d = today - 13 * day; d <= today; d += day) expect(days.has(d)).toBe(true);
      expect(days.size).toBeLessThanOrEqual(15);
    } finally {
      await storage.close();
    }
  });

  it('refuses a site that has profiles already, and writes nothing', async () => {
    const storage = await openStorage(db.db);
    const before = await storage.countEvents('shop');
    await storage.close();
    const { code, out } = await seed('--site', 'shop', '--visitors', '10');
    expect(code).toBe(1);
    expect(out).toContain('already has profiles');
    const again = await openStorage(db.db);
    expect(await again.countEvents('shop')).toBe(before);
    await again.close();
  });

  it('refuses a site not in the config, and bad options', async () => {
    const unknown = await seed('--site', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.out).toContain('no site "nope" in the site config');
    const bad = await seed('--site', 'shop', '--visitors', '0');
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('--visitors is a whole number');
    const days = await seed('--site', 'shop', '--days', '9999');
    expect(days.code).toBe(2);
  });
});
