/** Pure figures of the bench: percentiles, ratios, verdicts and the printed table. */

/** The q-quantile (0..1) of sorted numbers, nearest rank. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** Successful-request rate and latency percentiles of one measured load phase. */
export function summarize(latencies, seconds) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: sorted.length,
    seconds,
    rps: sorted.length / seconds,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

/** 949 → "949", 10000 → "10k", 1000000 → "1M". */
export function count(n) {
  return n == null
    ? ''
    : n >= 1e6
      ? `${+(n / 1e6).toFixed(2)}M`
      : n >= 1e3
        ? `${+(n / 1e3).toFixed(1)}k`
        : String(n);
}

/** a / b, or null when either side is missing. */
export function ratio(a, b) {
  return a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0
    ? null
    : a / b;
}

/**
 * What history `b` costs per request over history `a` (each `{reads, ingest1}` phase results),
 * positive is slower: reads in time per request (inverse req/s), p50 and p99, ingest in time per
 * request; `readsCost` is the larger of the reads' req/s and p50 slowdowns. Null without reads.
 */
export function historyCost(a, b) {
  if (!a?.reads || !b?.reads) return null;
  const cost = (x) => (x == null ? null : x - 1);
  const g = {
    readsRps: cost(ratio(a.reads.rps, b.reads.rps)),
    readsP50: cost(ratio(b.reads.p50, a.reads.p50)),
    readsP99: cost(ratio(b.reads.p99, a.reads.p99)),
    ingestRps: cost(ratio(a.ingest1?.rps, b.ingest1?.rps)),
  };
  g.readsCost = g.readsRps == null || g.readsP50 == null ? null : Math.max(g.readsRps, g.readsP50);
  return g;
}

/** Events per visitor of a seeded history, e.g. "~11". */
const perVisitor = (h) =>
  h?.stored && h?.visitors ? `~${Math.round(h.stored / h.visitors)}` : '?';

/**
 * The issue's targets, each with its measured value and a verdict (null: not measured this run),
 * then informational rows (op 'info', never a verdict). The history-growth target is the DESIGN
 * claim, a read's cost independent of the history's length: 10k → 1M events on the same visitors
 * (small → deep). 100× the visitors (small → large) is reported beside it: it measures whether the
 * read cache holds the visitors being read, not the history.
 */
export function verdicts(r) {
  const t = (name, value = null, op, limit, unit = '') => ({
    name,
    value,
    limit,
    op,
    unit,
    pass: value == null || op === 'info' ? null : op === '>=' ? value >= limit : value <= limit,
  });
  const k = (h, fallback) => count(h?.stored) || fallback;
  const times =
    r.small?.visitors && r.large?.visitors
      ? `${Math.round(r.large.visitors / r.small.visitors)}×`
      : '100×';
  const ingest10 = r.small?.ingest10?.rps == null ? null : r.small.ingest10.rps * 10;
  return [
    t('ingest (1 event/request) req/s vs bare Hono POST', r.ratios?.ingest1, '>=', 0.5, '×'),
    t('ingest (10 events/request) events/s', ingest10, '>=', 30_000, ' events/s'),
    t('segment reads req/s vs bare Hono GET', r.ratios?.reads, '>=', 0.85, '×'),
    t('segment reads p99 vs bare Hono GET p99', r.ratios?.readsP99, '<=', 1.5, '×'),
    t(
      `reads cost of ${k(r.small, '10k')} → ${k(r.deep, '1M')} stored events, history per visitor ${perVisitor(r.small)} → ${perVisitor(r.deep)} (same visitors)`,
      r.depth?.readsCost,
      '<=',
      0.1,
      '%',
    ),
    t(
      `the same with the profile cache off (every read from SQLite)`,
      r.depthUncached?.readsCost,
      '<=',
      0.5,
      '%',
    ),
    t('collector peak RSS', r.peakRssMB, '<=', 200, ' MB'),
    ...(r.postgres
      ? [
          t('PostgreSQL segment reads req/s vs SQLite', r.postgres.reads, '>=', 0.5, '×'),
          t(
            'PostgreSQL durable ingest (1 event) req/s vs SQLite',
            r.postgres.ingest1,
            '>=',
            0.3,
            '×',
          ),
        ]
      : []),
    // Issue 17's bars, measured at the phase's size (the issue's is 100k visitors, --dashboard-full).
    ...(r.dashboard
      ? [
          t(
            `dashboard overview (stats 30 d by day) p95, ${count(r.dashboard.visitors)} visitors / ${count(r.dashboard.events)} events`,
            r.dashboard.overview?.p95,
            '<=',
            300,
            ' ms',
          ),
          t(
            `dashboard person page (visitor, first page) p95, same data`,
            r.dashboard.person?.p95,
            '<=',
            50,
            ' ms',
          ),
        ]
      : []),
    // Issue 20's speed, at the phase's size (the issue's is 100k visitors, --goals-full).
    ...(r.goals
      ? [
          t(
            `goal training, ${count(r.goals.training?.visitors)} visitors / ${count(r.goals.training?.rowsRead)} events read${r.goals.training?.truncated ? ' (truncated at a bound)' : ''}`,
            r.goals.training?.totalMs == null ? null : r.goals.training.totalMs / 1000,
            '<=',
            60,
            ' s',
          ),
          t(
            'segment reads p99 with a training / without (median of the pairs)',
            r.goals.serving?.reads?.p99Ratio,
            '<=',
            1.1,
            '×',
          ),
          t(
            'ingest (1 event) p99 with a training / without (median of the pairs)',
            r.goals.serving?.ingest1?.p99Ratio,
            '<=',
            1.1,
            '×',
          ),
          t(
            "a goal's scoring added to evaluate() (a segment read's engine work)",
            r.goals.scoring?.addedUs,
            '<=',
            5,
            ' µs',
          ),
        ]
      : []),
    t(
      `reads with ${times} the visitors (cache working set), ${k(r.small, '10k')} → ${k(r.large, '1M')} stored events`,
      r.breadth?.readsCost,
      'info',
      null,
      '%',
    ),
    t(
      `reads with ${times} the visitors, profile cache off (SQLite alone)`,
      r.breadthUncached?.readsCost,
      'info',
      null,
      '%',
    ),
  ];
}

