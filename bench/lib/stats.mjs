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

/** 10000 → "10k", 1000000 → "1M". */
export function count(n) {
  return n == null ? '' : n >= 1e6 ? `${+(n / 1e6).toFixed(2)}M` : `${+(n / 1e3).toFixed(1)}k`;
}

/** a / b, or null when either side is missing. */
export function ratio(a, b) {
  return a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : a / b;
}

/**
 * The targets, each with its measured value and a verdict (null: not measured this run).
 * `growth` is what 100× more stored history costs reads: the larger of the slowdown in req/s and
 * in median latency, 10k → 1M events.
 */
export function verdicts(r) {
  const t = (name, value, op, limit, unit = '') => ({
    name,
    value,
    limit,
    op,
    unit,
    pass: value == null ? null : op === '>=' ? value >= limit : value <= limit,
  });
  return [
    t('ingest (1 event/request) req/s vs baseline POST', r.ratios?.ingest1, '>=', 0.8, '×'),
    t('segment reads req/s vs baseline GET', r.ratios?.reads, '>=', 0.85, '×'),
    t('segment reads p99 at 50 connections', r.small?.reads?.p99, '<=', 10, ' ms'),
    t(`reads cost of ${count(r.small?.stored) || '10k'} → ${count(r.large?.stored) || '1M'} stored events`, r.growth?.readsCost, '<=', 0.2, ''),
    t('collector peak RSS', r.peakRssMB, '<=', 200, ' MB'),
  ];
}

const fmt = (v, digits = 0) => (v == null || !Number.isFinite(v) ? '—' : v.toFixed(digits));
const pct = (v) => (v == null ? '—' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`);

/** The printed report: one markdown table of load figures, then snippet, memory and targets. */
export function formatReport(r) {
  const lines = [];
  const m = r.machine;
  lines.push(`microseg bench — ${m.cores} cores (${m.cpu}), ${m.memGB} GB, node ${m.node}, ${m.platform}`);
  lines.push(`${r.options.connections} connections, ${r.options.warmup} s warm-up + ${r.options.duration} s per phase, load from a separate process, 127.0.0.1 only`);
  lines.push('');
  lines.push('| phase | stored events | req/s | events/s | p50 ms | p99 ms | vs baseline |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  const row = (name, stored, x, events, vs) => {
    if (!x) return;
    lines.push(`| ${name} | ${stored ?? ''} | ${fmt(x.rps)} | ${events ? fmt(x.rps * events) : ''} | ${fmt(x.p50, 2)} | ${fmt(x.p99, 2)} | ${vs == null ? '' : fmt(vs, 2) + '×'} |`);
  };
  const k = count;
  row('baseline POST (bare Hono, 204)', '', r.baseline?.post, null, null);
  row('baseline GET (bare Hono, JSON)', '', r.baseline?.get, null, null);
  row('ingest, 1 event/request', k(r.small?.stored), r.small?.ingest1, 1, r.ratios?.ingest1);
  row('ingest, 10 events/request', k(r.small?.stored), r.small?.ingest10, 10, r.ratios?.ingest10);
  row('segment reads', k(r.small?.stored), r.small?.reads, null, r.ratios?.reads);
  row('segment reads', k(r.large?.stored), r.large?.reads, null, r.ratios?.readsLarge);
  row('ingest, 1 event/request', k(r.large?.stored), r.large?.ingest1, 1, r.ratios?.ingest1Large);
  if (r.growth) {
    const g = r.growth;
    lines.push('');
    lines.push(
      `history growth ${k(r.small?.stored)} → ${k(r.large?.stored)} events, cost (+ is slower): reads time per request ${pct(g.readsRps)}, ` +
        `p50 ${pct(g.readsP50)}, p99 ${pct(g.readsP99)}; ingest time per request ${pct(g.ingestRps)}`,
    );
  }
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
  if (r.peakRssMB != null) lines.push('', `collector peak RSS (VmHWM): ${fmt(r.peakRssMB, 1)} MB`);
  lines.push('', 'targets:');
  for (const v of r.targets) {
    const verdict = v.pass == null ? 'n/a ' : v.pass ? 'PASS' : 'MISS';
    const shown = v.value == null ? 'not measured' : v.name.startsWith('reads cost') ? pct(v.value) : `${fmt(v.value, 2)}${v.unit}`;
    const limit = v.name.startsWith('reads cost') ? pct(v.limit) : `${v.limit}${v.unit}`;
    lines.push(`  ${verdict}  ${v.name}: ${shown} (target ${v.op} ${limit})`);
  }
  return lines.join('\n');
}
