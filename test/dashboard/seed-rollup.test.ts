/**
 * `microseg seed` on a database whose collector already ran: the job had rolled up the past days
 * empty (no events yet), and the seed must roll up the days it writes again, or the dashboard's
 * activity chart shows zeros for the whole seeded range (the quick start: `npm start`, stop,
 * `microseg seed --site demo`, `npm start`).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedAudience } from '../../collector/cli/seed.ts';
import { parseConfig, type ConfigFile } from '../../collector/config/config.ts';
import { rollupDue } from '../../collector/jobs/segment-sizes.ts';
import type { StatsResponse } from '../../shared/stats.ts';
import { DAY, T0, testApp } from '../helpers.ts';
import { rows } from '../support/backend.ts';

const KEY = 'seed-rollup-key-0123456789';
const FILE = {
  sites: { shop: { origins: ['https://shop.example'], apiKeys: [KEY] } },
} as ConfigFile;
let t: Awaited<ReturnType<typeof testApp>>;

beforeAll(async () => {
  t = await testApp({ config: FILE, now: T0 });
  const site = parseConfig(FILE).sites.get('shop');
  if (!site) throw new Error('no shop');
  // The collector's job ran first, on an empty site: every past bucket rolled up at zero.
  await rollupDue(t.storage, 'shop', T0, Number.POSITIVE_INFINITY);
  await seedAudience(t.storage, site, { visitors: 120, days: 10, seed: 3, now: T0 });
}, 120_000);
afterAll(async () => t?.close());

it('the seeded days show their events, per day and per hour', async () => {
  for (const [bucket, from] of [
    ['day', T0 - 12 * DAY],
    ['hour', T0 - 2 * DAY],
  ] as const) {
    const res = await t.app.request(`/v1/stats?site=shop&bucket=${bucket}&from=${from}&to=${T0}`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as StatsResponse;
    const [stored] = await rows<{ n: number }>(
      t.storage,
      `select count(*) as n from events where site = 'shop' and bot = ${'false'} and ts >= ${stats.from} and ts < ${stats.to}`,
    );
    const shown = stats.activity.reduce((n, b) => n + b.events, 0);
    expect(Number(stored?.n), bucket).toBeGreaterThan(50);
    expect(shown, bucket).toBe(Number(stored?.n));
  }
});