const fmt = (v, digits = 0) => (v == null || !Number.isFinite(v) ? '—' : v.toFixed(digits));
const pct = (v) => (v == null ? '—' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`);

/** One line of what a history costs over another ("reads time per request +x%, …"). */
function costLine(g) {
  const ingest = g.ingestRps == null ? '' : `; ingest time per request ${pct(g.ingestRps)}`;
  return `reads time per request ${pct(g.readsRps)}, p50 ${pct(g.readsP50)}, p99 ${pct(g.readsP99)}${ingest}`;
}

/** The goals phase's lines: the shop, its training, and each load without and with trainings. */
function goalsLines(g) {
  const t = g.training ?? {};
  const lines = [
    `goals: a shop of ${count(g.visitors)} visitors / ${count(g.events)} events over 8 weeks${g.seedSeconds == null ? ' (file reused)' : ` (seeded in ${fmt(g.seedSeconds)} s)`}, goal ${g.goal?.name}: ` +
      `training ${fmt(t.totalMs / 1000, 1)} s (read ${fmt(t.readMs / 1000, 1)} s, ${count(t.rowsRead)} rows of ${count(t.visitors)} visitors${t.truncated ? ', truncated at a bound' : ''}; ${count(t.examples)} examples), ` +
      `AUC ${fmt(t.auc, 3)}, Brier ${fmt(t.brier, 4)}, top-decile lift ${fmt(t.lift, 2)} (intent heuristic AUC ${fmt(t.heuristicAuc, 3)}); peak RSS: the collector's process ${fmt(t.peakRssMB)} MB, the training's ${fmt(t.trainerPeakRssMB)} MB, load average ${t.loadavg ?? '?'}`,
  ];
  const c = g.scoring;
  if (c)
    lines.push(
      `  scoring: evaluate() ${fmt(c.withoutUs, 2)} µs without goals, ${fmt(c.withUs, 2)} µs with the goal's model in engine.goals: +${fmt(c.addedUs, 2)} µs (median of rounds over ${count(c.profiles)} of the file's profiles, ${count(c.evaluations)} evaluations each way)`,
    );
  const s = g.serving;
  if (!s) return lines;
  const pace = s.rate ? `${s.rate} req/s` : 'as fast as answered';
  lines.push(
    `  the collector on a copy of that file, ${pace} at ${s.connections} connections, ${s.warmup} s warm-up + ${s.duration} s each, without / with trainings:`,
  );
  const m = (x) =>
    `${fmt(x.rps)} req/s, p50 ${fmt(x.p50, 2)} ms, p99 ${fmt(x.p99, 2)} ms, longest pause ${fmt(x.loopMaxMs)} ms`;
  for (const [name, label] of [
    ['reads', 'segment reads'],
    ['ingest1', 'ingest, 1 event'],
  ]) {
    const x = s[name];
    if (!x) continue;
    lines.push(
      `  ${label}: p50 ${fmt(x.p50Ratio, 2)}×, p99 ${fmt(x.p99Ratio, 2)}×, req/s ${fmt(x.rpsRatio, 2)}× (medians of ${x.pairs.length} pairs)`,
    );
    for (const p of x.pairs)
      lines.push(
        `    without: ${m(p.without)} | with ${p.with.trainings ?? '?'} training(s): ${m(p.with)} (load average ${p.loadavg})`,
      );
  }
  return lines;
}

/** The printed report: one markdown table of load figures, then costs, snippet, memory and targets. */
export function formatReport(r) {
  const lines = [];
  const m = r.machine;
  lines.push(
    `microseg bench — ${m.cores} cores (${m.cpu}), ${m.memGB} GB, node ${m.node}, ${m.platform}`,
  );
  lines.push(
    `${r.options.connections} connections, ${r.options.warmup} s warm-up + ${r.options.duration} s per phase, load from ${r.options.loaders ?? 1} separate process(es), 127.0.0.1 only; load average at the start ${(m.loadavgAtStart ?? []).join(', ')}`,
  );
  lines.push(
    "vs Hono / vs node:http: req/s over the bare Hono / node:http baseline (POST for ingest, GET for reads; on the Hono rows, Hono over node:http); CPU: cores used while measuring (100% = one core) by the server and by the load generators; server CPU µs/req: the server's CPU time per answered request (steadier than req/s on a shared machine); PostgreSQL CPU µs/req: the same for the PostgreSQL server's processes (its backends), on the PostgreSQL rows",
  );
  lines.push('');
  lines.push(
    '| phase | history | stored events | visitors | req/s | events/s | p50 ms | p99 ms | vs Hono | vs node:http | CPU server | CPU load | server CPU µs/req | PostgreSQL CPU µs/req |',
  );
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const times = (v) => (v == null ? '' : `${fmt(v, 2)}×`);
  const cpu = (v) => (v == null ? '' : `${fmt(100 * v)}%`);
  const row = (name, label, h, x, events, key) => {
    if (!x) return;
    const stored = h ? count(h.stored) : '';
    const visitors = h?.visitors ? count(h.visitors) : '';
    lines.push(
      `| ${name} | ${label} | ${stored} | ${visitors} | ${fmt(x.rps)} | ${events ? fmt(x.rps * events) : ''} | ${fmt(x.p50, 2)} | ${fmt(x.p99, 2)} | ${times(q[key])} | ${times(n[key])} | ${cpu(x.serverCpu)} | ${cpu(x.loadCpu)} | ${x.serverCpu == null ? '' : fmt((x.serverCpu / x.rps) * 1e6)} | ${x.pgCpu == null ? '' : fmt((x.pgCpu / x.rps) * 1e6)} |`,
    );
  };
  const { small, deep, large, ratios: q = {}, ratiosNode: n = {} } = r;
  row('baseline POST (bare node:http, 204)', '', null, r.baseline?.postNode, null);
  row('baseline POST (bare Hono, 204)', '', null, r.baseline?.post, null, 'honoPost');
  row('baseline GET (bare node:http, JSON)', '', null, r.baseline?.getNode, null);
  row('baseline GET (bare Hono, JSON)', '', null, r.baseline?.get, null, 'honoGet');
  row('ingest, 1 event/request', 'small', small, small?.ingest1, 1, 'ingest1');
  row('ingest, 10 events/request', 'small', small, small?.ingest10, 10, 'ingest10');
  row('segment reads', 'small', small, small?.reads, null, 'reads');
  row('segment reads', 'deep', deep, deep?.reads, null, 'readsDeep');
  row('segment reads', 'large', large, large?.reads, null, 'readsLarge');
  row('segment reads, profile cache off', 'small', small, small?.uncached, null, 'uncached');
  row('segment reads, profile cache off', 'deep', deep, deep?.uncached, null, 'uncachedDeep');
  row('segment reads, profile cache off', 'large', large, large?.uncached, null, 'uncachedLarge');
  row('ingest, 1 event/request', 'deep', deep, deep?.ingest1, 1, 'ingest1Deep');
  row('ingest, 1 event/request', 'large', large, large?.ingest1, 1, 'ingest1Large');
  // With --db: the same loads on PostgreSQL (no ratio to the baselines: see the PostgreSQL line).
  for (const size of ['small', 'deep', 'large']) {
    const h = r[`${size}-pg`];
    if (!h) continue;
    const label = `${size}, PostgreSQL`;
    row('segment reads', label, h, h.reads, null);
    row('segment reads, profile cache off', label, h, h.uncached, null);
    row('ingest, 1 event/request', label, h, h.ingest1, 1);
    row('ingest, 10 events/request', label, h, h.ingest10, 10);
  }
  if (r.scale?.counts?.length) {
    lines.push(
      '',
      `scale-out: collector processes on ONE PostgreSQL database (${count(r.scale.stored)} events, ${count(r.scale.visitors)} visitors), the same connections shared among them; cores = CPU used while measuring (1.00 = one core)`,
      '',
      '| collectors | reads req/s | reads p99 ms | cores: collectors / PostgreSQL | ingest (1 event) req/s | ingest p99 ms | cores: collectors / PostgreSQL |',
      '|---:|---:|---:|---:|---:|---:|---:|',
    );
    const cores = (x) => `${fmt(x?.serverCpu, 2)} / ${fmt(x?.pgCpu, 2)}`;
    for (const c of r.scale.counts)
      lines.push(
        `| ${c.collectors} | ${fmt(c.reads?.rps)} | ${fmt(c.reads?.p99, 2)} | ${cores(c.reads)} | ${fmt(c.ingest1?.rps)} | ${fmt(c.ingest1?.p99, 2)} | ${cores(c.ingest1)} |`,
      );
  }
  const costs = [];
  if (r.depth) {
    costs.push(
      `history depth (the target): ${count(small.stored)} → ${count(deep.stored)} events on the same ${count(small.visitors)} visitors ` +
        `(${perVisitor(small)} → ${perVisitor(deep)} each), cost (+ is slower): ${costLine(r.depth)}`,
    );
  }
  if (r.depthUncached)
    costs.push(`  the same with the profile cache off: ${costLine(r.depthUncached)}`);
  if (r.breadth) {
    costs.push(
      `visitor breadth (informational): ${count(small.visitors)} → ${count(large.visitors)} visitors of ${perVisitor(small)} events ` +
        `(${count(small.stored)} → ${count(large.stored)} events), cost: ${costLine(r.breadth)}`,
    );
  }
  if (r.breadthUncached)
    costs.push(`  the same with the profile cache off: ${costLine(r.breadthUncached)}`);
  if (r.postgres) {
    costs.push(
      `PostgreSQL over SQLite (small history, same load): reads ${times(r.postgres.reads)}, reads with the profile cache off ${times(r.postgres.uncached)}, ingest 1 event ${times(r.postgres.ingest1)}, ingest 10 events ${times(r.postgres.ingest10)}`,
    );
  }
  if (costs.length) lines.push('', ...costs);
  if (r.snippet) {
    const s = r.snippet;
    lines.push('');
    lines.push(`snippet dist/ms.js: ${s.bytes} bytes minified, ${s.gzip} bytes gzip`);
    if (s.page) {
      const p = s.page;
      lines.push(
        `snippet start in Chromium (${p.loads} loads each): warm ${fmt(p.warm.p50, 3)} ms median (p95 ${fmt(p.warm.p95, 3)}), ` +
          `cold ${fmt(p.cold.p50, 3)} ms median; empty-script control ${fmt(p.control.p50, 3)} ms`,
      );
    }
  }
  if (r.dashboard) {
    const d = r.dashboard;
    const ms = (a) => (a ? `${fmt(a.median, 1)} ms median, p95 ${fmt(a.p95, 1)} ms` : '—');
    lines.push(
      '',
      `dashboard on SQLite, ${count(d.visitors)} visitors / ${count(d.events)} events${d.seedSeconds == null ? '' : ` (seeded in ${fmt(d.seedSeconds)} s)`}: ` +
        `overview (stats 30 d by day, ${fmt(d.statsBytes / 1024)} KiB) ${ms(d.overview)}; 48 h by hour ${ms(d.hours)}; person ${ms(d.person)}`,
    );
  }
  if (r.goals) lines.push('', ...goalsLines(r.goals));
  if (r.peakRssMB != null) {
    const each = ['small', 'deep', 'large']
      .filter((h) => r[h]?.peakRssMB != null)
      .map((h) => `${h} ${fmt(r[h].peakRssMB, 1)}`);
    const off = ['small', 'deep', 'large']
      .filter((h) => r[h]?.uncached?.memoryMB?.peak != null)
      .map((h) => `${h} ${fmt(r[h].uncached.memoryMB.peak, 1)}`);
    lines.push(
      '',
      `collector peak RSS (VmHWM): ${fmt(r.peakRssMB, 1)} MB (${each.join(', ')}${off.length ? `; profile cache off: ${off.join(', ')}` : ''})`,
    );
  }
  lines.push('', 'targets:');
  for (const v of r.targets) {
    const verdict = v.op === 'info' ? 'info' : v.pass == null ? 'n/a ' : v.pass ? 'PASS' : 'MISS';
    const shown =
      v.value == null
        ? 'not measured'
        : v.unit === '%'
          ? pct(v.value)
          : `${fmt(v.value, 2)}${v.unit}`;
    const limit =
      v.op === 'info'
        ? ''
        : ` (target ${v.op} ${v.unit === '%' ? pct(v.limit) : `${v.limit}${v.unit}`})`;
    lines.push(`  ${verdict}  ${v.name}: ${shown}${limit}`);
  }
  return lines.join('\n');
}
