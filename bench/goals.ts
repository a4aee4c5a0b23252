/**
 * The goals phase of `npm run bench` (issue 20, "Speed"), on a synthetic shop with a planted
 * signal, in one process that is the collector:
 *
 * 1. **training**: the site (`--visitors`, 8 weeks) is written into a SQLite file through the
 *    storage (`tx.ingest`, many visitors a write job, as bench/seed.mjs), or the file is reused
 *    when it holds the site already; then `trainGoal` (collector/goals/trainer.ts, its child
 *    process, as the collector's schedule runs it) trains the goal `camera-buyer` and its rows
 *    read, visitors, read and total ms, AUC, Brier and lift are printed.
 * 3. **scoring** (run second: no load): `evaluate()` on the file's profiles with the site's engine
 *    config without goals and with the trained model in `engine.goals` (a `ServedGoal`, as
 *    goals/runtime.ts puts it in force), many rounds each way: µs per evaluation and the difference.
 * 2. **serving while training**: the collector (`start`, real HTTP on 127.0.0.1) on a copy of
 *    that file (the loads' ingest stays out of the file a later run reuses), loaded by
 *    bench/load.mjs in its own process: segment reads, then one-event ingest, each measured for
 *    `--duration` s without a training and for as long with `trainGoal` running in this process
 *    (one starts as the measured window opens, another whenever one ends), in `--pairs` pairs
 *    (their order alternates); p50, p99 and req/s of both, and the ratios. The load is held at
 *    `--rate` requests per second (default 1,000, under what the collector answers here), so a
 *    latency is the collector's and not a queue's; `--rate 0` loads it as fast as it answers, as
 *    the other phases do, where any CPU the training takes shows as queueing.
 *
 * `npx tsx bench/goals.ts --db FILE [--visitors 20000] [--pairs 3] [--duration 10] [--warmup 2]
 * [--connections 50] [--rate 1000] [--loads reads,ingest1] [--no-load] [--json FILE]`;
 * `node bench/run.mjs --only goals` runs it bundled
 * (bench/run.mjs's usage says which flags). Progress goes to stderr, the figures to stdout.
 */
import { fork } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../collector/config/config.ts';
import type { EngineConfig } from '../collector/engine/config.ts';
import { evaluate } from '../collector/engine/evaluate.ts';
import type { Profile } from '../collector/engine/profile.ts';
import type { Goal } from '../collector/goals/goal.ts';
import { trustedModel } from '../collector/goals/runtime.ts';
import { rollupDue } from '../collector/jobs/segment-sizes.ts';
import type { ServedGoal } from '../collector/goals/serve.ts';
import { type StoredReport, trainGoal, trainingProcess } from '../collector/goals/trainer.ts';
import { optionsFromEnv, start } from '../collector/http/server.ts';
import type { NewEvent, Storage } from '../collector/storage/contract.ts';
import { openStorage } from '../collector/storage/open.ts';
import { sqliteHandle } from '../collector/storage/sqlite/index.ts';
import { LIMITS } from '../shared/limits.ts';
import { summarize } from './lib/stats.mjs';
import { prng, SITE, visitorId } from './lib/workload.mjs';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    visitors: { type: 'string', default: '20000' },
    pairs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    rate: { type: 'string', default: '1000' },
    loads: { type: 'string', default: 'reads,ingest1' },
    'no-load': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const USAGE =
  'usage: npx tsx bench/goals.ts --db FILE [--visitors 20000] [--pairs 3] [--duration 10] [--warmup 2] [--connections 50] [--rate 1000] [--loads reads,ingest1] [--no-load] [--json FILE]';
