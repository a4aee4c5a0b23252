/**
 * The bench's own logic, not its timings (those are never asserted in tests): its figures are
 * computed right, its profile reader adds up, and its synthetic traffic is traffic the collector
 * accepts, so a bench run measures the real ingest path and not refusals.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchSchema, validateEvents } from '../../collector/ingest/validate.ts';

// The bench is plain ESM JavaScript; a computed specifier keeps the type checker out of it.
const lib = (name: string): Promise<any> => import(`../../bench/lib/${name}.mjs`);

describe('bench figures', () => {
  it('summarizes latencies by nearest rank and rates per second', async () => {
    const { summarize, quantile } = await lib('stats');
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
    const s = summarize(xs, 2);
    expect(s).toMatchObject({ requests: 100, rps: 50, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(quantile(new Float64Array([]), 0.5)).toBeNaN();
  });

  it('gives PASS/MISS per target, and n/a for what a run did not measure', async () => {
    const { verdicts } = await lib('stats');
    const v = verdicts({
      ratios: { ingest1: 0.79, reads: 0.9, readsP99: 1.2 },
      small: { stored: 10_000, visitors: 949, reads: { p99: 9.5 }, ingest10: { rps: 2_000 } },
      deep: { stored: 1_000_000, visitors: 949 },
      large: { stored: 1_000_000, visitors: 95_235 },
      depth: { readsCost: 0.11 },
      depthUncached: { readsCost: 0.3 },
      breadth: { readsCost: 0.6 },
      peakRssMB: null,
    });
    expect(v.map((x: { pass: boolean | null }) => x.pass)).toEqual([
      true, // ingest 0.79× ≥ 0.5× bare Hono POST
      false, // 10 events/request: 20,000 events/s < 30,000
      true,
      true, // p99 1.2× the baseline's ≤ 1.5×
      false, // +11% > 10%
      true, // +30% ≤ 50% with the cache off
      null,
      null,
      null,
    ]);
    expect(v[1]).toMatchObject({ value: 20_000 });
    // The growth target is history per visitor (small → deep); more visitors is informational.
    expect(v[4].name).toContain(
      '10k → 1M stored events, history per visitor ~11 → ~1054 (same visitors)',
    );
    expect(v[7]).toMatchObject({ op: 'info', value: 0.6 });
    expect(v[7].name).toContain('100× the visitors (cache working set)');
    expect(v[8]).toMatchObject({ op: 'info', value: null });
  });

  it('costs a history as the slowdown per request, reads judged by the worse of req/s and p50', async () => {
    const { historyCost } = await lib('stats');
    const a = { reads: { rps: 10_000, p50: 4, p99: 10 }, ingest1: { rps: 5_000 } };
    const g = historyCost(a, { reads: { rps: 8_000, p50: 6, p99: 10 }, ingest1: { rps: 4_000 } });
    expect(g.readsRps).toBeCloseTo(0.25);
    expect(g.readsP50).toBeCloseTo(0.5);
    expect(g.readsP99).toBeCloseTo(0);
    expect(g.ingestRps).toBeCloseTo(0.25);
    expect(g.readsCost).toBeCloseTo(0.5);
    // Faster is a negative cost; a pair without ingest (the cache-off reads) costs reads only.
    const h = historyCost({ reads: a.reads }, { reads: { rps: 12_500, p50: 3.9, p99: 9 } });
    expect(h.readsCost).toBeCloseTo(-0.025);
    expect(h.ingestRps).toBeNull();
    expect(historyCost(a, { ingest1: a.ingest1 })).toBeNull();
    expect(historyCost(undefined, a)).toBeNull();
  });

  it('prints each history with its visitors, the depth and breadth costs and info rows without a verdict', async () => {
    const { formatReport, historyCost, verdicts } = await lib('stats');
    const phase = (rps: number, p50: number) => ({ rps, p50, p99: p50 * 3 });
    const small = {
      stored: 10_000,
      visitors: 949,
      reads: phase(10_000, 4),
      uncached: phase(6_000, 7),
      ingest1: phase(5_000, 9),
      peakRssMB: 120,
    };
    const deep = {
      stored: 1_000_000,
      visitors: 949,
      reads: phase(9_000, 4.2),
      ingest1: phase(4_000, 11),
      peakRssMB: 130,
    };
    const large = {
      stored: 1_000_000,
      visitors: 95_235,
      reads: phase(6_000, 7),
      uncached: phase(5_000, 8),
      peakRssMB: 150,
      ingest1: phase(4_500, 10),
    };
    const r: any = {
      machine: { cores: 2, cpu: 'x', memGB: 1, node: 'v20', platform: 'linux' },
      options: { connections: 50, warmup: 2, duration: 10 },
      small: { ...small, reads: { ...small.reads, serverCpu: 0.95, loadCpu: 0.6 } },
      deep,
      large,
      baseline: { get: phase(20_000, 2), getNode: phase(30_000, 1.5) },
      // As run.mjs computes them: over bare Hono, and over bare node:http.
      ratios: { reads: 0.5 },
      ratiosNode: { reads: 1 / 3, honoGet: 2 / 3 },
      depth: historyCost(small, deep),
      breadth: historyCost(small, large),
      breadthUncached: historyCost({ reads: small.uncached }, { reads: large.uncached }),
      peakRssMB: 150,
    };
    r.targets = verdicts(r);
    const out = formatReport(r);
    expect(out).toContain('| segment reads | deep | 1M | 949 | 9000 |');
    expect(out).toContain('| baseline GET (bare node:http, JSON) |  |  |  | 30000 |');
    expect(out).toMatch(
      /\| segment reads \| small \| 10k \| 949 \| 10000 \|[^\n]*\| 0\.50× \| 0\.33× \| 95% \| 60% \|/,
    );
    expect(out).toContain('| segment reads, profile cache off | large | 1M | 95.2k | 5000 |');
    expect(out).toContain(
      'history depth (the target): 10k → 1M events on the same 949 visitors (~11 → ~1054 each)',
    );
    expect(out).toContain('reads time per request +11.1%');
    expect(out).toContain('visitor breadth (informational): 949 → 95.2k visitors');
    expect(out).toContain('MISS  reads cost of 10k → 1M stored events');
    expect(out).toMatch(
      /info {2}reads with 100× the visitors \(cache working set\), 10k → 1M stored events: \+75\.0%\n/,
    );
    expect(out).toContain(
      'info  reads with 100× the visitors, profile cache off (SQLite alone): +20.0%',
    );
    expect(out).toContain(
      'collector peak RSS (VmHWM): 150.0 MB (small 120.0, deep 130.0, large 150.0)',
    );
  });

  it('reads a cpuprofile: self time, and total time counted once per stack', async () => {
    const { summarizeProfile } = await lib('cpuprofile');
    const frame = (functionName: string, url = 'file:///x/dist/collector.mjs') => ({
      functionName,
      url,
      lineNumber: 0,
      columnNumber: 0,
      scriptId: '1',
    });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
        { id: 2, callFrame: frame('handler'), children: [3] },
        { id: 3, callFrame: frame('get', 'file:///x/node_modules/better-sqlite3/lib/x.js') },
        { id: 4, callFrame: frame('(idle)', '') },
      ],
      // A sample's time is the delta that follows it: 3 → 3 ms, 2 → 1 ms, 4 → 6 ms (idle).
      samples: [3, 2, 4, 3],
      timeDeltas: [0, 3000, 1000, 6000],
    };
    const s = summarizeProfile(profile);
    expect(s.busyMs).toBe(4);
    expect(s.areas).toMatchObject({ sqlite: 3, collector: 1, idle: 6 });
    expect(s.self[0]).toMatchObject({ ms: 3, busyPct: 75 });
    expect(s.self[0].fn).toContain('better-sqlite3');
    expect(s.total.find((f: { fn: string }) => f.fn.startsWith('handler'))).toMatchObject({
      ms: 4,
      busyPct: 100,
    });
  });
});

describe('bench dashboard phase', () => {
  it("judges the overview and person p95 against issue 17's bars (300 ms, 50 ms) and prints both", async () => {
    const { formatReport, verdicts } = await lib('stats');
    const r: Record<string, unknown> = {
      machine: { cores: 2, cpu: 'x', memGB: 4, node: 'v20', loadavgAtStart: [0, 0, 0] },
      options: { duration: 10, warmup: 2, connections: 50 },
      dashboard: {
        visitors: 100_000,
        events: 1_150_000,
        seedSeconds: null,
        statsBytes: 30_000,
        overview: { median: 120, p95: 310, n: 30 },
        hours: { median: 8, p95: 12, n: 30 },
        person: { median: 1, p95: 3, n: 30 },
      },
    };
    r.targets = verdicts(r);
    const dash = (r.targets as { name: string; pass: boolean | null }[]).filter((t) =>
      t.name.startsWith('dashboard'),
    );
    expect(dash.map((t) => t.pass)).toEqual([false, true]);
    expect(dash[0]?.name).toContain('100k visitors / 1.15M events');
    const text = formatReport(r);
    expect(text).toContain('overview (stats 30 d by day, 29 KiB) 120.0 ms median, p95 310.0 ms');
    expect(text).toContain('person 1.0 ms median, p95 3.0 ms');
  });
});

describe('bench goals phase', () => {
  const goals = (over: Record<string, unknown> = {}) => ({
    goal: { name: 'camera-buyer', event: 'purchase', category: 'cameras', within: '7d' },
    visitors: 100_000,
    events: 1_850_000,
    seedSeconds: 95,
    training: {
      status: 'model',
      rowsRead: 1_850_000,
      visitors: 100_000,
      truncated: false,
      readMs: 20_000,
      totalMs: 61_000,
      examples: 400_000,
      auc: 0.9,
      brier: 0.04,
      lift: 6.5,
      heuristicAuc: 0.77,
      peakRssMB: 900,
      loadavg: 1.5,
    },
    scoring: { profiles: 5000, evaluations: 300_000, withoutUs: 2.1, withUs: 3.4, addedUs: 1.3 },
    serving: {
      rate: 1000,
      connections: 50,
      warmup: 2,
      duration: 10,
      reads: { p50Ratio: 1.02, p99Ratio: 1.08, rpsRatio: 1, pairs: [] },
      ingest1: { p50Ratio: 1.3, p99Ratio: 2.5, rpsRatio: 0.99, pairs: [] },
    },
    ...over,
  });

  it("judges the training time and both p99 ratios against issue 20's bars (60 s, 1.1×) and prints them", async () => {
    const { formatReport, verdicts } = await lib('stats');
    const r: Record<string, unknown> = {
      machine: { cores: 2, cpu: 'x', memGB: 4, node: 'v20', loadavgAtStart: [0, 0, 0] },
      options: { duration: 10, warmup: 2, connections: 50 },
      goals: goals(),
    };
    r.targets = verdicts(r);
    const rows = (r.targets as { name: string; pass: boolean | null }[]).filter(
      (t) => t.name.startsWith('goal training') || t.name.includes('with a training'),
    );
    expect(rows.map((t) => t.pass)).toEqual([false, true, false]);
    const scoring = (r.targets as { name: string; pass: boolean | null }[]).find((t) =>
      t.name.includes('scoring'),
    );
    expect(scoring).toMatchObject({ pass: true, value: 1.3, limit: 5 });
    expect(rows[0]?.name).toContain('100k visitors / 1.85M events read');
    const text = formatReport(r);
    expect(text).toContain('training 61.0 s (read 20.0 s, 1.85M rows of 100k visitors');
    expect(text).toContain('AUC 0.900, Brier 0.0400, top-decile lift 6.50');
    expect(text).toContain('segment reads: p50 1.02×, p99 1.08×, req/s 1.00× (medians of 0 pairs)');
    expect(text).toContain('evaluate() 2.10 µs without goals, 3.40 µs with');
    expect(text).toContain(': +1.30 µs');
    // A phase run without its loads judges the training alone.
    const alone = verdicts({ goals: goals({ serving: undefined }) }).filter((t: { name: string }) =>
      t.name.includes('with a training'),
    );
    expect(alone.map((t: { pass: boolean | null }) => t.pass)).toEqual([null, null]);
  });

  it('seeds a planted-signal shop through the storage, trains its goal, and reuses the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'microseg-goals-'));
    try {
      const db = join(dir, 'goals.db');
      const run = () => {
        const json = join(dir, 'out.json');
        const r = spawnSync(
          process.execPath,
          ['--import', 'tsx', 'bench/goals.ts', '--db', db, '--visitors', '300', '--no-load'],
          { encoding: 'utf8', env: { ...process.env, MICROSEG_CONFIG: '', MICROSEG_DB: '' } },
        );
        expect(r.status, r.stderr).toBe(0);
        const again = spawnSync(
          process.execPath,
          ['--import', 'tsx', 'bench/goals.ts', '--db', db, '--no-load', '--json', json],
          { encoding: 'utf8', env: { ...process.env, MICROSEG_CONFIG: '', MICROSEG_DB: '' } },
        );
        expect(again.status, again.stderr).toBe(0);
        expect(again.stderr).toContain('reusing');
        return { first: r.stdout, out: JSON.parse(readFileSync(json, 'utf8')) };
      };
      const { first, out } = run();
      expect(first).toMatch(/training camera-buyer: \d+ rows of \d+ visitors read/);
      // Every visitor seeded has a profile; the reused file is trained on all of them.
      expect(out.seedSeconds).toBeNull();
      expect(out.visitors).toBeGreaterThan(290);
      expect(out.training).toMatchObject({ status: 'model', truncated: false });
      expect(out.training.visitors).toBe(out.visitors);
      expect(out.training.rowsRead).toBe(out.events);
      // The planted signal is found (a looser bar than test/goals' at 5,000 visitors).
      expect(out.training.auc).toBeGreaterThan(0.7);
      expect(out.serving).toBeUndefined();
      // The trained model scored on the file's profiles: evaluate() answers the goal by it.
      expect(out.scoring.sample).toMatchObject({ source: 'model' });
      expect(out.scoring.addedUs).toEqual(expect.any(Number));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bench workload', () => {
  it('names the same visitors in every process, like the snippet ids', async () => {
    const { visitorId, visitorsFor, eventsOfVisitor } = await lib('workload');
    expect(visitorId(7)).toBe(visitorId(7));
    expect(visitorId(7)).not.toBe(visitorId(8));
    expect(batchSchema.shape.visitor.safeParse(visitorId(7)).success).toBe(true);
    const n = visitorsFor(10_000);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += eventsOfVisitor(i);
    expect(sum).toBeGreaterThanOrEqual(10_000);
    expect(sum - eventsOfVisitor(n - 1)).toBeLessThan(10_000);
  });

  it('sends batches the collector accepts whole (no refusals, unique ids)', async () => {
    const { collectBody, idGenerator, prng, seededHistory } = await lib('workload');
    const nextId = idGenerator();
    const rnd = prng(3);
    const now = Date.now();
    for (const size of [1, 10]) {
      const body = JSON.parse(collectBody(nextId, rnd, 'v1', size, now));
      expect(batchSchema.safeParse(body).success).toBe(true);
      const { valid, refused } = validateEvents(body.events, now);
      expect(refused).toEqual([]);
      expect(valid).toHaveLength(size);
    }
    const history = seededHistory(nextId, rnd, 19, now);
    expect(validateEvents(history, now).refused).toEqual([]);
    expect(new Set(history.map((e: { id: string }) => e.id)).size).toBe(history.length);
    // A deep history: the count asked for, oldest first, within the days asked for.
    const deep = seededHistory(nextId, rnd, 3, now, 250, 30);
    expect(deep).toHaveLength(250);
    expect(validateEvents(deep.slice(0, 100), now).refused).toEqual([]);
    const ts = deep.map((e: { ts: number }) => e.ts);
    expect(ts).toEqual([...ts].sort((x, y) => x - y));
    expect(ts[0]).toBeGreaterThan(now - 30 * 86_400_000);
  });

  it('spreads a deep history evenly over exactly the visitors asked for', async () => {
    const { eventsSpread } = await lib('workload');
    const counts = Array.from({ length: 949 }, (_, i) => eventsSpread(i, 1_000_000, 949));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1_000_000);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });
});

describe('bench/run.mjs', () => {
  it('prints its usage, and refuses an unknown phase', () => {
    const help = spawnSync(process.execPath, ['bench/run.mjs', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--only LIST');
    expect(help.stdout).toContain('deep ');
    expect(help.stdout).toContain('dashboard ');
    expect(help.stdout).toContain('--dashboard-full');
    expect(help.stdout).toContain('goals ');
    expect(help.stdout).toContain('--goals-full');
    const bad = spawnSync(process.execPath, ['bench/run.mjs', '--only', 'nope'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown phase "nope"');
  });

  it('seeds a deep history through the storage layer: the events spread over exactly --visitors profiles', () => {
    const dir = mkdtempSync(join(tmpdir(), 'microseg-seed-'));
    try {
      const db = join(dir, 'deep.db');
      const seeded = spawnSync(
        process.execPath,
        ['bench/seed.mjs', '--db', db, '--events', '450', '--visitors', '3'],
        { encoding: 'utf8' },
      );
      expect(seeded.status, seeded.stderr).toBe(0);
      expect(JSON.parse(seeded.stdout)).toMatchObject({ events: 450, visitors: 3 });
      const sqlite = new Database(db, { readonly: true });
      const counts = sqlite
        .prepare("SELECT json_extract(data, '$.count') FROM profiles ORDER BY 1")
        .pluck()
        .all();
      sqlite.close();
      expect(counts).toEqual([150, 150, 150]);
      const bad = spawnSync(
        process.execPath,
        ['bench/seed.mjs', '--db', db, '--events', '10', '--visitors', '0'],
        { encoding: 'utf8' },
      );
      expect(bad.status).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
