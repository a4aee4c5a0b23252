#!/usr/bin/env node
/**
 * `npm run bench`: the collector's throughput and latency as ratios to a bare Hono app measured in
 * the same run, what stored history costs, the snippet's size and start cost, and peak memory.
 * Every server is its own process on 127.0.0.1; the load comes from another process (autocannon).
 * Prints a table with PASS/MISS per target and writes bench/results/latest.json.
 */
import { fork, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { buildStorageBundle, NODE_SCRIPT } from './lib/storage-bundle.mjs';
import { count, formatReport, historyCost, ratio, summarize, verdicts } from './lib/stats.mjs';
import { CHROMIUM, measureSnippetStart, snippetSizes } from './lib/snippet.mjs';
import { summarizeProfile, formatProfile } from './lib/cpuprofile.mjs';
import { coresBetween, postmasterPid, treeCpu } from './lib/procs.mjs';
import { collectBody, idGenerator, prng, visitorId, visitorsFor } from './lib/workload.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const ROOT = here('..');
const PHASES = ['baseline', 'small', 'deep', 'large', 'scale', 'snippet', 'dashboard', 'goals'];

const USAGE = `node bench/run.mjs [options]     (npm run bench builds first, then runs this)

Phases (all by default, in this order):
  baseline   bare Hono on @hono/node-server and a bare node:http server, the same package
             versions as the collector (POST reads the body → 204, GET → a segment-sized JSON),
             each its own process for the whole run; the baseline loads run right before the
             collector loads they are compared with, so all meet the same machine
  small      collector on a fresh SQLite file seeded with --small events, ~1k visitors of 1–20
             events: segment reads, ingest of 1 event/request, ingest of 10 events/request
  deep       --deep events over the SAME visitors as small (~1,000 events each at 1M): reads and
             ingest; small → deep is what a longer history per visitor costs (the target)
  large      --large events, visitors of 1–20 events as in small (~95k visitors at 1M): reads and
             ingest; small → large is what 100× the visitors costs (the read cache's working set)
  (the three are seeded in parallel processes, then loaded one after another)
  scale      with --db only: 1, 2 and 4 collector processes (--scale) on ONE PostgreSQL database
             seeded with --small events, the load shared among them: reads and ingest per count,
             with the cores used by the collectors and by PostgreSQL
  snippet    dist/ms.js minified and gzip bytes; its start cost in Chromium (Performance API)
  dashboard  the dashboard's reads (issue 17): \`microseg seed\` fills a fresh SQLite file with
             --dashboard-visitors visitors over 60 days (~11.5 events each), then the overview
             answer (GET /v1/stats, 30 days by day) and the person answer (GET /v1/visitors/:id,
             first page) are timed in process (bench/dashboard.ts: the routes' code and JSON, no
             HTTP); median and p95 against the issue's bars, 300 ms and 50 ms
  goals      issue 20's speed (bench/goals.ts, in one process that is the collector): a shop of
             --goals-visitors visitors over 8 weeks with a planted signal (3+ camera views and a
             discount email: a camera bought within 7 days at 60%, else 5%; ~18 events each),
             written through the storage (~20k events/s here), then one training of the goal
             (trainGoal, its child process): rows read, visitors, ms, AUC, Brier, lift, against
             the issue's 60 s; evaluate() on the file's profiles without goals and with the
             trained model in engine.goals, µs each and the difference against the issue's 5 µs;
             then the collector on a copy of that file (real HTTP) loaded with segment
             reads, then one-event ingest, at --goals-rate req/s, each for --duration s without
             and with trainings running (one started as the measured window opens, another when
             one ends), --goals-pairs pairs: p50/p99/req/s and the ratios against the issue's
             10%; the default 20k visitors trains in ~10 s, the issue's 100k (--goals-full) in
             ~40 s after a ~2 min seed

Options:
  --only LIST        comma-separated phases to run, e.g. --only baseline,small
  --load LIST        which collector loads to run: reads,uncached,ingest1,ingest10 (default all);
                     uncached = reads from a second collector on the same file with
                     MICROSEG_PROFILE_CACHE=0 (every read a SQLite lookup); the goals phase runs
                     those of reads and ingest1 it names
  --duration S       measured seconds per load phase (default 10)
  --warmup S         warm-up seconds before each (default 2)
  --connections N    concurrent connections (default 50), shared among the generators
  --loaders N        load generator processes (default 1); each prints its CPU share, and one
                     near 100% of a core is the bottleneck rather than the server
  --small N          stored events of the small history (default 10000)
  --deep N           stored events of the deep history (default: --large)
  --large N          stored events of the large history (default 1000000)
  --loads N          page loads per snippet measurement (default 30)
  --quick            a smoke run: 1 s phases, 2k/20k/20k events, 6 page loads
  --profile          run the collector under node --cpu-prof; print its hottest functions
  --json FILE        where to write the results (default bench/results/latest.json)
  --db URL           also run the small/deep/large phases on PostgreSQL (a postgres:// URL of a
                     server on this machine whose user may create databases): each history gets a
                     database of its own (dropped at the end), loaded right after its SQLite twin
  --scale LIST       collector counts of the scale phase (default 1,2,4)
  --dashboard-visitors N
                     visitors seeded for the dashboard phase (default 10000, ~115k events;
                     --quick 500)
  --dashboard-full   the issue's size: 100000 visitors, ~1.15M events (the seed takes ~20 min)
  --dashboard-db FILE
                     the dashboard phase's SQLite file: seeded when it does not exist, reused as
                     it is when it does (a 100k seed once, measured many times)
  --goals-visitors N visitors of the goals phase's shop (default 20000, ~370k events; --quick 2000)
  --goals-full       the issue's size: 100000 visitors, ~1.85M events (under the 2M rows a
                     training reads)
  --goals-db FILE    the goals phase's SQLite file: seeded when it does not exist, reused as it is
                     when it does (the seed's end is read back from it)
  --goals-pairs N    pairs of loads without / with a training, each load (default 3; --quick 1)
  --goals-rate N     requests per second of the goals phase's loads (default 1000, under what the
                     collector answers here, so latency is not queueing); 0: as fast as it answers
  --collector FILE   the collector bundle to measure (default dist/collector.mjs), e.g. another
                     commit's build for a paired comparison: run both alternately, compare ratios
  -h, --help         this help`;

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    load: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    loaders: { type: 'string' },
    small: { type: 'string' },
    deep: { type: 'string' },
    large: { type: 'string' },
    loads: { type: 'string' },
    quick: { type: 'boolean' },
    profile: { type: 'boolean' },
    json: { type: 'string' },
    collector: { type: 'string' },
    db: { type: 'string' },
    scale: { type: 'string' },
    'dashboard-visitors': { type: 'string' },
    'dashboard-full': { type: 'boolean' },
    'dashboard-db': { type: 'string' },
    'goals-visitors': { type: 'string' },
    'goals-full': { type: 'boolean' },
    'goals-db': { type: 'string' },
    'goals-pairs': { type: 'string' },
    'goals-rate': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const num = (v, fallback, name) => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`bench: --${name} must be a positive number\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const quick = !!args.quick;
const opts = {
  duration: num(args.duration, quick ? 1 : 10, 'duration'),
  warmup: num(args.warmup, quick ? 0.5 : 2, 'warmup'),
  connections: num(args.connections, 50, 'connections'),
  loaders: num(args.loaders, 1, 'loaders'),
  small: num(args.small, quick ? 2_000 : 10_000, 'small'),
  large: num(args.large, quick ? 20_000 : 1_000_000, 'large'),
  deep: num(args.deep ?? args.large, quick ? 20_000 : 1_000_000, 'deep'),
  loads: num(args.loads, quick ? 6 : 30, 'loads'),
  dashboardVisitors: args['dashboard-full']
    ? 100_000
    : num(args['dashboard-visitors'], quick ? 500 : 10_000, 'dashboard-visitors'),
  goalsVisitors: args['goals-full']
    ? 100_000
    : num(args['goals-visitors'], quick ? 2_000 : 20_000, 'goals-visitors'),
  goalsPairs: num(args['goals-pairs'], quick ? 1 : 3, 'goals-pairs'),
  // 0 is allowed here: as fast as the collector answers.
  goalsRate: args['goals-rate'] === '0' ? 0 : num(args['goals-rate'], 1000, 'goals-rate'),
  profile: !!args.profile,
};
const only = args.only ? args.only.split(',').map((s) => s.trim()) : PHASES;
for (const p of only) {
  if (!PHASES.includes(p)) {
    console.error(`bench: unknown phase "${p}" (phases: ${PHASES.join(', ')})`);
    process.exit(2);
  }
}
const LOADS = ['reads', 'uncached', 'ingest1', 'ingest10'];
const loads = args.load ? args.load.split(',').map((s) => s.trim()) : LOADS;
for (const l of loads) {
  if (!LOADS.includes(l)) {
    console.error(`bench: unknown load "${l}" (loads: ${LOADS.join(', ')})`);
    process.exit(2);
  }
}
const SCALE = (args.scale ?? '1,2,4').split(',').map((x) => num(x.trim(), 1, 'scale'));
const PG_URL = args.db;
if (PG_URL !== undefined && !/^postgres(?:ql)?:\/\//i.test(PG_URL)) {
  console.error(`bench: --db takes a postgres:// URL (SQLite always runs)\n\n${USAGE}`);
  process.exit(2);
}
const COLLECTOR = args.collector ?? join(ROOT, 'dist', 'collector.mjs');
const SNIPPET = join(ROOT, 'dist', 'ms.js');
for (const f of [COLLECTOR, SNIPPET]) {
  if (!existsSync(f)) {
    console.error(`bench: ${f} is missing; run \`npm run build\` (npm run bench builds first)`);
    process.exit(1);
  }
}

