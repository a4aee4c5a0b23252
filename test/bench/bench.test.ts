/**
 * The bench's own logic, not its timings (those are never asserted in tests): its figures are
 * computed right, its profile reader adds up, and its synthetic traffic is traffic the collector
 * accepts, so a bench run measures the real ingest path and not refusals.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { batchSchema, validateEvents } from '../../collector/validate.ts';

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
      ratios: { ingest1: 0.79, reads: 0.9 },
      small: { stored: 10_000, reads: { p99: 9.5 } },
      large: { stored: 1_000_000 },
      growth: { readsCost: 0.21 },
      peakRssMB: null,
    });
    expect(v.map((x: { pass: boolean | null }) => x.pass)).toEqual([false, true, true, false, null]);
    expect(v[3].name).toContain('10k → 1M');
  });

  it('reads a cpuprofile: self time, and total time counted once per stack', async () => {
    const { summarizeProfile } = await lib('cpuprofile');
    const frame = (functionName: string, url = 'file:///x/dist/collector.mjs') => ({ functionName, url, lineNumber: 0, columnNumber: 0, scriptId: '1' });
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
    expect(s.total.find((f: { fn: string }) => f.fn.startsWith('handler'))).toMatchObject({ ms: 4, busyPct: 100 });
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
  });
});

describe('bench/run.mjs', () => {
  it('prints its usage, and refuses an unknown phase', () => {
    const help = spawnSync(process.execPath, ['bench/run.mjs', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--only LIST');
    const bad = spawnSync(process.execPath, ['bench/run.mjs', '--only', 'nope'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown phase "nope"');
  });
});
