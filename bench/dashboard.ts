/**
 * The dashboard's reads on a seeded database (`microseg seed --visitors 100000`): the time of a
 * whole `GET /v1/stats` answer (30 days by day, 48 hours by hour; every query and the JSON) and of a
 * `GET /v1/visitors/:id` answer (first page), through the same code the routes call, no HTTP.
 * `npx tsx bench/dashboard.ts --db FILE|URL [--site demo] [--n 20] [--explain] [--catch-up]` prints
 * the median and p95 ms of each, with --explain the query plans of the hot statements, and with
 * --catch-up first rolls up every closed bucket not rolled up yet (a database seeded before the
 * rollup existed), timed. `--json FILE` also writes the figures as JSON: `npm run bench`'s
 * dashboard phase (bench/run.mjs) runs this bundled and reads them from there.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../collector/config/config.ts';
import type { Storage } from '../collector/storage/contract.ts';
import { openStorage } from '../collector/storage/open.ts';
import { sqliteHandle } from '../collector/storage/sqlite/index.ts';
import { siteStats, statsRange, visitorView } from '../collector/storage/stats.ts';
import { dayOf, rollupDue, snapshotSite } from '../collector/jobs/segment-sizes.ts';
import { audienceVisitorId } from './lib/workload.mjs';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    site: { type: 'string', default: 'demo' },
    n: { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
    visitors: { type: 'string', default: '100000' },
    explain: { type: 'boolean' },
    'catch-up': { type: 'boolean' },
    json: { type: 'string' },
  },
});
if (!values.db) {
  console.error(
    'usage: npx tsx bench/dashboard.ts --db FILE|URL [--site demo] [--n 20] [--explain]',
  );
  process.exit(2);
}
const N = Number(values.n);
const storage: Storage = await openStorage(values.db);
const site = loadConfig(process.env.MICROSEG_CONFIG).sites.get(values.site);
if (!site) throw new Error(`no site ${values.site}`);

/** Median and p95 (ms) of each timed answer, for --json. */
const results: Record<string, { median: number; p95: number; n: number }> = {};

async function time(name: string, fn: (i: number) => Promise<unknown>, n = N) {
  await fn(0); // warm: statements prepared, pages cached
  const ms: number[] = [];
  for (let i = 1; i <= n; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? Number.NaN;
  results[name] = { median: q(0.5), p95: q(0.95), n };
  console.log(
    `${name.padEnd(28)} median ${q(0.5).toFixed(1)} ms  p95 ${q(0.95).toFixed(1)} ms  (n=${n})`,
  );
}

const now = Date.now();
if (values['catch-up']) {
  // What the snapshot job does over its first ticks on a database seeded before the rollup existed.
  const t = performance.now();
  const n = await rollupDue(storage, site.id, now, Number.POSITIVE_INFINITY);
  await snapshotSite(storage, site, dayOf(now), now);
  console.log(`rollup catch-up: ${n} buckets in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
const stats = async (bucket: 'day' | 'hour') => {
  const range = statsRange({ bucket }, now);
  if (!range.ok) throw new Error(range.message);
  return JSON.stringify(await siteStats(storage, site, range.value, now));
};
const size = (await stats('day')).length;
console.log(`${storage.kind}: stats answer ${Math.round(size / 1024)} KiB`);
await time('GET /v1/stats 30 d by day', () => stats('day'));
await time('GET /v1/stats 48 h by hour', () => stats('hour'));
const visitors = Number(values.visitors);
const seed = Number(values.seed);
// A person answer is ~1 ms: ten times the runs (other visitors each), so one scheduler stall on a
// shared machine does not make the p95.
await time(
  'GET /v1/visitors/:id',
  async (i) => {
    const id = audienceVisitorId(seed, (i * 7919) % visitors);
    return JSON.stringify(
      await visitorView(storage, site, id, now, { limit: 50, historyLimit: 100 }),
    );
  },
  N * 10,
);

if (values.explain) {
  // The statements of a 30-day overview: the open day live, the rest from the rollup and sizes.
  const today = dayOf(now);
  const from = today - 29 * 86_400_000;
  const statements: [string, unknown[]][] = [
    [
      `SELECT start, metric, value FROM stats_rollup WHERE site = $1 AND bucket = $2 AND start >= $3 AND start < $4`,
      [site.id, 86_400_000, from, today + 86_400_000],
    ],
    [
      `SELECT day, kind, name, members FROM segment_sizes WHERE site = $1 AND day >= $2 AND day <= $3`,
      [site.id, from, today],
    ],
    [
      `SELECT count(DISTINCT visitor), count(DISTINCT contact), count(*) FROM events WHERE site = $1 AND ts >= $2 AND ts < $3 AND NOT bot`,
      [site.id, today, today + 86_400_000],
    ],
    [
      `SELECT count(*) FROM segment_changes WHERE site = $1 AND at >= $2 AND at < $3 AND kind = 'key'`,
      [site.id, today, today + 86_400_000],
    ],
    [
      `SELECT id FROM events WHERE site = $1 AND visitor = $2 ORDER BY ts DESC, id DESC LIMIT 50`,
      [site.id, audienceVisitorId(seed, 1)],
    ],
    [
      `SELECT seq FROM segment_changes WHERE site = $1 AND visitor = $2 AND seq > 0 ORDER BY seq LIMIT 100`,
      [site.id, audienceVisitorId(seed, 1)],
    ],
  ];
  for (const [sql, args] of statements) {
    console.log(`\n${sql}`);
    if (storage.kind === 'sqlite') {
      const plan = sqliteHandle(storage)
        .prepare(`EXPLAIN QUERY PLAN ${sql.replace(/\$\d/g, '?')}`)
        .all(...args) as { detail: string }[];
      for (const r of plan) console.log(`  ${r.detail}`);
    } else {
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: values.db });
      await client.connect();
      const res = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, args);
      for (const r of res.rows as { 'QUERY PLAN': string }[]) console.log(`  ${r['QUERY PLAN']}`);
      await client.end();
    }
  }
}
if (values.json) {
  writeFileSync(
    values.json,
    JSON.stringify({ backend: storage.kind, statsBytes: size, answers: results }),
  );
}
await storage.close();