const positive = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`goals: --${name} must be a positive number\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
if (!values.db) {
  console.error(USAGE);
  process.exit(2);
}
const DB = values.db;
const VISITORS = Math.floor(positive('visitors', values.visitors));
const PAIRS = Math.floor(positive('pairs', values.pairs));
const DURATION = positive('duration', values.duration);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Math.floor(positive('connections', values.connections));
/** Requests per second of each load, 0: as fast as the collector answers (the other phases' way). */
const RATE = Number(values.rate);
if (!Number.isFinite(RATE) || RATE < 0) {
  console.error(`goals: --rate must be a number ≥ 0\n${USAGE}`);
  process.exit(2);
}

const DAY = 86_400_000;
const WEEKS = 8;
const GOAL_NAME = 'camera-buyer';
const GOAL: Goal = { event: 'purchase', category: 'cameras', within: '7d' };

const log = (msg: string) =>
  process.stderr.write(`[goals ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const load1 = () => +(loadavg()[0] ?? 0).toFixed(2);

/**
 * One visitor's 8 weeks, as test/goals/synthetic.ts plants the signal: each week it is active
 * with probability 0.5 (a quarter of a real shop's visitors come back in a given week; the test's
 * 0.75 makes 100k visitors 2.76M events, past the 2M rows a training reads), clicks a discount
 * email with probability 0.3 at the week's start, views 0–5 camera pages and 0–4 others; with 3+
 * camera views and the click it buys a camera within the next 7 days with probability 0.6, else
 * 0.05. Oldest first, ids unique per visitor.
 */
function visitorEvents(i: number, r: () => number, end: number): NewEvent[] {
  const start = end - WEEKS * 7 * DAY;
  const events: NewEvent[] = [];
  const others = ['shoes', 'books', 'garden'];
  const first = Math.floor(r() * 2);
  const at = (ts: number) => Math.round(ts);
  for (let w = first; w < WEEKS; w++) {
    const week = start + w * 7 * DAY;
    if (r() < 0.5) continue;
    const clicked = r() < 0.3;
    if (clicked)
      events.push({
        id: '',
        type: 'email_click',
        ts: at(week + r() * DAY * 0.5),
        utm: { source: 'newsletter', medium: 'email', campaign: 'spring-discount' },
      });
    const cams = Math.floor(r() * 6);
    for (let k = 0; k < cams; k++)
      events.push({
        id: '',
        type: 'page_view',
        ts: at(week + DAY * (0.5 + r() * 6.4)),
        category: 'cameras',
      });
    const other = Math.floor(r() * 5);
    for (let k = 0; k < other; k++)
      events.push({
        id: '',
        type: 'page_view',
        ts: at(week + DAY * (0.5 + r() * 6.4)),
        category: others[Math.floor(r() * 3)] ?? 'shoes',
      });
    const p = cams >= 3 && clicked ? 0.6 : 0.05;
    if (r() < p && week + 7 * DAY < end)
      events.push({
        id: '',
        type: 'purchase',
        ts: at(week + 7 * DAY + r() * 6.9 * DAY),
        category: 'cameras',
        value: 300,
        currency: 'EUR',
      });
  }
  events.sort((a, b) => a.ts - b.ts);
  events.forEach((e, k) => {
    e.id = `g${i.toString(36)}-${k.toString(36)}`;
  });
  return events;
}

/** Visitors per write job: ~9k events, a few hundred ms of one transaction. */
const PER_JOB = 500;

/**
 * The site into `storage`, the data ending at `end`: each visitor's history one `tx.ingest` (in
 * browser-sized batches), PER_JOB visitors a write job, so profiles are what the collector would
 * have folded. Returns the events stored.
 */
async function seed(storage: Storage, end: number): Promise<number> {
  const engine = siteConfig().engine;
  const r = prng(2026);
  let stored = 0;
  for (let from = 0; from < VISITORS; from += PER_JOB) {
    const to = Math.min(VISITORS, from + PER_JOB);
    // Made outside the job: a job may run again (contract.ts), with the same rows.
    const batches: [string, NewEvent[]][] = [];
    for (let i = from; i < to; i++) {
      const events = visitorEvents(i, r, end);
      for (let k = 0; k < events.length; k += LIMITS.batchEvents)
        batches.push([visitorId(i), events.slice(k, k + LIMITS.batchEvents)]);
    }
    stored += await storage.write(async (tx) => {
      let n = 0;
      for (const [visitor, batch] of batches)
        n += (await tx.ingest(SITE, visitor, batch, engine, end)).accepted;
      return n;
    });
    if (to % 10_000 === 0 || to === VISITORS) log(`  ${to} visitors, ${stored} events`);
  }
  return stored;
}

function siteConfig() {
  const site = loadConfig(undefined).sites.get(SITE);
  if (!site) throw new Error(`no site ${SITE} in the zero config`);
  return site;
}

/** What the file holds: its visitors, events, and when the seeded data ends (their `received`). */
function seeded(storage: Storage): { visitors: number; events: number; end: number | null } {
  const db = sqliteHandle(storage);
  const row = db
    .prepare('SELECT count(*) AS events, min(received) AS end FROM events WHERE site = ?')
    .get(SITE) as { events: number; end: number | null };
  const { visitors } = db
    .prepare('SELECT count(*) AS visitors FROM profiles WHERE site = ?')
    .get(SITE) as { visitors: number };
  return { visitors, events: row.events, end: row.end };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** Peak resident set of this process (or of `pid`: the training's child), MB. */
function peakRssMB(pid: number | 'self' = 'self'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
  } catch {
    return Number.NaN; // the child ended
  }
}

const out: Record<string, unknown> = { goal: { name: GOAL_NAME, ...GOAL } };

// ---------- 1. the site, then one training ----------

let storage = await openStorage(DB);
let site = seeded(storage);
let end: number;
if (site.end === null) {
  end = Date.now();
  log(`seeding ${VISITORS} visitors over ${WEEKS} weeks into ${DB} (load average ${load1()})`);
  const t = performance.now();
  const events = await seed(storage, end);
  sqliteHandle(storage).pragma('wal_checkpoint(TRUNCATE)');
  const seconds = (performance.now() - t) / 1000;
  log(`  seeded ${events} events in ${seconds.toFixed(1)} s`);
  out.seedSeconds = seconds;
  site = seeded(storage);
} else {
  end = site.end;
  log(`reusing ${DB}: ${site.visitors} visitors, ${site.events} events (--visitors not checked)`);
  out.seedSeconds = null;
}
out.visitors = site.visitors;
out.events = site.events;
out.end = end;
// The stats rolled up (kept in the file: once), as a collector that has run on these events keeps
// them: else the served collector's first windows would hold its catch-up (seconds at 100k).
const rolled = await rollupDue(storage, SITE, Date.now(), Number.POSITIVE_INFINITY);
if (rolled > 0) {
  sqliteHandle(storage).pragma('wal_checkpoint(TRUNCATE)');
  log(`  rolled up ${rolled} hours and days of stats`);
}

const config = siteConfig();
log(`training ${GOAL_NAME} (child process), load average ${load1()}`);
const rssBefore = peakRssMB();
let childRss = 0;
const sampler = setInterval(() => {
  const pid = trainingProcess()?.pid;
  if (pid !== undefined) childRss = Math.max(childRss, peakRssMB(pid) || 0);
}, 100);
const trained: StoredReport = await trainGoal(storage, config, GOAL_NAME, GOAL, { now: end });
clearInterval(sampler);
const h = trained.holdout;
out.training = {
  status: trained.status,
  rowsRead: trained.rowsRead,
  visitors: trained.visitors,
  truncated: trained.truncated,
  readMs: trained.readMs,
  totalMs: trained.totalMs,
  fitMs: trained.tookMs,
  examples: trained.train.examples + trained.calibration.examples + (h?.examples ?? 0),
  features: trained.features,
  auc: h?.auc ?? null,
  brier: h?.brier ?? null,
  calibrationError: h?.calibrationError ?? null,
  lift: h?.topDecileLift ?? null,
  heuristicAuc: trained.heuristic?.auc ?? null,
  peakRssMB: Math.max(rssBefore, peakRssMB()),
  trainerPeakRssMB: childRss,
  loadavg: load1(),
};
console.log(
  `training ${GOAL_NAME}: ${trained.rowsRead} rows of ${trained.visitors} visitors read in ${trained.readMs} ms${trained.truncated ? ' (TRUNCATED at a bound)' : ''}, ${trained.totalMs} ms in all; ` +
    `AUC ${h?.auc?.toFixed(3) ?? '-'}, Brier ${h?.brier.toFixed(4) ?? '-'}, top-decile lift ${h?.topDecileLift?.toFixed(2) ?? '-'} ` +
    `(intent heuristic AUC ${trained.heuristic?.auc?.toFixed(3) ?? '-'}); peak RSS ${peakRssMB().toFixed(0)} MB (the training's process ${childRss.toFixed(0)} MB)`,
);
// ---------- 3. what scoring one goal adds to evaluate() ----------

/**
 * `evaluate()` on the file's own profiles with the site's engine config as it is (no goals) and
 * with this goal's trained model in `engine.goals` (as goals/runtime.ts puts it in force), at the
 * moment the data ends: ROUNDS rounds, each timing PASSES passes over the profiles with either
 * config (the order alternating by round), µs per evaluation; the medians of the rounds, and the
 * median of the rounds' differences. On this thread, nothing else running.
 */
async function scoringCost(): Promise<Record<string, unknown> | null> {
  const model = trustedModel(GOAL, await storage.goals.model(SITE, GOAL_NAME));
  if (model === null) return null;
  const profiles: { visitor: string; profile: Profile }[] = [];
  let after = '';
  while (profiles.length < SCORED_PROFILES) {
    const page = await storage.scanProfiles(SITE, after, 1000, { traits: false, columns: false });
    const last = page[page.length - 1];
    if (last === undefined) break;
    for (const x of page) if (x.profile) profiles.push({ visitor: x.visitor, profile: x.profile });
    after = last.visitor;
  }
  const plain: EngineConfig = { ...config.engine, goals: undefined };
  const served: ServedGoal = { name: GOAL_NAME, goal: GOAL, model, public: false };
  const scored: EngineConfig = { ...config.engine, goals: [served] };
  let sink = 0;
  const pass = (engine: EngineConfig): number => {
    const t = performance.now();
    for (let k = 0; k < PASSES; k++)
      for (const { visitor, profile } of profiles) {
        const segment = evaluate(profile, { site: SITE, visitor, known: false }, engine, end);
        sink += segment.segment.length + (segment.goals ? 1 : 0);
      }
    return ((performance.now() - t) * 1000) / (PASSES * profiles.length);
  };
  pass(plain);
  pass(scored); // warm: both paths compiled
  const without: number[] = [];
  const withGoal: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      without.push(pass(plain));
      withGoal.push(pass(scored));
    } else {
      withGoal.push(pass(scored));
      without.push(pass(plain));
    }
  }
  // One scored answer for the record: the goal is answered, by the model.
  const first = profiles[0];
  const sample = first
    ? evaluate(first.profile, { site: SITE, visitor: first.visitor, known: false }, scored, end)
        .goals?.[GOAL_NAME]
    : undefined;
  return {
    profiles: profiles.length,
    evaluations: ROUNDS * PASSES * profiles.length,
    withoutUs: median(without),
    withUs: median(withGoal),
    addedUs: median(without.map((w, i) => (withGoal[i] ?? Number.NaN) - w)),
    sample: sample ?? null,
    sink: sink > 0,
  };
}
const SCORED_PROFILES = 5000;
const PASSES = 4;
const ROUNDS = 15;