// Read once: what is measured is the snippet built for this run, even if dist/ is rebuilt meanwhile.
const snippetCode = readFileSync(SNIPPET);
const RESULTS = here('./results');
const PROFILES = join(RESULTS, 'profiles');
const tmp = mkdtempSync(join(tmpdir(), 'microseg-bench-'));
const children = new Set();
const log = (msg) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}

/** Databases made on the --db server, dropped at the end (`dropPgDatabases`). */
const pgDatabases = [];
async function pgAdmin(fn) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
/** A fresh database on the --db server for one history; its URL. */
async function pgDatabase(label) {
  const name = `microseg_bench_${label}_${process.pid}`;
  await pgAdmin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}"`);
    await c.query(`CREATE DATABASE "${name}"`);
  });
  pgDatabases.push(name);
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return u.toString();
}
async function dropPgDatabases() {
  if (pgDatabases.length === 0) return;
  await pgAdmin(async (c) => {
    for (const name of pgDatabases.splice(0))
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}
/** The collector on PostgreSQL needs its signing secret given (no key file beside a database file). */
const BENCH_SECRET = `bench-secret-${'0123456789'.repeat(4)}`;
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

async function waitFor(url, child, seconds = 20) {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (child.exitCode !== null)
      throw new Error(`${url}: the server exited with code ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${seconds} s`);
}

/** Starts a server process; its stderr is kept for the error message should it die. */
function startServer(nodeArgs, env) {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  child.lastStderr = () => err;
  children.add(child);
  return child;
}

async function stopServer(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((ok) => child.once('exit', ok));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

/** Resident set size of a live process now and at its peak (the kernel's high-water mark), in MB. */
function memoryMB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** /metrics is off the public port unless a token is set: the bench sets one for its collectors. */
const METRICS_TOKEN = 'bench-metrics-token-0123456789';

/** V8 heap and off-heap memory of a collector, from its Prometheus default metrics, in MB. */
async function heapMB(url) {
  try {
    const headers = { authorization: `Bearer ${METRICS_TOKEN}` };
    const text = await (await fetch(`${url}/metrics`, { headers })).text();
    const metric = (name) =>
      Number(new RegExp(`^microseg_${name} ([0-9.e+]+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
    return {
      heapUsed: metric('nodejs_heap_size_used_bytes'),
      heapTotal: metric('nodejs_heap_size_total_bytes'),
      external: metric('nodejs_external_memory_bytes'),
    };
  } catch {
    return {};
  }
}

/** Requests each server process answered, warm-ups included: profiles are divided by it. */
const answered = {};

// The load generators: long-lived processes, one job at a time, each with its share of the
// connections, so that one generator's core is not what limits the fastest server.
const loaders = Array.from({ length: opts.loaders }, () => {
  const child = fork(here('./load.mjs'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  children.add(child);
  return child;
});

/** Runs `job` on every generator; `onMeasuring` is called once the first one ends its warm-up. */
async function load(job, onMeasuring) {
  let told = false;
  const parts = await Promise.all(
    loaders.map(
      (child, i) =>
        new Promise((ok, fail) => {
          const onMessage = (m) => {
            if (m.measuring) {
              if (!told) onMeasuring?.();
              told = true;
              return;
            }
            child.off('message', onMessage);
            m.ok ? ok(m) : fail(new Error(m.error));
          };
          child.on('message', onMessage);
          child.send({
            duration: opts.duration,
            warmup: opts.warmup,
            ...job,
            connections: share(opts.connections, loaders.length, i),
            seed: 7 + i,
          });
        }),
    ),
  );
  const latencies = Float64Array.from(parts.flatMap((p) => Array.from(p.latencies)));
  const statuses = {};
  for (const p of parts)
    for (const [k, n] of Object.entries(p.statuses)) statuses[k] = (statuses[k] ?? 0) + n;
  const sum = (f) => parts.reduce((a, p) => a + f(p), 0);
  return {
    ...summarize(latencies, Math.max(...parts.map((p) => p.seconds))),
    statuses,
    errors: sum((p) => p.errors),
    timeouts: sum((p) => p.timeouts),
    answered: sum((p) => p.answered),
    // Cores used by the generators while measuring, in all and by the busiest one.
    loadCpu: sum((p) => p.cpu),
    loadCpuMax: Math.max(...parts.map((p) => p.cpu)),
  };
}

/** Connections of generator `i` when `total` are shared among `n` (they differ by at most 1). */
const share = (total, n, i) => Math.floor(total / n) + (i < total % n ? 1 : 0);

/** CPU seconds a live process has used so far (user + system, from /proc). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, fields 14 and 15 of stat(5), here 11 and 12 after the name; in clock ticks.
  return (Number(f[11]) + Number(f[12])) / TICKS;
}
const TICKS = 100;

async function phase(name, job, server) {
  log(
    `${name}: ${opts.warmup} s warm-up + ${opts.duration} s at ${opts.connections} connections` +
      (loaders.length > 1 ? ` from ${loaders.length} generators` : ''),
  );
  let cpu0 = null;
  let t0 = 0;
  // Several collectors (the scale phase) and PostgreSQL: process trees, sampled from /proc.
  const trees = server.pids
    ? { server: server.pids, pg: server.pgPid ? [server.pgPid] : [] }
    : null;
  let tree0 = null;
  const r = await load(job, () => {
    if (trees) tree0 = { server: treeCpu(trees.server), pg: treeCpu(trees.pg) };
    else cpu0 = cpuSeconds(server.pid);
    t0 = performance.now();
  });
  const seconds = (performance.now() - t0) / 1000;
  if (cpu0 != null) r.serverCpu = (cpuSeconds(server.pid) - cpu0) / seconds;
  if (tree0) {
    r.serverCpu = coresBetween(tree0.server, treeCpu(trees.server), seconds);
    if (trees.pg.length) r.pgCpu = coresBetween(tree0.pg, treeCpu(trees.pg), seconds);
  }
  answered[server.label] = (answered[server.label] ?? 0) + r.answered;
  if (server.url && server.pid)
    r.memoryMB = { ...memoryMB(server.pid), ...(await heapMB(server.url)) };
  const bad = Object.entries(r.statuses).filter(([s]) => Number(s) >= 400);
  if (bad.length || r.errors)
    log(`  ${name}: ${r.errors} errors, statuses ${JSON.stringify(r.statuses)}`);
  log(
    `  ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms; ` +
      `CPU: server ${pctOf(r.serverCpu)}${r.pgCpu == null ? '' : `, PostgreSQL ${pctOf(r.pgCpu)}`}, load generator${loaders.length > 1 ? 's' : ''} ${pctOf(r.loadCpu)}`,
  );
  return r;
}
const pctOf = (x) => (x == null ? '?' : `${Math.round(100 * x)}%`);

/** A baseline (STACK hono or node), alive for the whole run; loaded like the collector. */
async function startBaseline(stack) {
  const port = await freePort();
  const child = startServer([...profileArgs(`baseline-${stack}`), here('./baseline.mjs')], {
    PORT: String(port),
    HOST: '127.0.0.1',
    STACK: stack,
  });
  const server = { label: `baseline-${stack}`, pid: child.pid };
  const url = `http://127.0.0.1:${port}`;
  await waitFor(url, child);
  const name = stack === 'hono' ? 'bare Hono' : 'bare node:http';
  return {
    post: (visitors) =>
      phase(
        `baseline POST (${name})`,
        { url, path: '/v1/collect', kind: 'post', batch: 1, visitors },
        server,
      ),
    get: (visitors) =>
      phase(`baseline GET (${name})`, { url, path: '/v1/segment', kind: 'get', visitors }, server),
    stop: () => stopServer(child),
  };
}

function seed(label, db, events, visitors, bundle) {
  return new Promise((ok, fail) => {
    log(
      `${label}: seeding ${events} events${visitors ? ` over ${visitors} visitors` : ''} through the storage layer`,
    );
    const spread = visitors ? ['--visitors', String(visitors)] : [];
    const child = spawn(
      process.execPath,
      [here('./seed.mjs'), '--db', db, '--events', String(events), ...spread, '--bundle', bundle],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.add(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      children.delete(child);
      if (code !== 0) return fail(new Error(`seed exited with code ${code}`));
      const r = JSON.parse(out.trim().split('\n').pop());
      log(`  ${label}: ${r.events} events, ${r.visitors} visitors in ${r.seconds.toFixed(1)} s`);
      ok(r);
    });
  });
}

/** The real collector, `microseg serve`, on its own seeded SQLite file. */
function profileArgs(label) {
  return opts.profile
    ? ['--cpu-prof', '--cpu-prof-dir', PROFILES, '--cpu-prof-name', `${label}.cpuprofile`]
    : [];
}

async function startCollector(label, db, env = {}) {
  const port = await freePort();
  const child = startServer(
    [
      ...profileArgs(`collector-${label}`),
      COLLECTOR,
      'serve',
      '--port',
      String(port),
      '--db',
      db,
      '--no-demo',
    ],
    {
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // The limiters stay on (their cost is part of every request) but cannot trip: the whole load
      // comes from one address.
      MICROSEG_RATE_IP: '1000000000',
      MICROSEG_RATE_VISITOR: '1000000000',
      MICROSEG_CONNECTIONS_PER_IP: '1000000000',
      MICROSEG_METRICS_TOKEN: METRICS_TOKEN,
      ...env,
    },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/healthz`, child);
    await probe(url);
  } catch (err) {
    throw new Error(`${err.message}\ncollector stderr:\n${child.lastStderr()}`);
  }
  return { url, label: `collector-${label}`, pid: child.pid, stop: () => stopServer(child) };
}

/** One real batch before the load: stored, and answered with a segment (not refused, not limited). */
async function probe(url) {
  const body = collectBody(idGenerator(), prng(1), visitorId(0), 1, Date.now());
  const res = await fetch(`${url}/v1/collect`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
  });
  const json = await res.json();
  if (res.status !== 200 || json.accepted !== 1 || !json.segment) {
    throw new Error(`probe POST /v1/collect answered ${res.status} ${JSON.stringify(json)}`);
  }
}

/**
 * All histories are seeded first (in parallel processes: nothing is measured meanwhile) and their
 * collectors stay up (an idle one costs nothing), so every comparison is of loads run back to
 * back: baseline GET, reads on small, deep and large; the same reads with the profile cache off;
 * baseline POST, ingest on each. Reads go first, while the histories are exactly the seeded ones.
 */
async function runCollectors(bundle, baseline) {
  const sizes = [];
  // deep spreads its events over exactly the visitors small has, so only history length differs.
  if (only.includes('small')) sizes.push(['small', opts.small, null]);
  if (only.includes('deep')) sizes.push(['deep', opts.deep, visitorsFor(opts.small)]);
  if (only.includes('large')) sizes.push(['large', opts.large, null]);
  const runs = sizes.map(([label, events, visitors]) => ({
    label,
    size: label,
    events,
    visitors,
    db: join(tmp, `${label}.db`),
  }));
  // With --db, each history again on PostgreSQL, right after its SQLite twin in every load.
  if (PG_URL)
    for (const r of [...runs])
      runs.splice(runs.indexOf(r) + 1, 0, {
        ...r,
        label: `${r.label}-pg`,
        pg: true,
        db: await pgDatabase(r.label),
      });
  const base = {};
  try {
    const seeded = await Promise.all(
      runs.map((r) => seed(r.label, r.db, r.events, r.visitors, bundle)),
    );
    runs.forEach((r, i) => {
      r.seeded = seeded[i];
      r.out = {
        stored: seeded[i].events,
        visitors: seeded[i].visitors,
        seedSeconds: seeded[i].seconds,
      };
    });
    const secret = (r) => (r.pg ? { MICROSEG_SECRET: BENCH_SECRET } : {});
    for (const r of runs) r.server = await startCollector(r.label, r.db, secret(r));
    // On PostgreSQL half the work is the server's: its backends' CPU is sampled too (phase()).
    const pgPid = PG_URL ? await postmasterPid(PG_URL) : null;
    for (const r of runs.filter((x) => x.pg && pgPid))
      Object.assign(r.server, { pids: [r.server.pid], pgPid });
    const each = async (key, name, job, filter = () => true, server = (r) => r.server) => {
      for (const r of runs.filter(filter)) {
        r.out[key] = await phase(
          `${name} (${r.label})`,
          { url: server(r).url, visitors: r.seeded.visitors, ...job },
          server(r),
        );
      }
    };
    const v = runs[0]?.seeded.visitors ?? 1000;
    const reads = { path: '/v1/segment', kind: 'get' };
    if (loads.includes('reads') || runs.length === 0) {
      if (baseline) {
        base.get = await baseline.hono.get(v);
        base.getNode = await baseline.node.get(v);
      }
      await each('reads', 'segment reads', reads);
    }
    if (loads.includes('uncached') && runs.length) {
      // A second collector on the same file, reads only: what SQLite (and JSON.parse) cost per read.
      for (const r of runs)
        r.uncachedServer = await startCollector(`${r.label}-nocache`, r.db, {
          MICROSEG_PROFILE_CACHE: '0',
          ...secret(r),
        });
      try {
        await each(
          'uncached',
          'segment reads, profile cache off',
          reads,
          undefined,
          (r) => r.uncachedServer,
        );
      } finally {
        for (const r of runs) await r.uncachedServer?.stop();
      }
    }
    if (loads.includes('ingest1') || runs.length === 0) {
      if (baseline) {
        base.post = await baseline.hono.post(v);
        base.postNode = await baseline.node.post(v);
      }
      await each('ingest1', 'ingest 1 event/request', {
        path: '/v1/collect',
        kind: 'post',
        batch: 1,
      });
    }
    if (loads.includes('ingest10')) {
      await each(
        'ingest10',
        'ingest 10 events/request',
        { path: '/v1/collect', kind: 'post', batch: 10 },
        (r) => r.size === 'small',
      );
    }
    for (const r of runs) r.out.peakRssMB = memoryMB(r.server.pid).peak;
  } finally {
    for (const r of runs) await r.server?.stop();
    await dropPgDatabases();
  }
  return {
    ...Object.fromEntries(runs.map((r) => [r.label, r.out])),
    ...(baseline ? { baseline: base } : {}),
  };
}

/**
 * The scale phase: `n` collector processes on one PostgreSQL database, for each n of --scale, the
 * load's connections shared among them (as a load balancer would), reads then ingest. The cores
 * the collectors and the PostgreSQL server used are sampled from /proc: on a machine of few cores
 * the curve flattens where they add up to all of them.
 */
async function runScale(bundle) {
  const db = await pgDatabase('scale');
  const seeded = await seed('scale', db, opts.small, null, bundle);
  const pgPid = await postmasterPid(PG_URL);
  const out = { stored: seeded.events, visitors: seeded.visitors, counts: [] };
  try {
    for (const n of SCALE) {
      const servers = [];
      try {
        for (let i = 0; i < n; i++)
          servers.push(
            await startCollector(`scale${n}-${i}`, db, { MICROSEG_SECRET: BENCH_SECRET }),
          );
        const group = {
          label: `collectors-${n}`,
          pids: servers.map((x) => x.pid),
          pgPid,
        };
        const urls = servers.map((x) => x.url);
        const job = (j) => ({ urls, visitors: seeded.visitors, ...j });
        const reads = await phase(
          `segment reads, ${n} collector(s)`,
          job({ path: '/v1/segment', kind: 'get' }),
          group,
        );
        const ingest1 = await phase(
          `ingest 1 event/request, ${n} collector(s)`,
          job({ path: '/v1/collect', kind: 'post', batch: 1 }),
          group,
        );
        out.counts.push({ collectors: n, reads, ingest1 });
      } finally {
        for (const x of servers) await x.stop();
      }
    }
  } finally {
    await dropPgDatabases();
  }
  return out;
}

function machine() {
  const c = cpus();
  return {
    cores: c.length,
    cpu: c[0]?.model?.trim() ?? 'unknown',
    memGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadavgAtStart: loadavg().map((x) => +x.toFixed(2)),
  };
}

/** Runs a node program to its end; rejects with its stderr's tail when it fails. */
function runToEnd(nodeArgs, env = {}) {
  return new Promise((ok, fail) => {
    const child = startServer(nodeArgs, env);
    child.once('exit', (code) => {
      children.delete(child);
      if (code === 0) ok();
      else fail(new Error(`node ${nodeArgs.join(' ')} exited ${code}: ${child.lastStderr()}`));
    });
  });
}

/**
 * The dashboard phase: a seeded SQLite file (\`microseg seed\`, the real write path), then
 * bench/dashboard.ts bundled by esbuild and run on it: overview and person answers, median and p95.
 */
async function runDashboard() {
  const visitors = opts.dashboardVisitors;
  const db = args['dashboard-db'] ?? join(tmp, 'dashboard.db');
  // The zero config: the \`demo\` site the seed fills.
  const env = { MICROSEG_CONFIG: '', MICROSEG_DB: '' };
  let seedSeconds = null;
  if (!existsSync(db)) {
    log(`dashboard: seeding ${count(visitors)} visitors over 60 days into ${db}`);
    const t = performance.now();
    await runToEnd(
      [COLLECTOR, 'seed', '--site', 'demo', '--visitors', String(visitors), '--db', db],
      env,
    );
    seedSeconds = (performance.now() - t) / 1000;
    log(`  seeded in ${seedSeconds.toFixed(0)} s`);
  } else log(`dashboard: reusing ${db} (seeded before; --dashboard-visitors is not checked)`);
  const script = join(RESULTS, 'build', 'dashboard.mjs');
  await build({ entryPoints: [here('./dashboard.ts')], outfile: script, ...NODE_SCRIPT });
  const out = join(tmp, 'dashboard.json');
  log('dashboard: overview 60 runs, person 600 runs');
  await runToEnd(
    [script, '--db', db, '--n', '60', '--visitors', String(visitors), '--json', out],
    env,
  );
  const r = JSON.parse(readFileSync(out, 'utf8'));
  const { sqliteEvents } = await countRows(db);
  return {
    visitors,
    events: sqliteEvents,
    seedSeconds,
    statsBytes: r.statsBytes,
    overview: r.answers['GET /v1/stats 30 d by day'],
    hours: r.answers['GET /v1/stats 48 h by hour'],
    person: r.answers['GET /v1/visitors/:id'],
  };
}

/**
 * The goals phase: bench/goals.ts bundled by esbuild (with the training's child process beside it, where
 * trainer.ts looks for it) and run on its file: it seeds (or reuses) the shop, trains, then serves
 * and loads itself; its progress shows on stderr, its figures come back as JSON.
 */
async function runGoals() {
  const db = args['goals-db'] ?? join(tmp, 'goals.db');
  const dir = join(RESULTS, 'build');
  const script = join(dir, 'goals.mjs');
  await build({ entryPoints: [here('./goals.ts')], outfile: script, ...NODE_SCRIPT });
  const trainer = join(ROOT, 'dist', 'goals-trainer.mjs');
  if (!existsSync(trainer)) throw new Error(`${trainer} is missing; run \`npm run build\``);
  copyFileSync(trainer, join(dir, 'goals-trainer.mjs'));
  const out = join(tmp, 'goals.json');
  log(
    `goals: ${existsSync(db) ? `reusing ${db}` : `${count(opts.goalsVisitors)} visitors into ${db}`}`,
  );
  await new Promise((ok, fail) => {
    const child = spawn(
      process.execPath,
      [
        script,
        '--db',
        db,
        '--visitors',
        String(opts.goalsVisitors),
        '--pairs',
        String(opts.goalsPairs),
        '--duration',
        String(opts.duration),
        '--warmup',
        String(opts.warmup),
        '--connections',
        String(opts.connections),
        '--rate',
        String(opts.goalsRate),
        // --load picks among its two loads too (reads, ingest1).
        '--loads',
        loads.join(','),
        '--json',
        out,
      ],
      // The zero config (the `demo` site); progress on this process's stderr.
      {
        cwd: ROOT,
        env: { ...process.env, MICROSEG_CONFIG: '', MICROSEG_DB: '' },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    children.add(child);
    child.once('exit', (code) => {
      children.delete(child);
      code === 0 ? ok() : fail(new Error(`bench/goals.ts exited ${code}`));
    });
  });
  return JSON.parse(readFileSync(out, 'utf8'));
}

/** Stored events of a seeded dashboard file (read-only). */
async function countRows(file) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file, { readonly: true });
  try {
    return { sqliteEvents: db.prepare('SELECT count(*) AS n FROM events').get().n };
  } finally {
    db.close();
  }
}

const started = Date.now();
const report = {
  date: new Date().toISOString(),
  machine: machine(),
  options: { ...opts, phases: only, loads },
};
try {
  mkdirSync(RESULTS, { recursive: true });
  if (opts.profile) rmSync(PROFILES, { recursive: true, force: true });
  const bundle = await buildStorageBundle();
  const baseline = only.includes('baseline')
    ? { hono: await startBaseline('hono'), node: await startBaseline('node') }
    : null;
  Object.assign(report, await runCollectors(bundle, baseline));
  if (only.includes('scale')) {
    if (PG_URL) report.scale = await runScale(bundle);
    else if (args.only) log('scale: needs --db postgres://… (skipped)');
  }
  await baseline?.hono.stop();
  await baseline?.node.stop();
  if (only.includes('snippet')) {
    report.snippet = snippetSizes(snippetCode);
    if (existsSync(CHROMIUM)) {
      log(`snippet: ${opts.loads} page loads each way in Chromium`);
      report.snippet.page = await measureSnippetStart(snippetCode, opts.loads);
    } else log(`snippet: ${CHROMIUM} not found, start cost not measured`);
  }
  if (only.includes('dashboard')) report.dashboard = await runDashboard();
  if (only.includes('goals')) report.goals = await runGoals();
} catch (err) {
  console.error(`bench failed: ${err.stack ?? err}`);
  process.exit(1);
} finally {
  for (const l of loaders) l.kill();
}

const { small: s, deep: d, large: l, baseline: b } = report;
report.ratios = {
  ingest1: ratio(s?.ingest1?.rps, b?.post?.rps),
  ingest10: ratio(s?.ingest10?.rps, b?.post?.rps),
  reads: ratio(s?.reads?.rps, b?.get?.rps),
  // Latency, not throughput: the reads' p99 over the bare Hono GET's (target ≤ 1.5×).
  readsP99: ratio(s?.reads?.p99, b?.get?.p99),
  readsDeep: ratio(d?.reads?.rps, b?.get?.rps),
  readsLarge: ratio(l?.reads?.rps, b?.get?.rps),
  uncached: ratio(s?.uncached?.rps, b?.get?.rps),
  uncachedDeep: ratio(d?.uncached?.rps, b?.get?.rps),
  uncachedLarge: ratio(l?.uncached?.rps, b?.get?.rps),
  ingest1Deep: ratio(d?.ingest1?.rps, b?.post?.rps),
  ingest1Large: ratio(l?.ingest1?.rps, b?.post?.rps),
};
// The same against the bare node:http server, the runtime's floor.
report.ratiosNode = {
  ingest1: ratio(s?.ingest1?.rps, b?.postNode?.rps),
  ingest10: ratio(s?.ingest10?.rps, b?.postNode?.rps),
  reads: ratio(s?.reads?.rps, b?.getNode?.rps),
  readsDeep: ratio(d?.reads?.rps, b?.getNode?.rps),
  readsLarge: ratio(l?.reads?.rps, b?.getNode?.rps),
  uncached: ratio(s?.uncached?.rps, b?.getNode?.rps),
  uncachedDeep: ratio(d?.uncached?.rps, b?.getNode?.rps),
  uncachedLarge: ratio(l?.uncached?.rps, b?.getNode?.rps),
  ingest1Deep: ratio(d?.ingest1?.rps, b?.postNode?.rps),
  ingest1Large: ratio(l?.ingest1?.rps, b?.postNode?.rps),
  honoGet: ratio(b?.get?.rps, b?.getNode?.rps),
  honoPost: ratio(b?.post?.rps, b?.postNode?.rps),
};
// Positive is slower. depth: same visitors, longer histories (the target); breadth: same short
// histories, 100× the visitors; the uncached pairs are the same with the profile cache off.
report.depth = historyCost(s, d);
report.breadth = historyCost(s, l);
report.depthUncached = historyCost(s && { reads: s.uncached }, d && { reads: d.uncached });
report.breadthUncached = historyCost(s && { reads: s.uncached }, l && { reads: l.uncached });
// PostgreSQL over SQLite on the same history and load (issue 15's targets: reads ≥ 0.5×, ingest ≥ 0.3×).
if (report['small-pg']) {
  const p = report['small-pg'];
  report.postgres = {
    reads: ratio(p.reads?.rps, s?.reads?.rps),
    uncached: ratio(p.uncached?.rps, s?.uncached?.rps),
    ingest1: ratio(p.ingest1?.rps, s?.ingest1?.rps),
    ingest10: ratio(p.ingest10?.rps, s?.ingest10?.rps),
  };
}
// The RSS target is of the collector as configured by default (the cache-off ones are extra).
const rss = [s?.peakRssMB, d?.peakRssMB, l?.peakRssMB].filter((x) => x != null);
report.peakRssMB = rss.length ? Math.max(...rss) : null;
report.targets = verdicts(report);
report.seconds = (Date.now() - started) / 1000;

if (opts.profile && existsSync(PROFILES)) {
  report.profiles = {};
  for (const f of readdirSync(PROFILES).filter((f) => f.endsWith('.cpuprofile'))) {
    const summary = summarizeProfile(JSON.parse(readFileSync(join(PROFILES, f), 'utf8')));
    summary.requests = answered[f.replace('.cpuprofile', '')] ?? null;
    report.profiles[f] = summary;
    console.log(`\nprofile ${join('bench/results/profiles', f)}\n${formatProfile(summary, 25)}`);
  }
}

const jsonFile = args.json ?? join(RESULTS, 'latest.json');
writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\n${formatReport(report)}`);
console.log(`\n${report.seconds.toFixed(0)} s in all; results in ${jsonFile}`);