log(`scoring: evaluate() without and with the goal's model, load average ${load1()}`);
const scoring = await scoringCost();
out.scoring = scoring;
if (scoring)
  console.log(
    `scoring: evaluate() ${Number(scoring.withoutUs).toFixed(2)} µs without goals, ${Number(scoring.withUs).toFixed(2)} µs with ${GOAL_NAME}'s model: +${Number(scoring.addedUs).toFixed(2)} µs (median of ${ROUNDS} rounds over ${scoring.profiles} profiles)`,
  );
else console.log('scoring: no trusted model (the intent heuristic serves), not measured');

sqliteHandle(storage).pragma('wal_checkpoint(TRUNCATE)');
await storage.close();

// ---------- 2. reads and ingest with and without a training ----------

/** bench/load.mjs, found from this module whether it runs from source or bundled. */
function loadScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const f of [join(dir, 'load.mjs'), join(dir, 'bench', 'load.mjs')])
      if (existsSync(f)) return f;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('bench/load.mjs not found');
    dir = parent;
  }
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  /** Trainings started in the measured window (the last may end after it). */
  trainings?: number;
  /** The collector thread's longest pause and p99 event-loop delay in the window, ms. */
  loopMaxMs: number;
  loopP99Ms: number;
}

if (!values['no-load']) {
  // The loads serve a copy: their ingest adds events (~50k a run), which a reused file would
  // keep, and the next run's training would read (at 100k visitors, past the 2M-row bound).
  const copyDir = mkdtempSync(join(tmpdir(), 'microseg-goals-'));
  const served = join(copyDir, 'served.db');
  copyFileSync(DB, served);
  const running = await start({
    ...optionsFromEnv({
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      MICROSEG_DB: served,
      // As bench/run.mjs's collectors: the limiters on but never tripped by the one address.
      MICROSEG_RATE_IP: '1000000000',
      MICROSEG_RATE_VISITOR: '1000000000',
      MICROSEG_CONNECTIONS_PER_IP: '1000000000',
    }),
    demo: false,
  });
  storage = running.storage;
  const loader = fork(loadScript(), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  /** One load run; `during` is started when its measured window opens, and awaited after it. */
  const measure = (
    job: Record<string, unknown>,
    during?: (window: Promise<void>) => Promise<number>,
  ): Promise<Measured> =>
    new Promise((ok, fail) => {
      let trainings: Promise<number> | undefined;
      const delay = monitorEventLoopDelay({ resolution: 1 });
      let closeWindow = () => {};
      const window = new Promise<void>((r) => {
        closeWindow = r;
      });
      const onMessage = async (m: {
        measuring?: boolean;
        ok?: boolean;
        error?: string;
        latencies: Float64Array;
        seconds: number;
        errors: number;
        statuses: Record<string, number>;
      }) => {
        if (m.measuring) {
          delay.enable();
          trainings = during?.(window);
          // Seen when the window closes; until then a failed training must not go unhandled.
          trainings?.catch(() => {});
          return;
        }
        loader.off('message', onMessage);
        delay.disable();
        closeWindow();
        if (!m.ok) return fail(new Error(m.error));
        const s = summarize(m.latencies, m.seconds);
        const bad = Object.entries(m.statuses).filter(([code]) => Number(code) >= 400);
        let started: number | undefined;
        try {
          started = trainings ? await trainings : undefined;
        } catch (err) {
          return fail(err);
        }
        ok({
          rps: s.rps,
          p50: s.p50,
          p99: s.p99,
          requests: s.requests,
          errors: m.errors + bad.reduce((a, [, n]) => a + n, 0),
          loopMaxMs: delay.max / 1e6,
          loopP99Ms: delay.percentile(99) / 1e6,
          ...(started === undefined ? {} : { trainings: started }),
        });
      };
      loader.on('message', onMessage);
      loader.send({
        url: running.url,
        visitors: site.visitors,
        connections: CONNECTIONS,
        duration: DURATION,
        warmup: WARMUP,
        seed: 11,
        ...(RATE > 0 ? { rate: RATE } : {}),
        ...job,
      });
    });
  /** Trainings one after another until the window closes; how many started. */
  const trainThrough = async (window: Promise<void>): Promise<number> => {
    let open = true;
    void window.then(() => {
      open = false;
    });
    let n = 0;
    while (open) {
      n++;
      await trainGoal(storage, config, GOAL_NAME, GOAL, { now: end });
    }
    return n;
  };
  const wanted = (values.loads ?? '').split(',').map((x) => x.trim());
  const loads = (
    [
      ['reads', { path: '/v1/segment', kind: 'get' }],
      ['ingest1', { path: '/v1/collect', kind: 'post', batch: 1 }],
    ] as const
  ).filter(([name]) => wanted.includes(name));
  const pairs: Record<string, { without: Measured; with: Measured; loadavg: number }[]> = {};
  const fmt = (m: Measured) =>
    `${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms (event loop: longest pause ${m.loopMaxMs.toFixed(0)} ms, p99 ${m.loopP99Ms.toFixed(1)} ms)`;
  try {
    // One window unmeasured first: the collector's start-up work (the day's segment-size snapshot
    // over every profile, 0.2–0.4 s at 100k visitors in a CPU profile, and the RFM quintiles) is
    // not a training's.
    const first = loads[0];
    if (first) {
      log(`settling: one ${DURATION} s window of ${first[0]} unmeasured (the start-up jobs)`);
      await measure(first[1]);
    }
    for (const [name, job] of loads) {
      pairs[name] = [];
      for (let p = 0; p < PAIRS; p++) {
        // The order alternates, so a machine getting busier does not favour one side.
        const trainingFirst = p % 2 === 1;
        const la = load1();
        log(
          `${name} pair ${p + 1}/${PAIRS}: ${WARMUP} s warm-up + ${DURATION} s each, ${trainingFirst ? 'with a training first' : 'without first'} (load average ${la})`,
        );
        let without: Measured | undefined;
        let withTraining: Measured | undefined;
        for (const training of trainingFirst ? [true, false] : [false, true]) {
          const m = await measure(job, training ? trainThrough : undefined);
          log(
            `  ${training ? 'training' : 'no training'}: ${fmt(m)}${training ? `, ${m.trainings} training(s)` : ''}`,
          );
          if (training) withTraining = m;
          else without = m;
        }
        if (without && withTraining)
          pairs[name]?.push({ without, with: withTraining, loadavg: la });
      }
    }
  } finally {
    loader.kill();
    await running.close();
    rmSync(copyDir, { recursive: true, force: true });
  }
  const serving: Record<string, unknown> = {};
  for (const [name, ps] of Object.entries(pairs)) {
    const r = (key: 'p50' | 'p99' | 'rps') => median(ps.map((x) => x.with[key] / x.without[key]));
    serving[name] = { pairs: ps, p50Ratio: r('p50'), p99Ratio: r('p99'), rpsRatio: r('rps') };
    console.log(
      `${name}, median of ${ps.length} pairs (with a training / without): p50 ${r('p50').toFixed(2)}×, p99 ${r('p99').toFixed(2)}×, req/s ${r('rps').toFixed(2)}×`,
    );
    for (const x of ps) console.log(`  without: ${fmt(x.without)}; with: ${fmt(x.with)}`);
  }
  out.serving = {
    duration: DURATION,
    warmup: WARMUP,
    connections: CONNECTIONS,
    rate: RATE,
    ...serving,
  };
}

out.loadavgAtEnd = load1();
if (values.json) writeFileSync(values.json, JSON.stringify(out, null, 2));
